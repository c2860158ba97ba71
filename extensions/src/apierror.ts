/**
 * The workbench API's failed answers in words a user can act on, free of the
 * DOM and of JupyterLab so it can be unit tested.
 */

/** The body as JSON, or undefined when it is not JSON (a server's HTML error page). */
export function parsed(body: string): any {
  try {
    return body ? JSON.parse(body) : null;
  } catch {
    return undefined;
  }
}

/**
 * What went wrong with an answer of the workbench API, and what to do next: the
 * server's own what and hint when it sent them, else a reading of the HTTP status
 * (a 404 is a server without the workbench's server extension).
 */
export function apiErrorText(status: number, statusText: string, body: string): string {
  const data = parsed(body);
  if (data && typeof data.what === 'string') {
    return `${data.what}${data.hint ? ` — ${data.hint}` : ''}`;
  }
  const answer = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  if (data && typeof data.message === 'string' && data.message && status !== 404) {
    // the Jupyter server's own error page, as JSON: its message says what went wrong
    return `the Jupyter server said: ${data.message} (${answer}) — see the server's log, then refresh`;
  }
  if (status === 404) {
    return (
      `the Jupyter server has no Edge Workbench API (${answer}) — enable its server extension ` +
      '(`jupyter server extension enable workbench.server`) and restart JupyterLab'
    );
  }
  if (status === 401 || status === 403) {
    return `the Jupyter server refused the request (${answer}) — reload the page to log in again`;
  }
  if (status >= 200 && status < 300) {
    return `the Jupyter server's answer is not JSON (${answer}) — reload the page; if it stays, see the server's log`;
  }
  return `the Jupyter server failed (${answer}) — see the server's log, then refresh`;
}
