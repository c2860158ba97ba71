/**
 * Layered layout of the model graph with dagre (top to bottom). Pure: the
 * same function runs in the layout worker and, when no worker can start, on
 * the main thread.
 */
import dagre from '@dagrejs/dagre';

export interface ILayoutRequest {
  nodes: { id: string; label: string }[];
  edges: { from: string; to: string }[];
}

export interface ILayoutResult {
  width: number;
  height: number;
  nodes: { id: string; x: number; y: number; width: number; height: number }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

/** Node box sizes in px; the label is the op type, the name shows on hover. */
export const NODE_HEIGHT = 26;
const CHAR_WIDTH = 7;

/** Positions for every node and a polyline for every edge. */
export function layoutGraph(request: ILayoutRequest): ILayoutResult {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 14, ranksep: 26, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of request.nodes) {
    g.setNode(node.id, {
      width: Math.max(48, node.label.length * CHAR_WIDTH + 16),
      height: NODE_HEIGHT
    });
  }
  request.edges.forEach((edge, i) => g.setEdge(edge.from, edge.to, {}, String(i)));
  dagre.layout(g);
  const graph = g.graph();
  return {
    width: graph.width || 0,
    height: graph.height || 0,
    nodes: request.nodes.map(n => {
      const box = g.node(n.id);
      return { id: n.id, x: box.x, y: box.y, width: box.width, height: box.height };
    }),
    edges: g.edges().map(e => ({
      from: e.v,
      to: e.w,
      points: (g.edge(e).points || []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y }))
    }))
  };
}
