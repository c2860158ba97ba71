/**
 * The layout worker: lays out a graph off the main thread, so the summary and
 * the table paint first and the page stays responsive on big models.
 */
import { layoutGraph, ILayoutRequest } from './layout';

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ILayoutRequest>) => void) | null;
  postMessage: (message: unknown) => void;
};

scope.onmessage = event => {
  try {
    scope.postMessage({ ok: true, result: layoutGraph(event.data) });
  } catch (reason) {
    scope.postMessage({ ok: false, error: String(reason) });
  }
};
