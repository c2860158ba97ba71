/**
 * MIME renderers for Edge Workbench documents in notebook outputs:
 * `application/vnd.workbench.profile+json` (summary, per-layer table, time by
 * op type, the run's timeline, the model graph) and
 * `application/vnd.workbench.comparison+json` (profiles side by side).
 *
 * Both are registered as safe: they build the DOM with text content only, so
 * they render in untrusted notebooks too and no payload string becomes markup.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import {
  IComparisonDocument,
  ILayerRow,
  IProfileDocument,
  SortKey,
  filterRows,
  formatBytes,
  formatNumber,
  joinComparison,
  joinTopology,
  layerRows,
  medianInterval,
  sortRows,
  speedupColour,
  speedupColours,
  timeByOpType,
  timelineBars
} from './data';
import { el, factsTable } from './dom';
import { GraphView } from './graph';

export const PROFILE_MIME = 'application/vnd.workbench.profile+json';
export const COMPARISON_MIME = 'application/vnd.workbench.comparison+json';

/** Rows drawn at once; more come with "show more" so huge models stay smooth. */
const ROW_PAGE = 100;

const COLUMNS: { key: SortKey; label: string; numeric: boolean }[] = [
  { key: 'index', label: '#', numeric: true },
  { key: 'name', label: 'layer', numeric: false },
  { key: 'opType', label: 'op type', numeric: false },
  { key: 'provider', label: 'provider', numeric: false },
  // the same words as the library's table (workbench/views/layers.py): a
  // layer's median time, and that median over the sum of every layer's median
  { key: 'timeUs', label: 'median µs', numeric: true },
  { key: 'share', label: 'share of median', numeric: true },
  { key: 'macs', label: 'MACs', numeric: true }
];

function section(title: string): HTMLDivElement {
  const node = el('div', 'jp-WbProfile-section');
  node.appendChild(el('h4', '', title));
  return node;
}

/** The interactive profile. */
export class ProfileRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-WbProfile');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const profile = model.data[this._mimeType] as unknown as IProfileDocument;
    this._rows = layerRows(profile);
    const graphSection = section('Model graph');
    this._graph = new GraphView({
      model: joinTopology(profile.topology, this._rows),
      onSelectLayer: layer => this._selectRow(layer, true)
    });
    graphSection.appendChild(this._graph.node);
    // the layout starts in its worker first, and runs while the table is built
    const drawn = this._graph.render();
    this.node.replaceChildren(this._summary(profile));
    this._tableSection = section(`Layers (${this._rows.length})`);
    this._buildTable();
    this.node.append(graphSection, this._tableSection, this._opTypes());
    const timeline = this._timeline(profile);
    if (timeline) {
      this.node.appendChild(timeline);
    }
    // the table is on the page now; the graph follows when laid out
    void drawn.catch(reason => {
      graphSection.appendChild(el('p', 'jp-WbProfile-error', `The graph cannot be drawn: ${reason}`));
    });
  }

  private _summary(profile: IProfileDocument): HTMLElement {
    const box = el('div', 'jp-WbProfile-summary');
    const title = profile.label || `${profile.model.name} on ${profile.device.name} (${profile.backend.name})`;
    box.appendChild(el('h3', 'jp-WbProfile-title', title));
    if (profile.kind !== 'measured') {
      const text =
        profile.kind === 'estimate'
          ? 'Estimate: predicted from the target catalog, not measured on hardware'
          : 'Emulated board: times are not hardware times';
      box.appendChild(el('p', 'jp-WbProfile-caveat', text));
    }
    const stats = profile.latency.stats || {};
    const interval = medianInterval(profile.latency.samples_ms || []);
    const facts: [string, string][] = [
      ['model', profile.model.name],
      ['device', [profile.device.name, profile.device.kind, profile.device.arch].filter(Boolean).join(', ')],
      ['backend', `${profile.backend.name} ${profile.backend.version || ''}`.trim()],
      [
        'latency (median)',
        interval
          ? `${formatNumber(interval.median)} ms (95 % CI ${formatNumber(interval.low)}–${formatNumber(
              interval.high
            )} ms, ${stats.count} runs)`
          : `${formatNumber(stats.median as number)} ms`
      ],
      ['p90 / p99', `${formatNumber(stats.p90 as number)} / ${formatNumber(stats.p99 as number)} ms`]
    ];
    if (profile.target && profile.target.name) {
      facts.splice(2, 0, ['target', String(profile.target.name)]);
    }
    for (const [key, value] of Object.entries(profile.memory || {})) {
      if (typeof value === 'number') {
        facts.push([key.replace(/_bytes$/, '').replace(/_/g, ' '), formatBytes(value)]);
      }
    }
    if (profile.run) {
      const run = Object.entries(profile.run)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      facts.push(['conditions', run]);
    }
    box.appendChild(factsTable(facts, 'jp-WbProfile-facts'));
    if (profile.warnings && profile.warnings.length) {
      const list = el('ul', 'jp-WbProfile-warnings');
      for (const warning of profile.warnings) {
        list.appendChild(el('li', '', String(warning)));
      }
      box.append(el('strong', '', 'Warnings'), list);
    }
    return box;
  }

  private _buildTable(): void {
    const controls = el('div', 'jp-WbProfile-controls');
    const search = el('input', 'jp-WbProfile-search');
    search.type = 'search';
    search.placeholder = 'search layers, nodes, providers…';
    search.addEventListener('input', () => {
      this._filter.search = search.value;
      this._fillTable();
    });
    const opSelect = this._choice('all op types', [...new Set(this._rows.map(r => r.opType))].sort(), v => {
      this._filter.opType = v;
    });
    const providerSelect = this._choice(
      'all providers',
      [...new Set(this._rows.map(r => r.provider).filter(Boolean))].sort(),
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
      th.addEventListener('click', () => {
        this._sort =
          this._sort.key === column.key
            ? { key: column.key, descending: !this._sort.descending }
            : { key: column.key, descending: column.numeric && column.key !== 'index' };
        this._fillTable();
      });
      head.appendChild(th);
    }
    head.appendChild(el('th', '', 'original nodes'));
    this._tbody = table.createTBody();
    this._more = el('button', 'jp-mod-styled jp-WbProfile-more', 'show more');
    this._more.addEventListener('click', () => {
      this._shown += ROW_PAGE;
      this._fillTable(false);
    });
    this._tableSection.append(controls, table, this._more);
    this._fillTable();
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
      this._fillTable();
    });
    return select;
  }

  private _fillTable(reset = true): void {
    if (reset) {
      this._shown = ROW_PAGE;
    }
    const rows = sortRows(filterRows(this._rows, this._filter), this._sort.key, this._sort.descending);
    this._rowElements.clear();
    const shown = rows.slice(0, this._shown);
    this._tbody.replaceChildren(...shown.map(row => this._row(row)));
    this._more.hidden = rows.length <= shown.length;
    this._more.textContent = `show more (${rows.length - shown.length} hidden)`;
    if (this._selectedRow !== null) {
      this._rowElements.get(this._selectedRow)?.classList.add('jp-mod-selected');
    }
  }

  private _row(row: ILayerRow): HTMLTableRowElement {
    const tr = el('tr', 'jp-WbProfile-row');
    tr.dataset.layer = String(row.index);
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
    tr.appendChild(el('td', 'jp-WbProfile-nodes', row.originalNodes.join(', ')));
    tr.addEventListener('click', () => {
      this._selectRow(row.index, false);
      this._graph?.selectLayer(row.index);
    });
    this._rowElements.set(row.index, tr);
    return tr;
  }

  private _selectRow(layer: number, reveal: boolean): void {
    if (this._selectedRow !== null) {
      this._rowElements.get(this._selectedRow)?.classList.remove('jp-mod-selected');
    }
    this._selectedRow = layer;
    let tr = this._rowElements.get(layer);
    if (!tr && reveal) {
      // the row is filtered out or beyond the page: clear the filter and show it
      this._filter = {};
      for (const control of this._controls) {
        control.value = '';
      }
      this._shown = this._rows.length;
      this._fillTable(false);
      tr = this._rowElements.get(layer);
    }
    if (tr) {
      tr.classList.add('jp-mod-selected');
      if (reveal) {
        tr.scrollIntoView({ block: 'nearest' });
      }
    }
  }

  private _opTypes(): HTMLElement {
    const box = section('Time by op type');
    const table = el('table', 'jp-WbProfile-ops');
    for (const entry of timeByOpType(this._rows)) {
      const tr = table.insertRow();
      tr.appendChild(el('td', '', entry.opType));
      tr.appendChild(el('td', 'jp-WbProfile-num', `${formatNumber(entry.timeUs)} µs`));
      tr.appendChild(el('td', 'jp-WbProfile-num', `${(entry.share * 100).toFixed(1)} %`));
      tr.appendChild(el('td', 'jp-WbProfile-num', `${entry.layers} layers`));
      const barCell = tr.insertCell();
      const bar = el('div', 'jp-WbProfile-bar');
      bar.style.width = `${Math.round(entry.share * 200)}px`;
      barCell.appendChild(bar);
    }
    box.appendChild(table);
    return box;
  }

  private _timeline(profile: IProfileDocument): HTMLElement | null {
    const bars = timelineBars(profile.timeline);
    if (!profile.timeline || bars.length === 0) {
      return null;
    }
    const tl = profile.timeline;
    const box = section(`Timeline of profiled run ${tl.run_index}`);
    if (tl.dropped > 0) {
      box.appendChild(el('p', '', `The ${tl.events.length} longest of ${tl.total} events`));
    }
    const tracks = el('div', 'jp-WbProfile-timeline');
    tl.tracks.forEach((name, index) => {
      const track = el('div', 'jp-WbProfile-track');
      track.appendChild(el('span', 'jp-WbProfile-trackName', name));
      const lane = el('div', 'jp-WbProfile-lane');
      for (const bar of bars.filter(b => b.track === index)) {
        const span = el('span', 'jp-WbProfile-event');
        span.style.left = `${(bar.start * 100).toFixed(3)}%`;
        span.style.width = `max(1px, ${(bar.width * 100).toFixed(3)}%)`;
        span.title = `${bar.name}: ${formatNumber(bar.durUs)} µs`;
        lane.appendChild(span);
      }
      track.appendChild(lane);
      tracks.appendChild(track);
    });
    box.appendChild(tracks);
    return box;
  }

  private _mimeType: string;
  private _rows: ILayerRow[] = [];
  private _filter: { search?: string; opType?: string; provider?: string } = {};
  private _sort: { key: SortKey; descending: boolean } = { key: 'index', descending: false };
  private _shown = ROW_PAGE;
  private _tableSection!: HTMLDivElement;
  private _tbody!: HTMLTableSectionElement;
  private _more!: HTMLButtonElement;
  private _rowElements = new Map<number, HTMLTableRowElement>();
  private _controls: (HTMLInputElement | HTMLSelectElement)[] = [];
  private _selectedRow: number | null = null;
  private _graph: GraphView | null = null;
}

/** Several profiles side by side: latency, speed-ups, and every matched layer. */
export class ComparisonRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-WbComparison');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const doc = model.data[this._mimeType] as unknown as IComparisonDocument;
    const baseline = doc.labels[doc.baseline];
    const parts: HTMLElement[] = [
      el('h3', '', `Comparison of ${doc.labels.length} profiles, baseline: ${baseline}`)
    ];
    for (const row of doc.latency) {
      if (row.caveat) {
        parts.push(el('p', 'jp-WbProfile-caveat', `${row.label}: ${row.caveat}`));
      }
    }
    const latency = el('table', 'jp-WbProfile-table jp-WbComparison-latency');
    const head = latency.createTHead().insertRow();
    for (const h of ['profile', 'kind', 'runs', 'median ms', 'p90 ms', 'speed-up', 'layers won']) {
      head.appendChild(el('th', '', h));
    }
    doc.latency.forEach((row, i) => {
      const tr = latency.insertRow();
      const won = doc.wins && doc.wins[i] ? `${doc.wins[i].layers_won} of ${doc.layers.length}` : '–';
      const cells = [
        row.label,
        row.kind,
        String(row.count),
        formatNumber(row.median_ms),
        formatNumber(row.p90_ms),
        i === doc.baseline ? 'baseline' : row.speedup === null ? '–' : `${row.speedup.toFixed(2)}×`,
        won
      ];
      cells.forEach(text => tr.appendChild(el('td', '', text)));
      if (i !== doc.baseline) {
        (tr.cells[5] as HTMLElement).style.background = speedupColour(row.speedup);
      }
    });
    parts.push(latency);
    const layers = el('table', 'jp-WbProfile-table jp-WbComparison-layers');
    const lhead = layers.createTHead().insertRow();
    for (const h of ['layer', 'op type', 'original nodes']) {
      lhead.appendChild(el('th', '', h));
    }
    doc.labels.forEach((label, i) => {
      lhead.appendChild(el('th', 'jp-WbProfile-num', `${label}: µs`));
      if (i !== doc.baseline) {
        lhead.appendChild(el('th', 'jp-WbProfile-num', `${label}: speed-up`));
      }
    });
    const body = layers.createTBody();
    for (const layer of doc.layers.slice(0, 2000)) {
      const tr = body.insertRow();
      tr.className = 'jp-WbComparison-row';
      tr.appendChild(el('td', '', layer.layer));
      tr.appendChild(el('td', '', layer.op_type));
      tr.appendChild(el('td', 'jp-WbProfile-nodes', layer.original_nodes.join(', ')));
      doc.labels.forEach((_, i) => {
        const time = el('td', 'jp-WbProfile-num', formatNumber(layer.time_us[i]));
        if (layer.winner === i && doc.labels.length > 1) {
          time.classList.add('jp-mod-winner');
        }
        tr.appendChild(time);
        if (i !== doc.baseline) {
          const ratio = layer.speedup[i];
          const cell = el('td', 'jp-WbProfile-num', ratio === null ? '–' : `${ratio.toFixed(2)}×`);
          cell.style.background = speedupColour(ratio);
          tr.appendChild(cell);
        }
      });
    }
    const layerSection = section(`Matched layers (${doc.layers.length}), slowest first`);
    layerSection.appendChild(layers);
    const graphModel = joinComparison(doc);
    if (graphModel.nodes.length === 0) {
      parts.push(layerSection);
      this.node.replaceChildren(...parts);
      return Promise.resolve();
    }
    // the graph beside the table: a node colours by its layer's speed-up over the baseline
    const others = doc.labels.map((label, i) => ({ label, i })).filter(({ i }) => i !== doc.baseline);
    const rows = Array.from(body.rows);
    const graph = new GraphView({
      model: graphModel,
      colourings: others.map(({ label, i }) => ({
        label: `speed-up: ${label}`,
        paint: nodes => speedupColours(nodes, i)
      })),
      onSelectLayer: group => {
        rows.forEach(row => row.classList.remove('jp-mod-selected'));
        rows[group]?.classList.add('jp-mod-selected');
        rows[group]?.scrollIntoView({ block: 'nearest' });
      }
    });
    rows.forEach((row, group) =>
      row.addEventListener('click', () => {
        rows.forEach(other => other.classList.remove('jp-mod-selected'));
        row.classList.add('jp-mod-selected');
        graph.selectLayer(group);
      })
    );
    const graphSection = section('Model graph, coloured by speed-up over the baseline');
    graphSection.appendChild(graph.node);
    const sideBySide = el('div', 'jp-WbComparison-sideBySide');
    sideBySide.append(graphSection, layerSection);
    parts.push(sideBySide);
    this.node.replaceChildren(...parts);
    // the tables are on the page; a graph that cannot be drawn says so beside them
    return graph.render().catch(reason => {
      graphSection.appendChild(el('p', 'jp-WbProfile-error', `The graph cannot be drawn: ${reason}`));
    });
  }

  private _mimeType: string;
}

const extensions: IRenderMime.IExtension[] = [
  {
    id: 'edge-workbench:profile-renderer',
    rendererFactory: {
      safe: true,
      mimeTypes: [PROFILE_MIME],
      createRenderer: options => new ProfileRenderer(options)
    },
    rank: 0,
    dataType: 'json'
  },
  {
    id: 'edge-workbench:comparison-renderer',
    rendererFactory: {
      safe: true,
      mimeTypes: [COMPARISON_MIME],
      createRenderer: options => new ComparisonRenderer(options)
    },
    rank: 0,
    dataType: 'json'
  }
];

export default extensions;
