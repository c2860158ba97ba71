/**
 * The graph canvas's geometry, free of the DOM so it can be unit tested: the
 * view (a rectangle of the layout shown, as an SVG viewBox with "meet"), the
 * transform from layout to screen px, its inverse, and which node a point hits.
 */

/** The part of the layout in view, in layout units. */
export interface IView {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The canvas's size in CSS px. */
export interface ISize {
  width: number;
  height: number;
}

/** A laid-out node: its centre and size. */
export interface IBox {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Screen = layout × scale + (x, y): the whole view fits, centred, aspect kept. */
export function screenTransform(view: IView, size: ISize): { scale: number; x: number; y: number } {
  const scale = Math.min(size.width / (view.w || 1), size.height / (view.h || 1));
  return {
    scale,
    x: (size.width - view.w * scale) / 2 - view.x * scale,
    y: (size.height - view.h * scale) / 2 - view.y * scale
  };
}

/** The layout point under a point of the canvas (CSS px from its top left corner). */
export function toLayout(view: IView, size: ISize, px: number, py: number): { x: number; y: number } {
  const t = screenTransform(view, size);
  return { x: (px - t.x) / t.scale, y: (py - t.y) / t.scale };
}

/** The layout rectangle the whole canvas shows (wider or taller than the view). */
export function visibleBox(view: IView, size: ISize): { left: number; top: number; right: number; bottom: number } {
  const topLeft = toLayout(view, size, 0, 0);
  const bottomRight = toLayout(view, size, size.width, size.height);
  return { left: topLeft.x, top: topLeft.y, right: bottomRight.x, bottom: bottomRight.y };
}

/** The view that shows the whole layout. */
export function fitView(layout: { width: number; height: number }): IView {
  return { x: 0, y: 0, w: Math.max(layout.width, 100), h: Math.max(layout.height, 100) };
}

/**
 * The view a graph opens at: all of it when that keeps a node box at least
 * `minNodePx` tall; otherwise the panel's width at a scale between that
 * minimum and the layout's own size (1), showing the graph's start (its top),
 * the rest reached by panning or zooming out, across centred on `startX` (the
 * top node's x; the left edge without it). `whole` says whether all of it is in view.
 */
export function openingView(
  layout: { width: number; height: number },
  size: ISize,
  nodeHeight: number,
  minNodePx: number,
  startX?: number
): { view: IView; whole: boolean } {
  const all = fitView(layout);
  const minScale = minNodePx / (nodeHeight || 1);
  if (screenTransform(all, size).scale * (nodeHeight || 1) >= minNodePx) {
    return { view: all, whole: true };
  }
  const scale = Math.max(minScale, Math.min(1, size.width / all.w));
  const w = size.width / scale;
  const h = size.height / scale;
  // centred across when the graph is narrower than the panel; otherwise on the graph's
  // first node (`startX`: a layout centres it over its branches), held within the layout
  const x =
    w >= all.w ? (all.w - w) / 2 : Math.min(Math.max((startX ?? w / 2) - w / 2, 0), all.w - w);
  return { view: { x, y: 0, w, h }, whole: false };
}

/** The node whose box holds the point, the last drawn (topmost) first; null if none. */
export function hitNode<T extends IBox>(boxes: T[], point: { x: number; y: number }): T | null {
  for (let i = boxes.length - 1; i >= 0; i--) {
    const b = boxes[i];
    if (Math.abs(point.x - b.x) <= b.width / 2 && Math.abs(point.y - b.y) <= b.height / 2) {
      return b;
    }
  }
  return null;
}
