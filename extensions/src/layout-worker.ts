/**
 * The layout worker: lays out a graph off the main thread, so the summary and
 * the table paint first and the page stays responsive on big models.
 */
import { layoutGraph, ILayoutRequest } from './layout';

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<{ id: number; request: ILayoutRequest }>) => void) | null;
  postMessage: (message: unknown) => void;
};

// one worker serves every graph of the page: each reply names its request
scope.onmessage = event => {
  const { id, request } = event.data;
  try {
    scope.postMessage({ id, ok: true, result: layoutGraph(request) });
  } catch (reason) {
    scope.postMessage({ id, ok: false, error: String(reason) });
  }
};
