import { describe, expect, it } from 'vitest';

import { apiErrorText } from '../src/apierror';

describe('an answer of the workbench API that failed', () => {
  it("gives the server's own what and hint", () => {
    const body = JSON.stringify({ what: 'No device named pi9', hint: 'add it with workbench device add' });
    expect(apiErrorText(404, 'Not Found', body)).toBe('No device named pi9 — add it with workbench device add');
  });

  it('reads a 404 HTML page as a server without the extension, and says how to enable it', () => {
    const text = apiErrorText(404, 'Not Found', '<!DOCTYPE html><html><body>404 : Not Found</body></html>');
    expect(text).toContain('no Edge Workbench API (HTTP 404 Not Found)');
    expect(text).toContain('jupyter server extension enable workbench.server');
    expect(text).not.toContain('JSON');
  });

  it('sends a refused login back to the login page', () => {
    expect(apiErrorText(403, 'Forbidden', '')).toContain('reload the page to log in again');
  });

  it('names a success that is not JSON (a login page in its place) instead of a parse error', () => {
    expect(apiErrorText(200, 'OK', '<html>login</html>')).toContain("answer is not JSON (HTTP 200 OK) — reload the page");
  });

  it("points at the server's log for its own failures", () => {
    expect(apiErrorText(500, 'Internal Server Error', 'Traceback ...')).toContain("see the server's log");
  });

  it("gives the Jupyter server's own message when its error page is JSON", () => {
    const text = apiErrorText(500, 'Internal Server Error', JSON.stringify({ message: 'disk full', reason: null }));
    expect(text).toContain('disk full');
    expect(text).toContain('HTTP 500');
  });
});
