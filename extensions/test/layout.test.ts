import { describe, expect, it } from 'vitest';

import { ILayoutRequest, QUICK_ORDER_ABOVE, layoutGraph } from '../src/layout';

function residualChain(n: number): ILayoutRequest {
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, label: i % 2 ? 'Relu' : 'Conv' }));
  const edges = [];
  for (let i = 1; i < n; i++) {
    edges.push({ from: `n${i - 1}`, to: `n${i}` });
  }
  for (let i = 3; i < n; i += 3) {
    edges.push({ from: `n${i - 3}`, to: `n${i}` });
  }
  return { nodes, edges };
}

describe('the graph layout', () => {
  it('places every node of a small graph below its inputs', () => {
    const result = layoutGraph(residualChain(12));
    const y = new Map(result.nodes.map(n => [n.id, n.y]));
    expect(result.nodes).toHaveLength(12);
    for (let i = 1; i < 12; i++) {
      expect(y.get(`n${i}`)!).toBeGreaterThan(y.get(`n${i - 1}`)!);
    }
    expect(result.edges.every(e => e.points.length >= 2)).toBe(true);
  });

  it('lays out a 2,000-node model (where dagre’s own ordering overflowed the stack)', () => {
    const n = 2000;
    expect(n).toBeGreaterThan(QUICK_ORDER_ABOVE);
    const result = layoutGraph(residualChain(n));
    expect(result.nodes).toHaveLength(n);
    expect(result.nodes.every(node => Number.isFinite(node.x) && Number.isFinite(node.y))).toBe(true);
    const y = new Map(result.nodes.map(node => [node.id, node.y]));
    expect(y.get('n1999')!).toBeGreaterThan(y.get('n0')!);
  });

  it('keeps nodes of one rank apart', () => {
    const request: ILayoutRequest = {
      nodes: ['in', 'a', 'b', 'out'].map(id => ({ id, label: id })),
      edges: [
        { from: 'in', to: 'a' },
        { from: 'in', to: 'b' },
        { from: 'a', to: 'out' },
        { from: 'b', to: 'out' }
      ]
    };
    const boxes = new Map(layoutGraph(request).nodes.map(n => [n.id, n]));
    const a = boxes.get('a')!;
    const b = boxes.get('b')!;
    expect(a.y).toBe(b.y);
    expect(Math.abs(a.x - b.x)).toBeGreaterThanOrEqual((a.width + b.width) / 2);
  });
});
