/**
 * A linear-time layered layout for big model graphs (top to bottom).
 *
 * Model graphs are mostly chains with short skips (residual blocks, branches
 * that meet again a few ops later). For them a few cheap passes give a
 * readable drawing in milliseconds, where dagre's full Sugiyama pipeline
 * (network-simplex ranking, crossing minimisation, Brandes-Köpf coordinates)
 * takes seconds at 1,000 nodes:
 *
 * 1. ranks: longest path from the inputs, then nodes without inputs move
 *    down to just above their first consumer;
 * 2. an edge that spans several ranks gets a bend point per rank it crosses
 *    (a "dummy" that takes room in that rank), up to MAX_BENDS; longer
 *    edges are drawn straight;
 * 3. order within a rank: down and up sweeps by the mean position of each
 *    node's neighbours in the rank before;
 * 4. x: each node is pulled to the mean x of its neighbours, then the rank is
 *    packed left to right and right to left so boxes keep their gap.
 */
import type { ILayoutRequest, ILayoutResult } from './layout';

/** An edge crossing more ranks than this is drawn straight, without bend points. */
export const MAX_BENDS = 12;

export interface ISpacing {
  nodeHeight: number;
  nodeGap: number;
  rankGap: number;
  margin: number;
  width: (label: string) => number;
}

interface IItem {
  /** index of the request's node, or -1 for a bend point */
  node: number;
  rank: number;
  width: number;
  up: number[];
  down: number[];
  pos: number;
  x: number;
}

/** Ranks by longest path; a cycle's back edges are ignored for ranking. */
function assignRanks(n: number, edges: [number, number][]): number[] {
  const succ: number[][] = Array.from({ length: n }, () => []);
  const indeg = new Array<number>(n).fill(0);
  for (const [a, b] of edges) {
    succ[a].push(b);
    indeg[b] += 1;
  }
  const rank = new Array<number>(n).fill(0);
  const queue: number[] = [];
  indeg.forEach((d, v) => d === 0 && queue.push(v));
  const seen = new Array<boolean>(n).fill(false);
  for (let head = 0; head < n; head++) {
    if (head >= queue.length) {
      // a cycle: start again from the first node not reached yet
      const next = seen.indexOf(false);
      queue.push(next);
      indeg[next] = 0;
    }
    const v = queue[head];
    seen[v] = true;
    for (const w of succ[v]) {
      if (seen[w]) {
        continue;
      }
      rank[w] = Math.max(rank[w], rank[v] + 1);
      indeg[w] -= 1;
      if (indeg[w] === 0) {
        queue.push(w);
      }
    }
  }
  // a node without inputs (a constant, a shape) sits just above its first consumer
  const hasInput = new Array<boolean>(n).fill(false);
  for (const [a, b] of edges) {
    if (rank[b] > rank[a]) {
      hasInput[b] = true;
    }
  }
  for (let v = 0; v < n; v++) {
    const below = succ[v].map(w => rank[w]).filter(r => r > rank[v]);
    if (!hasInput[v] && below.length) {
      rank[v] = below.reduce((nearest, r) => Math.min(nearest, r), Infinity) - 1;
    }
  }
  return rank;
}

function sweep(layers: IItem[][], items: IItem[], downwards: boolean): void {
  const order = downwards ? layers : [...layers].reverse();
  for (const layer of order.slice(1)) {
    const key = new Map<IItem, number>();
    for (const item of layer) {
      const near = downwards ? item.up : item.down;
      key.set(item, near.length ? near.reduce((s, i) => s + items[i].pos, 0) / near.length : item.pos);
    }
    layer.sort((a, b) => (key.get(a) as number) - (key.get(b) as number) || a.pos - b.pos);
    layer.forEach((item, i) => (item.pos = i));
  }
}

/**
 * Keep the rank's order and gaps, near each item's wish: the mean of packing
 * from the left (pushing right) and from the right (pushing left). Both keep
 * the gaps, so their mean does too.
 */
function pack(layer: IItem[], gap: number): void {
  const n = layer.length;
  const apart = (i: number) => (layer[i - 1].width + layer[i].width) / 2 + gap;
  const fromLeft = layer.map(item => item.x);
  for (let i = 1; i < n; i++) {
    fromLeft[i] = Math.max(fromLeft[i], fromLeft[i - 1] + apart(i));
  }
  const fromRight = layer.map(item => item.x);
  for (let i = n - 2; i >= 0; i--) {
    fromRight[i] = Math.min(fromRight[i], fromRight[i + 1] - apart(i + 1));
  }
  layer.forEach((item, i) => (item.x = (fromLeft[i] + fromRight[i]) / 2));
}

function placeX(layers: IItem[][], items: IItem[], gap: number): void {
  for (const layer of layers) {
    let x = 0;
    for (const item of layer) {
      item.x = x + item.width / 2;
      x += item.width + gap;
    }
  }
  for (let pass = 0; pass < 4; pass++) {
    const downwards = pass % 2 === 0;
    const order = downwards ? layers : [...layers].reverse();
    for (const layer of order) {
      for (const item of layer) {
        const near = downwards ? item.up : item.down;
        if (near.length) {
          item.x = near.reduce((s, i) => s + items[i].x, 0) / near.length;
        }
      }
      pack(layer, gap);
    }
  }
}

/** Positions for every node and a polyline for every edge. */
export function layeredLayout(request: ILayoutRequest, spacing: ISpacing): ILayoutResult {
  const index = new Map(request.nodes.map((node, i) => [node.id, i]));
  const pairs: [number, number][] = [];
  for (const edge of request.edges) {
    const a = index.get(edge.from);
    const b = index.get(edge.to);
    if (a !== undefined && b !== undefined && a !== b) {
      pairs.push([a, b]);
    }
  }
  const rank = assignRanks(request.nodes.length, pairs);
  const items: IItem[] = request.nodes.map((node, i) => ({
    node: i,
    rank: rank[i],
    width: spacing.width(node.label),
    up: [],
    down: [],
    pos: i,
    x: 0
  }));
  const link = (a: number, b: number) => {
    items[a].down.push(b);
    items[b].up.push(a);
  };
  // each edge as the chain of items it passes through, top to bottom
  const routes: number[][] = pairs.map(([a, b]) => {
    const [top, bottom] = rank[a] <= rank[b] ? [a, b] : [b, a];
    const span = rank[bottom] - rank[top];
    const route = [top];
    if (span > 1 && span - 1 <= MAX_BENDS) {
      for (let r = rank[top] + 1; r < rank[bottom]; r++) {
        items.push({ node: -1, rank: r, width: 2, up: [], down: [], pos: items.length, x: 0 });
        route.push(items.length - 1);
      }
    }
    route.push(bottom);
    for (let i = 1; i < route.length; i++) {
      link(route[i - 1], route[i]);
    }
    return rank[a] <= rank[b] ? route : [...route].reverse();
  });
  // no spread of a long array into Math.max: the call stack limits its arguments
  const depth = rank.reduce((deepest, r) => Math.max(deepest, r), 0) + 1;
  const layers: IItem[][] = Array.from({ length: depth }, () => []);
  for (const item of items) {
    layers[item.rank].push(item);
  }
  layers.forEach(layer => layer.forEach((item, i) => (item.pos = i)));
  for (let pass = 0; pass < 4; pass++) {
    sweep(layers, items, pass % 2 === 0);
  }
  placeX(layers, items, spacing.nodeGap);
  let left = Infinity;
  let right = -Infinity;
  for (const item of items) {
    left = Math.min(left, item.x - item.width / 2);
    right = Math.max(right, item.x + item.width / 2);
  }
  const shift = spacing.margin - (Number.isFinite(left) ? left : 0);
  const step = spacing.nodeHeight + spacing.rankGap;
  const y = (item: IItem) => spacing.margin + item.rank * step + spacing.nodeHeight / 2;
  const point = (i: number) => ({ x: items[i].x + shift, y: y(items[i]) });
  return {
    width: Number.isFinite(right) ? right - left + 2 * spacing.margin : 0,
    height: depth * step - spacing.rankGap + 2 * spacing.margin,
    nodes: request.nodes.map((node, i) => ({
      id: node.id,
      x: items[i].x + shift,
      y: y(items[i]),
      width: items[i].width,
      height: spacing.nodeHeight
    })),
    edges: pairs.map(([a, b], k) => {
      const points = routes[k].map(point);
      // leave the source at its bottom (or top) edge, reach the target at its other one
      const down = points[points.length - 1].y >= points[0].y ? 1 : -1;
      points[0] = { x: points[0].x, y: points[0].y + (down * spacing.nodeHeight) / 2 };
      const last = points.length - 1;
      points[last] = { x: points[last].x, y: points[last].y - (down * spacing.nodeHeight) / 2 };
      return { from: request.nodes[a].id, to: request.nodes[b].id, points };
    })
  };
}
