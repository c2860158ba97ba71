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
  formatNumber,
  joinComparison,
  joinTopology,
  layerRows,
  profileParts,
  speedupColour,
  speedupColours,
  timeByOpType
} from './data';
import { textOn } from './colour';
import { el, factsTable } from './dom';
import { distinctLabels } from './labels';
import { notices, summaryFacts } from './summary';
import { GraphView } from './graph';
import { LayerTable, onActivate } from './table';
import { timelineCaption, timelineView } from './timeline';

export const PROFILE_MIME = 'application/vnd.workbench.profile+json';
export const COMPARISON_MIME = 'application/vnd.workbench.comparison+json';

function section(title: string): HTMLDivElement {
  const node = el('div', 'jp-WbProfile-section');
  node.appendChild(el('h4', '', title));
  return node;
}

/** A cell painted `background`, its text black or white to read on it in any theme. */
function paint(cell: HTMLElement, background: string): void {
  cell.style.background = background;
  cell.style.color = textOn(background);
}

/** The interactive profile. */
export class ProfileRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-WbProfile');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    // marks for the browser's performance timeline: where JupyterLab's part of an
    // output's time ends and the renderer's begins (benchmarks/bench_lab_render.py)
    performance.mark('edge-workbench:profile-render');
    const profile = model.data[this._mimeType] as unknown as IProfileDocument;
    const { layers, topology } = profileParts(profile);
    const rows = layerRows(profile, layers);
    this._graph?.dispose();
    const graph = new GraphView({
      model: joinTopology(topology, rows),
      onSelectLayer: layer => table.select(layer, true)
    });
    this._graph = graph;
    // the layout starts in its worker first, and runs while the rest is built
    const drawn = graph.render();
    const table = new LayerTable({ rows, onSelectLayer: layer => graph.selectLayer(layer) });
    const tableSection = section(`Layers (${rows.length})`);
    tableSection.appendChild(table.node);
    const graphSection = section('Model graph');
    graphSection.appendChild(graph.node);
    this.node.replaceChildren(this._summary(profile, rows), graphSection, tableSection, this._opTypes(rows));
    performance.mark('edge-workbench:profile-table');
    const timeline = timelineView(profile.timeline);
    if (profile.timeline && timeline) {
      const tl = profile.timeline;
      const timelineSection = section(`Timeline of profiled run ${tl.run_index}`);
      if (tl.dropped > 0) {
        timelineSection.appendChild(el('p', '', `The ${tl.events.length} longest of ${tl.total} events`));
      }
      timelineSection.append(timeline, el('p', 'jp-WbProfile-count', timelineCaption(tl)));
      this.node.appendChild(timelineSection);
    }
    // the table is on the page now; the graph is drawn in the frame after its layout
    void drawn.catch(reason => {
      graphSection.appendChild(el('p', 'jp-WbProfile-error', `The graph cannot be drawn: ${reason}`));
    });
  }

  protected onAfterAttach(): void {
    // when JupyterLab puts the output on the page: its time after renderModel is its own
    performance.mark('edge-workbench:profile-attached');
  }

  protected onBeforeDetach(): void {
    this._graph?.dispose();
    this._graph = null;
  }

  private _summary(profile: IProfileDocument, rows: ILayerRow[]): HTMLElement {
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
    const facts = summaryFacts(profile, rows);
    box.appendChild(factsTable(facts, 'jp-WbProfile-facts'));
    for (const [title, items] of notices(profile)) {
      const list = el('ul', `jp-WbProfile-${title.toLowerCase()}`);
      for (const item of items) {
        list.appendChild(el('li', '', item));
      }
      box.append(el('strong', '', title), list);
    }
    return box;
  }

  private _opTypes(rows: ILayerRow[]): HTMLElement {
    const box = section('Time by op type');
    const table = el('table', 'jp-WbProfile-ops');
    for (const entry of timeByOpType(rows)) {
      const tr = table.insertRow();
      tr.appendChild(el('td', '', entry.opType));
      tr.appendChild(el('td', 'jp-WbProfile-num', `${formatNumber(entry.timeUs)} µs`));
      tr.appendChild(el('td', 'jp-WbProfile-num', `${(entry.share * 100).toFixed(1)} %`));
      tr.appendChild(el('td', 'jp-WbProfile-num', entry.layers === 1 ? '1 layer' : `${entry.layers} layers`));
      const barCell = tr.insertCell();
      const bar = el('div', 'jp-WbProfile-bar');
      bar.style.width = `${Math.round(entry.share * 200)}px`;
      barCell.appendChild(bar);
    }
    box.appendChild(table);
    return box;
  }

  private _mimeType: string;
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
      // an estimate has no runs, and its one figure is no median with a spread
      const estimate = row.kind === 'estimate';
      const cells = [
        row.label,
        row.kind,
        estimate ? '–' : String(row.count),
        formatNumber(row.median_ms),
        estimate ? '–' : formatNumber(row.p90_ms),
        i === doc.baseline ? 'baseline' : row.speedup === null ? '–' : `${row.speedup.toFixed(2)}×`,
        won
      ];
      cells.forEach(text => tr.appendChild(el('td', '', text)));
      if (i !== doc.baseline) {
        paint(tr.cells[5] as HTMLElement, speedupColour(row.speedup));
      }
    });
    parts.push(latency);
    const layers = el('table', 'jp-WbProfile-table jp-WbComparison-layers');
    const lhead = layers.createTHead().insertRow();
    for (const h of ['layer', 'op type', 'original nodes']) {
      lhead.appendChild(el('th', '', h));
    }
    // the headers name what tells the profiles apart; the whole label is the header's title
    const columns = distinctLabels(doc.labels);
    doc.labels.forEach((label, i) => {
      const time = el('th', 'jp-WbProfile-num', `${columns[i]}: µs`);
      time.title = `${label}: median µs per run`;
      lhead.appendChild(time);
      if (i !== doc.baseline) {
        const speedup = el('th', 'jp-WbProfile-num', `${columns[i]}: speed-up`);
        speedup.title = `${label}: speed-up over ${baseline}`;
        lhead.appendChild(speedup);
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
          paint(cell, speedupColour(ratio));
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
        if (group !== null) {
          rows[group]?.classList.add('jp-mod-selected');
          rows[group]?.scrollIntoView({ block: 'nearest' });
        }
      }
    });
    rows.forEach((row, group) => {
      const choose = () => {
        rows.forEach(other => other.classList.remove('jp-mod-selected'));
        row.classList.add('jp-mod-selected');
        graph.selectLayer(group);
      };
      row.tabIndex = 0;
      row.addEventListener('click', choose);
      onActivate(row, choose);
    });
    const graphSection = section('Model graph, coloured by speed-up over the baseline');
    graphSection.classList.add('jp-WbComparison-graph');
    layerSection.classList.add('jp-WbComparison-matched');
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
