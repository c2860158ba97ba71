/**
 * The per-layer table: sort, filter and search over every layer, drawn as a
 * window of rows. Only the rows in view (and a few around them) are in the
 * DOM, between two spacer rows that keep the scroll height of all of them,
 * so a 1,000-layer model costs what a 40-row table costs. Rows have a fixed
 * height (in the CSS), so a row's place is computed, never measured.
 */
import { ILayerRow, SortKey, filterRows, formatNumber, sortRows } from './data';
import { el } from './dom';

/** A row's height in px: `.jp-WbProfile-table tr` in style/base.css says the same. */
export const ROW_HEIGHT = 22;

/** Rows drawn beyond the visible ones, above and below, so scrolling shows no gap. */
const OVERSCAN = 12;

/** The scroll box's height before the page has laid it out (its CSS max-height). */
const BOX_HEIGHT = 360;

const COLUMNS: { key: SortKey; label: string; numeric: boolean }[] = [
  { key: 'index', label: '#', numeric: true },
  { key: 'name', label: 'layer', numeric: false },
  { key: 'opType', label: 'op type', numeric: false },
  { key: 'provider', label: 'provider', numeric: false },
  // the same words as the library's table (workbench/views/layers.py): a
  // layer's median time, and that median over the sum of every layer's median
  { key: 'timeUs', label: 'median µs', numeric: true },
  { key: 'share', label: 'share of all layers', numeric: true },
  { key: 'macs', label: 'MACs', numeric: true }
];

/** The first and last (exclusive) row to draw for a scroll position. */
export function rowWindow(scrollTop: number, boxHeight: number, rows: number): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows, Math.ceil((scrollTop + boxHeight) / ROW_HEIGHT) + OVERSCAN);
  return { first, last: Math.max(first, last) };
}

export interface ILayerTableOptions {
  rows: ILayerRow[];
  /** called with a layer index when its row is clicked */
  onSelectLayer: (layer: number) => void;
}

/** Enter or Space on `node` (or inside it) does what a click does: rows and headers work from the keyboard. */
export function onActivate(node: HTMLElement, act: (event: KeyboardEvent) => void): void {
  node.addEventListener('keydown', event => {
    if (event.key === 'Enter' || event.key === ' ') {
      // the notebook's own Enter (edit the cell) must not take it as well
      event.preventDefault();
      event.stopPropagation();
      act(event);
    }
  });
}

/** The table with its search and choices; `node` goes on the page. */
export class LayerTable {
  readonly node: HTMLDivElement;

  constructor(private _options: ILayerTableOptions) {
    const rows = _options.rows;
    this.node = el('div', 'jp-WbProfile-layers');
    const controls = el('div', 'jp-WbProfile-controls');
    const search = el('input', 'jp-WbProfile-search');
    search.type = 'search';
    search.placeholder = 'search layers, nodes, providers…';
    search.addEventListener('input', () => {
      this._filter.search = search.value;
      this._fill();
    });
    const opSelect = this._choice('all op types', [...new Set(rows.map(r => r.opType))].sort(), v => {
      this._filter.opType = v;
    });
    const providerSelect = this._choice(
      'all providers',
      [...new Set(rows.map(r => r.provider).filter(Boolean))].sort(),
      v => {
        this._filter.provider = v;
      }
    );
    controls.append(search, opSelect, providerSelect);
    this._controls = [search, opSelect, providerSelect];
    const table = el('table', 'jp-WbProfile-table');
    const head = table.createTHead().insertRow();
    for (const column of COLUMNS) {
      const th = el('th', column.numeric ? 'jp-WbProfile-num' : '', column.label);
      th.dataset.key = column.key;
      th.title = 'sort';
      th.tabIndex = 0;
      const sort = () => {
        this._sort =
          this._sort.key === column.key
            ? { key: column.key, descending: !this._sort.descending }
            : { key: column.key, descending: column.numeric && column.key !== 'index' };
        this._fill();
      };
      th.addEventListener('click', sort);
      onActivate(th, sort);
      head.appendChild(th);
    }
    head.appendChild(el('th', '', 'original nodes'));
    this._body = table.createTBody();
    const choose = (event: Event) => {
      const tr = event.target instanceof Element ? event.target.closest('tr.jp-WbProfile-row') : null;
      if (tr instanceof HTMLTableRowElement) {
        const layer = Number(tr.dataset.layer);
        this.select(layer, false);
        this._options.onSelectLayer(layer);
        // the rows were drawn again: the keyboard stays on the chosen one
        this._body.querySelector<HTMLElement>(`tr[data-layer="${layer}"]`)?.focus();
      }
    };
    this._body.addEventListener('click', choose);
    onActivate(this._body, choose);
    this._top = this._spacer();
    this._bottom = this._spacer();
    this._box = el('div', 'jp-WbProfile-tableBox');
    this._box.appendChild(table);
    this._box.addEventListener('scroll', () => this._scrolled(), { passive: true });
    this._count = el('div', 'jp-WbProfile-count');
    this.node.append(controls, this._box, this._count);
    this._fill();
  }

  /** Mark a layer's row selected (none with null); with `reveal`, clear a filter that
   * hides it and scroll to it. */
  select(layer: number | null, reveal: boolean): void {
    this._selected = layer;
    if (layer === null) {
      this._draw();
      return;
    }
    let at = this._shown.findIndex(row => row.index === layer);
    if (at < 0 && reveal) {
      this._filter = {};
      for (const control of this._controls) {
        control.value = '';
      }
      this._fill();
      at = this._shown.findIndex(row => row.index === layer);
    }
    if (at >= 0 && reveal) {
      const height = this._box.clientHeight || BOX_HEIGHT;
      this._box.scrollTop = Math.max(0, at * ROW_HEIGHT - height / 2);
      this._scrollTop = this._box.scrollTop;
    }
    this._draw();
    if (reveal) {
      this._body.querySelector('tr.jp-mod-selected')?.scrollIntoView({ block: 'nearest' });
    }
  }

  private _choice(all: string, values: string[], set: (v: string) => void): HTMLSelectElement {
    const select = el('select', 'jp-WbProfile-choice');
    const first = el('option', '', all);
    first.value = '';
    select.appendChild(first);
    for (const value of values) {
      const option = el('option', '', value);
      option.value = value;
      select.appendChild(option);
    }
    select.addEventListener('change', () => {
      set(select.value);
      this._fill();
    });
    return select;
  }

  private _spacer(): HTMLTableRowElement {
    const tr = el('tr', 'jp-WbProfile-spacer');
    const td = el('td');
    td.colSpan = COLUMNS.length + 1;
    tr.appendChild(td);
    return tr;
  }

  /** Sort and filter anew, back at the top. */
  private _fill(): void {
    const { rows } = this._options;
    this._shown = sortRows(filterRows(rows, this._filter), this._sort.key, this._sort.descending);
    this._box.scrollTop = 0;
    this._scrollTop = 0;
    this._drawn = null;
    this._draw();
    this._count.textContent =
      this._shown.length === rows.length ? `${rows.length} layers` : `${this._shown.length} of ${rows.length} layers`;
  }

  private _scrolled(): void {
    if (this._frame === 0) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        this._scrollTop = this._box.scrollTop;
        this._draw();
      });
    }
  }

  /** The rows in view, between spacers of the rows above and below. */
  private _draw(): void {
    // the box's height before the page has laid it out is its CSS max-height: no forced layout
    const height = this._box.isConnected && this._box.clientHeight ? this._box.clientHeight : BOX_HEIGHT;
    const { first, last } = rowWindow(this._scrollTop, height, this._shown.length);
    const drawn = this._drawn;
    if (drawn && drawn.first === first && drawn.last === last && drawn.selected === this._selected) {
      return;
    }
    this._drawn = { first, last, selected: this._selected };
    (this._top.firstChild as HTMLElement).style.height = `${first * ROW_HEIGHT}px`;
    (this._bottom.firstChild as HTMLElement).style.height = `${(this._shown.length - last) * ROW_HEIGHT}px`;
    this._top.hidden = first === 0;
    this._bottom.hidden = last === this._shown.length;
    const rows = this._shown.slice(first, last).map(row => this._row(row));
    this._body.replaceChildren(this._top, ...rows, this._bottom);
  }

  private _row(row: ILayerRow): HTMLTableRowElement {
    const tr = el('tr', row.index === this._selected ? 'jp-WbProfile-row jp-mod-selected' : 'jp-WbProfile-row');
    tr.dataset.layer = String(row.index);
    tr.tabIndex = 0;
    const cells = [
      String(row.index),
      row.name,
      row.opType,
      row.provider || '–',
      formatNumber(row.timeUs),
      row.share === null ? '–' : `${(row.share * 100).toFixed(1)} %`,
      formatNumber(row.macs)
    ];
    cells.forEach((text, i) => tr.appendChild(el('td', COLUMNS[i].numeric ? 'jp-WbProfile-num' : '', text)));
    const nodes = row.originalNodes.join(', ');
    const cell = el('td', 'jp-WbProfile-nodes', nodes);
    cell.title = nodes;
    tr.appendChild(cell);
    return tr;
  }

  private _filter: { search?: string; opType?: string; provider?: string } = {};
  private _sort: { key: SortKey; descending: boolean } = { key: 'index', descending: false };
  private _shown: ILayerRow[] = [];
  private _selected: number | null = null;
  private _controls: (HTMLInputElement | HTMLSelectElement)[] = [];
  private _body: HTMLTableSectionElement;
  private _top: HTMLTableRowElement;
  private _bottom: HTMLTableRowElement;
  private _box: HTMLDivElement;
  private _count: HTMLDivElement;
  private _scrollTop = 0;
  private _frame = 0;
  private _drawn: { first: number; last: number; selected: number | null } | null = null;
}
