/**
 * The model graph view: an SVG of the laid-out topology with pan (drag), zoom
 * (wheel), fit, find-by-name, colour by time / MACs / provider, a legend, a
 * hover title per node, and selection shared with the layer table.
 */
import { el, svg } from './dom';
import { ColourBy, IGraphModel, IGraphNode, formatNumber, nodeColours } from './data';
import { ILayoutRequest, ILayoutResult, layoutGraph } from './layout';

/** The drawing's height in px; its width is the output's. */
const CANVAS_HEIGHT = 420;

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
  /** called with a layer index when a node that a layer covers is clicked */
  onSelectLayer: (layer: number) => void;
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

/** The graph panel. Call `render()` once; `selectLayer()` highlights a layer's nodes. */
export class GraphView {
  readonly node: HTMLDivElement;

  constructor(private _options: IGraphViewOptions) {
    this._colourings =
      _options.colourings ||
      BY_PROFILE.map(([by, label]) => ({ label, paint: nodes => nodeColours(nodes, by) }));
    this.node = el('div', 'jp-WbGraph');
    this._toolbar = el('div', 'jp-WbGraph-toolbar');
    this._status = el('span', 'jp-WbGraph-status', 'laying out the graph…');
    this._legend = el('div', 'jp-WbGraph-legend');
    this._svg = svg('svg', { class: 'jp-WbGraph-canvas', width: '100%', height: CANVAS_HEIGHT });
    this._root = svg('g');
    this._svg.appendChild(this._root);
    this.node.append(this._toolbar, this._legend, this._svg);
    this._buildToolbar();
    this._bindPanZoom();
  }

  /** Lay out and draw; resolves when the graph is on screen. */
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
    this._draw(layout);
    const place = this._options.layout ? '' : ` (${lastLayoutPlace})`;
    this._status.textContent = `${model.nodes.length} nodes, laid out in ${Math.round(
      performance.now() - started
    )} ms${place}`;
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

  private _draw(layout: ILayoutResult): void {
    this._layout = layout;
    this._boxes = new Map(layout.nodes.map(box => [box.id, box]));
    // every edge in one path: edges take no events, and one element draws fastest
    const d: string[] = [];
    for (const edge of layout.edges) {
      edge.points.forEach((p, i) => d.push(`${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`));
    }
    const edges = svg('path', { d: d.join(''), class: 'jp-WbGraph-edge' });
    const nodes = svg('g', { class: 'jp-WbGraph-nodes' });
    const byId = new Map(this._options.model.nodes.map(n => [n.id, n]));
    for (const box of layout.nodes) {
      const info = byId.get(box.id);
      if (!info) {
        continue;
      }
      const g = svg('g', {
        class: 'jp-WbGraph-node',
        transform: `translate(${(box.x - box.width / 2).toFixed(1)},${(box.y - box.height / 2).toFixed(1)})`
      });
      g.dataset.node = box.id;
      const rect = svg('rect', { width: box.width, height: box.height, rx: 4 });
      const label = svg('text', { x: box.width / 2, y: box.height / 2 + 4 });
      label.textContent = info.opType;
      g.append(rect, label);
      this._elements.set(box.id, g);
      nodes.appendChild(g);
    }
    // one listener for all nodes; a node's hover title is made when first hovered
    nodes.addEventListener('pointerover', event => {
      const g = this._nodeOf(event.target);
      if (g && !g.querySelector('title')) {
        const info = byId.get(g.dataset.node as string);
        if (info) {
          g.appendChild(svg('title')).textContent = this._describe(info);
        }
      }
    });
    nodes.addEventListener('click', event => {
      const g = this._nodeOf(event.target);
      const info = g && byId.get(g.dataset.node as string);
      if (!info) {
        return;
      }
      event.stopPropagation();
      const layer = info.layer;
      this._select(new Set(layer === null ? [info.id] : this._options.model.nodesOfLayer.get(layer) || [info.id]));
      if (layer !== null) {
        this._options.onSelectLayer(layer);
      }
    });
    this._root.replaceChildren(edges, nodes);
    this._paint(0);
    this._fit();
  }

  private _nodeOf(target: EventTarget | null): SVGGElement | null {
    const node = target instanceof Element ? target.closest('g.jp-WbGraph-node') : null;
    return node as SVGGElement | null;
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
    for (const [id, g] of this._elements) {
      (g.firstChild as SVGRectElement).setAttribute('fill', colours.get(id) || '#ddd');
    }
    this._legend.replaceChildren(
      ...legend.map(item => {
        const entry = el('span', 'jp-WbGraph-legendItem');
        const swatch = el('span', 'jp-WbGraph-swatch');
        swatch.style.background = item.colour;
        entry.append(swatch, document.createTextNode(item.label));
        return entry;
      })
    );
  }

  private _select(ids: Set<string>): void {
    for (const id of this._selected) {
      this._elements.get(id)?.classList.remove('jp-mod-selected');
    }
    this._selected = ids;
    for (const id of ids) {
      this._elements.get(id)?.classList.add('jp-mod-selected');
    }
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

  private _setView(x: number, y: number, w: number, h: number): void {
    this._view = { x, y, w, h };
    this._svg.setAttribute('viewBox', `${x} ${y} ${w} ${h}`);
    // zoomed out past reading (labels under ~4 px), labels are not drawn: a big graph's
    // overview then costs the browser no text layout; zooming in brings them back
    this._svg.classList.toggle('jp-mod-overview', Math.max(h / CANVAS_HEIGHT, w / 1200) > 2.5);
  }

  private _fit(): void {
    if (!this._layout) {
      return;
    }
    const { width, height } = this._layout;
    this._setView(0, 0, Math.max(width, 100), Math.max(height, 100));
  }

  private _centreOn(ids: string[]): void {
    const boxes = ids.map(id => this._boxes.get(id)).filter((b): b is ILayoutResult['nodes'][number] => !!b);
    if (!boxes.length) {
      return;
    }
    const cx = boxes.reduce((s, b) => s + b.x, 0) / boxes.length;
    const cy = boxes.reduce((s, b) => s + b.y, 0) / boxes.length;
    const w = Math.min(this._view.w, 600);
    const h = (w * this._view.h) / this._view.w;
    this._setView(cx - w / 2, cy - h / 2, w, h);
  }

  private _zoom(factor: number, cx?: number, cy?: number): void {
    const v = this._view;
    const px = cx === undefined ? v.x + v.w / 2 : cx;
    const py = cy === undefined ? v.y + v.h / 2 : cy;
    this._setView(px - (px - v.x) * factor, py - (py - v.y) * factor, v.w * factor, v.h * factor);
  }

  private _bindPanZoom(): void {
    let drag: { x: number; y: number; view: { x: number; y: number; w: number; h: number } } | null =
      null;
    const scale = () => {
      const rect = this._svg.getBoundingClientRect();
      // preserveAspectRatio "meet": one screen px is the larger of the two ratios
      return Math.max(this._view.w / (rect.width || 1), this._view.h / (rect.height || 1));
    };
    this._svg.addEventListener('wheel', event => {
      event.preventDefault();
      const rect = this._svg.getBoundingClientRect();
      const s = scale();
      const cx = this._view.x + (event.clientX - rect.left) * s;
      const cy = this._view.y + (event.clientY - rect.top) * s;
      this._zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, cx, cy);
    });
    this._svg.addEventListener('pointerdown', event => {
      drag = { x: event.clientX, y: event.clientY, view: { ...this._view } };
    });
    this._svg.addEventListener('pointermove', event => {
      if (!drag) {
        return;
      }
      const s = scale();
      this._setView(
        drag.view.x - (event.clientX - drag.x) * s,
        drag.view.y - (event.clientY - drag.y) * s,
        drag.view.w,
        drag.view.h
      );
    });
    const end = () => {
      drag = null;
    };
    this._svg.addEventListener('pointerup', end);
    this._svg.addEventListener('pointerleave', end);
  }

  private _colourings: IColouring[];
  private _toolbar: HTMLDivElement;
  private _status: HTMLSpanElement;
  private _legend: HTMLDivElement;
  private _svg: SVGSVGElement;
  private _root: SVGGElement;
  private _layout: ILayoutResult | null = null;
  private _boxes = new Map<string, ILayoutResult['nodes'][number]>();
  private _view = { x: 0, y: 0, w: 100, h: 100 };
  private _elements = new Map<string, SVGGElement>();
  private _selected = new Set<string>();
}
