import { describe, expect, it } from 'vitest';

import { MAX_BENDS } from '../src/layered';
import { ILayoutRequest, QUICK_LAYOUT_ABOVE, layoutGraph } from '../src/layout';

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
    expect(n).toBeGreaterThan(QUICK_LAYOUT_ABOVE);
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

  it('puts every node of a big model below its inputs, with no two boxes of a rank overlapping', () => {
    const n = 1000;
    expect(n).toBeGreaterThan(QUICK_LAYOUT_ABOVE);
    const request = residualChain(n);
    const result = layoutGraph(request);
    const box = new Map(result.nodes.map(node => [node.id, node]));
    for (const edge of request.edges) {
      expect(box.get(edge.to)!.y).toBeGreaterThan(box.get(edge.from)!.y);
    }
    const rows = new Map<number, { x: number; width: number }[]>();
    for (const node of result.nodes) {
      rows.set(node.y, [...(rows.get(node.y) || []), node]);
    }
    for (const row of rows.values()) {
      row.sort((a, b) => a.x - b.x);
      for (let i = 1; i < row.length; i++) {
        expect(row[i].x - row[i - 1].x).toBeGreaterThanOrEqual((row[i].width + row[i - 1].width) / 2);
      }
    }
    for (const node of result.nodes) {
      expect(node.x - node.width / 2).toBeGreaterThanOrEqual(0);
      expect(node.x + node.width / 2).toBeLessThanOrEqual(result.width);
      expect(node.y + node.height / 2).toBeLessThanOrEqual(result.height);
    }
  });

  it('routes a big model\'s skip connections around the chain and ends every edge on its nodes', () => {
    const request = residualChain(600);
    const result = layoutGraph(request);
    const box = new Map(result.nodes.map(node => [node.id, node]));
    const chainX = box.get('n1')!.x;
    // the chain runs straight down; a skip bends beside it
    expect(box.get('n400')!.x).toBeCloseTo(chainX, 0);
    const skip = result.edges.find(e => e.from === 'n3' && e.to === 'n6')!;
    expect(skip.points).toHaveLength(4);
    expect(skip.points.slice(1, -1).every(p => Math.abs(p.x - chainX) > 20)).toBe(true);
    for (const edge of result.edges) {
      const [from, to] = [box.get(edge.from)!, box.get(edge.to)!];
      expect(edge.points[0]).toEqual({ x: from.x, y: from.y + from.height / 2 });
      expect(edge.points[edge.points.length - 1]).toEqual({ x: to.x, y: to.y - to.height / 2 });
    }
  });

  it('draws an edge across more than MAX_BENDS ranks straight, and survives a cycle', () => {
    const request = residualChain(400);
    request.edges.push({ from: 'n0', to: 'n399' }, { from: 'n399', to: 'n200' });
    const result = layoutGraph(request);
    const long = result.edges.find(e => e.from === 'n0' && e.to === 'n399')!;
    expect(399).toBeGreaterThan(MAX_BENDS);
    expect(long.points).toHaveLength(2);
    expect(result.nodes.every(node => Number.isFinite(node.x) && Number.isFinite(node.y))).toBe(true);
  });
});
