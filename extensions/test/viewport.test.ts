import { describe, expect, it } from 'vitest';

import { fitView, hitNode, openingView, screenTransform, toLayout, visibleBox } from '../src/viewport';

const boxes = [
  { id: 'conv', x: 50, y: 20, width: 60, height: 26 },
  { id: 'relu', x: 50, y: 70, width: 48, height: 26 }
];

describe('the graph canvas geometry', () => {
  it('fits the whole view, centred, keeping its aspect', () => {
    // a view twice as wide as tall on a square canvas: the width decides
    const t = screenTransform({ x: 0, y: 0, w: 200, h: 100 }, { width: 400, height: 400 });
    expect(t.scale).toBe(2);
    expect(t.x).toBe(0);
    expect(t.y).toBe(100);
  });

  it('maps a canvas point back to the layout point drawn there', () => {
    const view = { x: 30, y: -10, w: 120, h: 90 };
    const size = { width: 640, height: 420 };
    const t = screenTransform(view, size);
    const point = { x: 77, y: 41 };
    const back = toLayout(view, size, point.x * t.scale + t.x, point.y * t.scale + t.y);
    expect(back.x).toBeCloseTo(77);
    expect(back.y).toBeCloseTo(41);
  });

  it('shows more than the view on a canvas of another aspect', () => {
    const seen = visibleBox({ x: 0, y: 0, w: 100, h: 100 }, { width: 300, height: 100 });
    expect(seen.left).toBeCloseTo(-100);
    expect(seen.right).toBeCloseTo(200);
    expect(seen.top).toBeCloseTo(0);
    expect(seen.bottom).toBeCloseTo(100);
  });

  it('finds the node under a point, and none between nodes', () => {
    expect(hitNode(boxes, { x: 75, y: 30 })?.id).toBe('conv');
    expect(hitNode(boxes, { x: 50, y: 82 })?.id).toBe('relu');
    expect(hitNode(boxes, { x: 50, y: 45 })).toBeNull();
    expect(hitNode(boxes, { x: 79, y: 70 })).toBeNull(); // beyond relu's narrower box
  });

  it('fits a tiny layout in a view of at least 100 units', () => {
    expect(fitView({ width: 40, height: 300 })).toEqual({ x: 0, y: 0, w: 100, h: 300 });
  });
});

describe('the view a graph opens at', () => {
  const size = { width: 800, height: 420 };

  it('shows a small graph whole', () => {
    const opened = openingView({ width: 200, height: 300 }, size, 26, 18);
    expect(opened.whole).toBe(true);
    expect(opened.view).toEqual(fitView({ width: 200, height: 300 }));
  });

  it('opens a tall graph at its start with node boxes of at least the minimum height', () => {
    // a MobileNetV2-like column: 152 nodes, 52 layout units a rank
    const layout = { width: 300, height: 152 * 52 };
    const opened = openingView(layout, size, 26, 18);
    expect(opened.whole).toBe(false);
    const t = screenTransform(opened.view, size);
    expect(26 * t.scale).toBeGreaterThanOrEqual(18);
    // never blown up past the layout's own size, its top at the canvas's top
    expect(t.scale).toBe(1);
    expect(t.y).toBeCloseTo(0);
    expect(visibleBox(opened.view, size).top).toBeCloseTo(0);
    // narrower than the panel: centred across
    expect(t.x).toBeCloseTo((800 - 300) / 2);
  });

  it('fits the width of a wide, tall graph while its labels stay legible', () => {
    const layout = { width: 1600, height: 6000 };
    const opened = openingView(layout, size, 26, 18);
    const t = screenTransform(opened.view, size);
    // the panel's width would give 0.5 (13 px boxes): the minimum wins, the left edge shown
    expect(t.scale).toBeCloseTo(18 / 26);
    expect(visibleBox(opened.view, size).left).toBeCloseTo(0);
    const medium = openingView({ width: 1000, height: 6000 }, size, 26, 18);
    expect(screenTransform(medium.view, size).scale).toBeCloseTo(0.8);
  });

  it('opens a wide graph across on its first node, not on an empty left edge', () => {
    // a stem centred over many parallel branches: its node sits mid-layout
    const layout = { width: 3636, height: 6000 };
    const opened = openingView(layout, size, 26, 18, 1818);
    const box = visibleBox(opened.view, size);
    expect(box.left).toBeLessThan(1818);
    expect(box.right).toBeGreaterThan(1818);
    // a first node near an edge: the view stays within the layout
    const near = visibleBox(openingView(layout, size, 26, 18, 3600).view, size);
    expect(near.right).toBeCloseTo(3636);
  });
});
