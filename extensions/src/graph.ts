/**
 * The model graph view: the laid-out topology drawn on one canvas, with pan
 * (drag), zoom (wheel and buttons), fit, find-by-name, colour by time / MACs /
 * provider, a legend, a hover title per node, and selection shared with the
 * layer table.
 *
 * One canvas, where an SVG took two elements per node: a 1,000-node graph
 * then costs the browser no style or layout work, and it is redrawn (only
 * what is in view) in a frame on every pan or zoom. Node labels are drawn
 * with `fillText`, never parsed as markup.
 */
import { textOn } from './colour';
import { el } from './dom';
import { ColourBy, IGraphModel, IGraphNode, formatNumber, nodeColours } from './data';
import { ILayoutRequest, ILayoutResult, layoutGraph } from './layout';
import { IView, fitView, hitNode, openingView, screenTransform, toLayout, visibleBox } from './viewport';

/** The drawing's height in px; its width is the output's. */
const CANVAS_HEIGHT = 420;

/** Labels are drawn only when a node box is at least this tall on screen. */
const LABEL_MIN_PX = 12;

/** A graph opens with node boxes at least this tall on screen, its labels legible. */
export const OPEN_MIN_NODE_PX = 18;

/** A press that moves less than this many px is a click, not a drag. */
const CLICK_SLOP_PX = 4;

/** Where the last layout ran ('worker' or 'main thread'), shown in the status line. */
let lastLayoutPlace = '';

/**
 * The layout worker, started on the first layout and kept for the next ones:
 * a worker costs a script load and a compile (most of a small graph's time),
 * so every graph of the page shares one. Replies carry the request's id.
 */
let shared: {
  worker: Worker;
  pending: Map<number, (result: ILayoutResult | null) => void>;
  next: number;
} | null = null;

function layoutWorker(): NonNullable<typeof shared> {
  if (!shared) {
    const worker = new Worker(new URL('./layout-worker.js', import.meta.url));
    const pending = new Map<number, (result: ILayoutResult | null) => void>();
    worker.onmessage = (event: MessageEvent) => {
      const { id, ok, result } = event.data || {};
      const done = pending.get(id);
      pending.delete(id);
      done?.(ok ? (result as ILayoutResult) : null);
    };
    worker.onerror = () => {
      // a broken worker: its graphs fall back to the main thread, the next one starts anew
      for (const done of pending.values()) {
        done(null);
      }
      pending.clear();
      worker.terminate();
      shared = null;
    };
    shared = { worker, pending, next: 0 };
  }
  return shared;
}

/** Lay out in the shared worker when it starts; otherwise on the main thread after a paint. */
export function layoutAsync(request: ILayoutRequest): Promise<ILayoutResult> {
  const onMainThread = () =>
    new Promise<ILayoutResult>(resolve =>
      setTimeout(() => {
        lastLayoutPlace = 'main thread';
        resolve(layoutGraph(request));
      }, 0)
    );
  let worker: NonNullable<typeof shared>;
  try {
    worker = layoutWorker();
  } catch {
    return onMainThread();
  }
  return new Promise<ILayoutResult>(resolve => {
    const id = worker.next++;
    worker.pending.set(id, result => {
      if (result) {
        lastLayoutPlace = 'worker';
        resolve(result);
      } else {
        void onMainThread().then(resolve);
      }
    });
    worker.worker.postMessage({ id, request });
  });
}

export interface IGraphViewOptions {
  model: IGraphModel;
  /** called with a layer index when a node that a layer covers is clicked or found,
   * and with null when a click on no node clears the selection */
  onSelectLayer: (layer: number | null) => void;
  /** where the layout ran, for the status line */
  layout?: (request: ILayoutRequest) => Promise<ILayoutResult>;
  /** the colourings offered, the first one shown; by default time, MACs and provider */
  colourings?: IColouring[];
}

/** One way to colour the nodes, as the toolbar's choice offers it. */
export interface IColouring {
  label: string;
  paint: (nodes: IGraphNode[]) => ReturnType<typeof nodeColours>;
}

const BY_PROFILE: [ColourBy, string][] = [
  ['time', 'colour: time'],
  ['macs', 'colour: MACs'],
  ['provider', 'colour: provider']
];

type Box = ILayoutResult['nodes'][number];

/**
 * The graph panel. Call `render()` once; `selectLayer()` highlights a layer's nodes.
 *
 * The panel's element says what is on the canvas for scripts and tests:
 * `data-nodes` (laid out), `data-drawn` (nodes in the last frame's drawing,
 * set from the first frame on), `data-node-px` (a node box's height on
 * screen in the last frame) and `data-selected` (the selected node ids, a
 * JSON list).
 */
export class GraphView {
  readonly node: HTMLDivElement;

  constructor(private _options: IGraphViewOptions) {
    this._colourings =
      _options.colourings ||
      BY_PROFILE.map(([by, label]) => ({ label, paint: nodes => nodeColours(nodes, by) }));
    this._byId = new Map(_options.model.nodes.map(n => [n.id, n]));
    this.node = el('div', 'jp-WbGraph');
    this._toolbar = el('div', 'jp-WbGraph-toolbar');
    this._status = el('span', 'jp-WbGraph-status', 'laying out the graph…');
    this._legend = el('div', 'jp-WbGraph-legend');
    this._canvas = el('canvas', 'jp-WbGraph-canvas');
    this._canvas.style.height = `${CANVAS_HEIGHT}px`;
    this._canvas.setAttribute('role', 'img');
    this._canvas.setAttribute('aria-label', 'model graph: find a node by name in the toolbar');
    this.node.append(this._toolbar, this._legend, this._canvas);
    this._buildToolbar();
    this._bindPointer();
    // the canvas's size comes from the layout of the page, read when the browser has it
    // (no forced layout): its first report draws the graph if it is laid out by then
    this._resize = new ResizeObserver(entries => {
      const box = entries[entries.length - 1].contentRect;
      this._size = { width: box.width, height: box.height || CANVAS_HEIGHT };
      this._drawNow();
    });
    this._resize.observe(this._canvas);
  }

  /** Lay out and draw; resolves when the graph is laid out (drawn in the next frame). */
  async render(): Promise<void> {
    const { model } = this._options;
    if (model.nodes.length === 0) {
      this._status.textContent = 'The profile has no model graph (topology).';
      return;
    }
    const request: ILayoutRequest = {
      nodes: model.nodes.map(n => ({ id: n.id, label: n.opType })),
      edges: model.edges
    };
    const started = performance.now();
    const layout = await (this._options.layout || layoutAsync)(request);
    this._layout = layout;
    this._boxes = new Map(layout.nodes.map(box => [box.id, box]));
    this._edgePath = null;
    this._paint(0);
    // the opening view needs the canvas's size: the first frame that has it picks it
    this._opening = true;
    this._schedule();
    const place = this._options.layout ? '' : ` (${lastLayoutPlace})`;
    // how to use the canvas, which shows no controls of its own; the layout's time is for
    // whoever measures it, in the title
    this._status.textContent = this._howTo();
    this._status.title = `laid out in ${Math.round(performance.now() - started)} ms${place}`;
    this.node.dataset.nodes = String(model.nodes.length);
  }

  /** Highlight the nodes of a layer (from a table click) and bring them into view. */
  selectLayer(layer: number | null, reveal = true): void {
    const ids = layer === null ? [] : this._options.model.nodesOfLayer.get(layer) || [];
    this._select(new Set(ids));
    if (reveal && ids.length) {
      this._centreOn(ids);
    }
  }

  /** Stop watching the canvas's size (the output is gone). */
  dispose(): void {
    this._resize.disconnect();
  }

  private _buildToolbar(): void {
    const colour = el('select', 'jp-WbGraph-colour');
    colour.title = 'Colour nodes by';
    this._colourings.forEach((colouring, i) => {
      const option = el('option', '', colouring.label);
      option.value = String(i);
      colour.appendChild(option);
    });
    colour.addEventListener('change', () => this._paint(Number(colour.value)));
    const find = el('input', 'jp-WbGraph-find');
    find.type = 'search';
    find.placeholder = 'find node…';
    find.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this._find(find.value);
      }
    });
    const fit = el('button', 'jp-WbGraph-fit jp-mod-styled', 'fit');
    fit.addEventListener('click', () => this._fit());
    const zoomIn = el('button', 'jp-mod-styled', '+');
    zoomIn.addEventListener('click', () => this._zoom(1 / 1.25));
    const zoomOut = el('button', 'jp-mod-styled', '−');
    zoomOut.addEventListener('click', () => this._zoom(1.25));
    this._toolbar.append(colour, find, fit, zoomIn, zoomOut, this._status);
  }

  /** Draw in the next frame (several changes in one frame draw once). */
  private _schedule(): void {
    if (this._frame === 0) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        this._drawNow();
      });
    }
  }

  private _drawNow(): void {
    const layout = this._layout;
    const size = this._size;
    if (!layout || !size || size.width === 0) {
      return;
    }
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(size.width * ratio);
    const height = Math.round(size.height * ratio);
    if (this._canvas.width !== width || this._canvas.height !== height) {
      this._canvas.width = width;
      this._canvas.height = height;
    }
    const ctx = this._canvas.getContext('2d');
    if (!ctx) {
      return;
    }
    if (!this._theme) {
      const style = getComputedStyle(this.node);
      const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
      this._theme = {
        edge: read('--jp-ui-font-color3', '#999'),
        outline: read('--jp-border-color1', '#888'),
        selected: read('--jp-brand-color1', '#1976d2'),
        font: read('--jp-ui-font-family', 'sans-serif')
      };
    }
    const theme = this._theme;
    if (this._opening) {
      this._opening = false;
      const top = layout.nodes.reduce<(typeof layout.nodes)[number] | undefined>(
        (best, node) => (best === undefined || node.y < best.y ? node : best),
        undefined
      );
      const first = openingView(layout, size, top?.height || 1, OPEN_MIN_NODE_PX, top?.x);
      this._view = first.view;
      this._whole = first.whole;
      this._status.textContent = this._howTo();
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const t = screenTransform(this._view, size);
    ctx.setTransform(t.scale * ratio, 0, 0, t.scale * ratio, t.x * ratio, t.y * ratio);
    const px = 1 / t.scale; // one screen px in layout units
    ctx.lineWidth = px;
    ctx.strokeStyle = theme.edge;
    ctx.stroke(this._edges());
    const seen = visibleBox(this._view, size);
    const inView = layout.nodes.filter(
      b => b.x + b.width / 2 >= seen.left && b.x - b.width / 2 <= seen.right &&
        b.y + b.height / 2 >= seen.top && b.y - b.height / 2 <= seen.bottom
    );
    // one fill per colour: a 1,000-node graph has a handful of colours
    const byColour = new Map<string, Box[]>();
    for (const box of inView) {
      const colour = this._colours.get(box.id) || '#ddd';
      const group = byColour.get(colour);
      if (group) {
        group.push(box);
      } else {
        byColour.set(colour, [box]);
      }
    }
    for (const [colour, boxes] of byColour) {
      ctx.fillStyle = colour;
      ctx.beginPath();
      for (const b of boxes) {
        ctx.rect(b.x - b.width / 2, b.y - b.height / 2, b.width, b.height);
      }
      ctx.fill();
    }
    ctx.strokeStyle = theme.outline;
    ctx.beginPath();
    for (const b of inView) {
      ctx.rect(b.x - b.width / 2, b.y - b.height / 2, b.width, b.height);
    }
    ctx.stroke();
    if (layout.nodes.length && layout.nodes[0].height * t.scale >= LABEL_MIN_PX) {
      ctx.font = `11px ${theme.font}`;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      // black or white by the node's fill: one colour for all was unreadable on dark fills
      for (const [colour, boxes] of byColour) {
        ctx.fillStyle = textOn(colour);
        for (const b of boxes) {
          const info = this._byId.get(b.id);
          if (info) {
            ctx.fillText(info.opType, b.x, b.y, b.width - 4);
          }
        }
      }
    }
    if (this._selected.size) {
      ctx.strokeStyle = theme.selected;
      ctx.lineWidth = 3 * px;
      ctx.beginPath();
      for (const id of this._selected) {
        const b = this._boxes.get(id);
        if (b) {
          ctx.rect(b.x - b.width / 2, b.y - b.height / 2, b.width, b.height);
        }
      }
      ctx.stroke();
    }
    this.node.dataset.drawn = String(inView.length);
    this.node.dataset.nodePx = String(Math.round((layout.nodes[0]?.height || 0) * t.scale));
  }

  /** The status line: how to use the canvas, and how to see all of a graph opened in part. */
  private _howTo(): string {
    const count = `${this._options.model.nodes.length} nodes`;
    const use = 'wheel to zoom, drag to pan, click a node for its layer';
    if (this._whole) {
      return `${count} · ${use}`;
    }
    return `${count}, the start shown at a readable size: drag up for the rest, “fit” for all of it · ${use}`;
  }

  /** Every edge in one path, made once per layout. */
  private _edges(): Path2D {
    if (!this._edgePath) {
      const path = new Path2D();
      for (const edge of this._layout?.edges || []) {
        edge.points.forEach((p, i) => (i ? path.lineTo(p.x, p.y) : path.moveTo(p.x, p.y)));
      }
      this._edgePath = path;
    }
    return this._edgePath;
  }

  private _describe(info: IGraphNode): string {
    if (info.speedups) {
      return [info.id, `op type: ${info.opType}`, ...(info.notes || [])].join('\n');
    }
    return [
      info.id,
      `op type: ${info.opType}`,
      `layer time: ${formatNumber(info.timeUs)} µs${info.layer === null ? ' (no layer)' : ''}`,
      `MACs: ${formatNumber(info.macs)}`,
      `provider: ${info.provider || '–'}`
    ].join('\n');
  }

  private _paint(colouring: number): void {
    const { colours, legend } = this._colourings[colouring].paint(this._options.model.nodes);
    this._colours = colours;
    this._legend.replaceChildren(
      ...legend.map(item => {
        const entry = el('span', 'jp-WbGraph-legendItem');
        const swatch = el('span', 'jp-WbGraph-swatch');
        swatch.style.background = item.colour;
        entry.append(swatch, document.createTextNode(item.label));
        return entry;
      })
    );
    this._schedule();
  }

  private _select(ids: Set<string>): void {
    this._selected = ids;
    this.node.dataset.selected = JSON.stringify([...ids].sort());
    this._schedule();
  }

  private _find(text: string): void {
    const needle = text.trim().toLowerCase();
    if (!needle) {
      return;
    }
    const hit = this._options.model.nodes.find(n => n.id.toLowerCase().includes(needle));
    if (!hit) {
      this._status.textContent = `no node matches “${text}”`;
      return;
    }
    this._select(new Set([hit.id]));
    this._centreOn([hit.id]);
    if (hit.layer !== null) {
      this._options.onSelectLayer(hit.layer);
    }
  }

  private _setView(view: IView): void {
    this._opening = false; // a view the user chose stays
    this._view = view;
    this._schedule();
  }

  private _fit(): void {
    if (this._layout) {
      this._whole = true; // the status line no longer speaks of the start only
      this._status.textContent = this._howTo();
      this._setView(fitView(this._layout));
    }
  }

  private _centreOn(ids: string[]): void {
    const boxes = ids.map(id => this._boxes.get(id)).filter((b): b is Box => !!b);
    if (!boxes.length) {
      return;
    }
    const cx = boxes.reduce((s, b) => s + b.x, 0) / boxes.length;
    const cy = boxes.reduce((s, b) => s + b.y, 0) / boxes.length;
    const w = Math.min(this._view.w, 600);
    const h = (w * this._view.h) / this._view.w;
    this._setView({ x: cx - w / 2, y: cy - h / 2, w, h });
  }

  private _zoom(factor: number, cx?: number, cy?: number): void {
    const v = this._view;
    const px = cx === undefined ? v.x + v.w / 2 : cx;
    const py = cy === undefined ? v.y + v.h / 2 : cy;
    this._setView({
      x: px - (px - v.x) * factor,
      y: py - (py - v.y) * factor,
      w: v.w * factor,
      h: v.h * factor
    });
  }

  /** The node under a pointer event, if any. */
  private _nodeAt(event: MouseEvent): IGraphNode | null {
    if (!this._layout || !this._size) {
      return null;
    }
    const rect = this._canvas.getBoundingClientRect();
    const point = toLayout(this._view, this._size, event.clientX - rect.left, event.clientY - rect.top);
    const box = hitNode(this._layout.nodes, point);
    return box ? this._byId.get(box.id) || null : null;
  }

  private _bindPointer(): void {
    const canvas = this._canvas;
    let drag: { x: number; y: number; view: IView; moved: boolean } | null = null;
    canvas.addEventListener(
      'wheel',
      event => {
        if (!this._size) {
          return;
        }
        event.preventDefault();
        const rect = canvas.getBoundingClientRect();
        const at = toLayout(this._view, this._size, event.clientX - rect.left, event.clientY - rect.top);
        this._zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, at.x, at.y);
      },
      { passive: false }
    );
    canvas.addEventListener('pointerdown', event => {
      drag = { x: event.clientX, y: event.clientY, view: { ...this._view }, moved: false };
    });
    canvas.addEventListener('pointermove', event => {
      if (!drag) {
        // hover: the node's details as the canvas's title (text, never markup)
        const info = this._nodeAt(event);
        const title = info ? this._describe(info) : '';
        if (canvas.title !== title) {
          canvas.title = title;
          canvas.classList.toggle('jp-mod-overNode', !!info);
        }
        return;
      }
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < CLICK_SLOP_PX) {
        return;
      }
      drag.moved = true;
      const s = 1 / screenTransform(drag.view, this._size || { width: 1, height: 1 }).scale;
      this._setView({ ...drag.view, x: drag.view.x - dx * s, y: drag.view.y - dy * s });
    });
    const end = (event: PointerEvent) => {
      const pressed = drag;
      drag = null;
      if (!pressed || pressed.moved || event.type !== 'pointerup') {
        return;
      }
      const info = this._nodeAt(event);
      if (!info) {
        if (this._selected.size) {
          this._select(new Set());
          this._options.onSelectLayer(null);
        }
        return;
      }
      const layer = info.layer;
      this._select(new Set(layer === null ? [info.id] : this._options.model.nodesOfLayer.get(layer) || [info.id]));
      if (layer !== null) {
        this._options.onSelectLayer(layer);
      }
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointerleave', end);
  }

  private _colourings: IColouring[];
  private _byId: Map<string, IGraphNode>;
  private _toolbar: HTMLDivElement;
  private _status: HTMLSpanElement;
  private _legend: HTMLDivElement;
  private _canvas: HTMLCanvasElement;
  private _resize: ResizeObserver;
  private _size: { width: number; height: number } | null = null;
  private _frame = 0;
  private _theme: { edge: string; outline: string; selected: string; font: string } | null =
    null;
  private _layout: ILayoutResult | null = null;
  private _edgePath: Path2D | null = null;
  private _boxes = new Map<string, Box>();
  private _view: IView = { x: 0, y: 0, w: 100, h: 100 };
  /** the view is still to be chosen for the canvas's size (the graph was just laid out) */
  private _opening = false;
  /** the opening view showed the whole graph */
  private _whole = true;
  private _colours = new Map<string, string>();
  private _selected = new Set<string>();
}
