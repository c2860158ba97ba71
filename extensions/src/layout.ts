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

/**
 * Above this many nodes, dagre's crossing minimisation (seconds for a
 * 1,000-node model) gives way to one barycentre sweep (milliseconds): model
 * graphs are mostly chains, where one sweep already leaves few crossings.
 */
export const QUICK_ORDER_ABOVE = 300;

type DagreGraph = InstanceType<typeof dagre.graphlib.Graph>;

/** Order each rank once, top down, by the mean position of each node's predecessors. */
export function barycentreOrder(g: DagreGraph): void {
  const ranks = new Map<number, string[]>();
  for (const v of g.nodes()) {
    const rank = g.node(v).rank as number;
    const list = ranks.get(rank) || [];
    list.push(v);
    ranks.set(rank, list);
  }
  const position = new Map<string, number>();
  for (const rank of [...ranks.keys()].sort((a, b) => a - b)) {
    const nodes = ranks.get(rank) as string[];
    const key = new Map<string, number>();
    nodes.forEach((v, i) => {
      const above = (g.predecessors(v) || []).map(u => position.get(u)).filter(
        (p): p is number => p !== undefined
      );
      key.set(v, above.length ? above.reduce((s, p) => s + p, 0) / above.length : i);
    });
    nodes.sort((a, b) => (key.get(a) as number) - (key.get(b) as number));
    nodes.forEach((v, i) => {
      (g.node(v) as { order?: number }).order = i;
      position.set(v, i);
    });
  }
}

/** Node box sizes in px; the label is the op type, the name shows on hover. */
export const NODE_HEIGHT = 26;
const CHAR_WIDTH = 7;

/** Positions for every node and a polyline for every edge. */
export function layoutGraph(request: ILayoutRequest): ILayoutResult {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  const big = request.nodes.length > QUICK_ORDER_ABOVE;
  g.setGraph({
    rankdir: 'TB',
    nodesep: 14,
    ranksep: 26,
    marginx: 10,
    marginy: 10,
    // network simplex ranking costs seconds on big graphs; the longest path costs little
    ranker: big ? 'longest-path' : 'network-simplex'
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of request.nodes) {
    g.setNode(node.id, {
      width: Math.max(48, node.label.length * CHAR_WIDTH + 16),
      height: NODE_HEIGHT
    });
  }
  request.edges.forEach((edge, i) => g.setEdge(edge.from, edge.to, {}, String(i)));
  dagre.layout(
    g,
    big ? { customOrder: (graph: DagreGraph) => barycentreOrder(graph) } : {}
  );
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
