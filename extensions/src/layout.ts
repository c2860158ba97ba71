/**
 * Layered layout of the model graph, top to bottom: dagre for graphs up to a
 * few hundred nodes, `layeredLayout` for bigger ones. Pure: the same function
 * runs in the layout worker and, when no worker can start, on the main thread.
 */
import dagre from '@dagrejs/dagre';

import { layeredLayout } from './layered';

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
 * Above this many nodes the graph is laid out by `layeredLayout` (linear
 * time, milliseconds for 1,000 nodes) instead of dagre, whose ranking,
 * crossing minimisation and coordinate assignment took seconds there.
 */
export const QUICK_LAYOUT_ABOVE = 200;

/** Node box sizes in px; the label is the op type, the name shows on hover. */
export const NODE_HEIGHT = 26;
const CHAR_WIDTH = 7;
const NODE_GAP = 14;
const RANK_GAP = 26;
const MARGIN = 10;

function nodeWidth(label: string): number {
  return Math.max(48, label.length * CHAR_WIDTH + 16);
}

/** Positions for every node and a polyline for every edge. */
export function layoutGraph(request: ILayoutRequest): ILayoutResult {
  if (request.nodes.length > QUICK_LAYOUT_ABOVE) {
    return layeredLayout(request, {
      nodeHeight: NODE_HEIGHT,
      nodeGap: NODE_GAP,
      rankGap: RANK_GAP,
      margin: MARGIN,
      width: nodeWidth
    });
  }
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: NODE_GAP, ranksep: RANK_GAP, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of request.nodes) {
    g.setNode(node.id, { width: nodeWidth(node.label), height: NODE_HEIGHT });
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
