/**
 * The renderer's data handling, free of the DOM so it can be unit tested:
 * layer rows and their sort / filter / search, time by op type, the join of
 * the model graph (the profile's `topology`) with the layer rows through
 * `original_nodes`, the per-run timeline, and the colour scales.
 */

/** The parts of a `workbench.profile/1` document the renderer reads. */
export interface IProfileDocument {
  schema: string;
  kind: string;
  label?: string | null;
  model: { name: string; sha256?: string };
  device: { name: string; kind?: string; arch?: string };
  backend: { name: string; version?: string | null; providers?: string[] };
  latency: {
    samples_ms?: number[];
    stats: { [key: string]: number | null | undefined };
    cold_ms?: number | null;
  };
  memory?: { [key: string]: number | null } | null;
  /** the rows and the graph of payloads before their compact `view` */
  layers?: IProfileLayer[];
  topology?: ITopology | null;
  view?: ICompactView | null;
  timeline?: ITimeline | null;
  warnings?: string[];
  /** what a reader should know that is nobody's mistake (few runs the workbench chose) */
  notes?: string[];
  run?: { [key: string]: unknown } | null;
  target?: { name?: string } | null;
}

/** One per-layer row of a profile. */
export interface IProfileLayer {
  name: string;
  op_type: string;
  kind?: string;
  original_nodes?: string[];
  provider?: string | null;
  duration_us?: { median?: number | null } | null;
  share?: number | null;
  macs?: number | null;
}

/** The model graph as the profile stores it. */
export interface ITopology {
  nodes: { name: string; op_type: string; macs?: number | null }[];
  edges: { from: string; to: string; tensor?: string }[];
  inputs?: string[];
  outputs?: string[];
}

/** The compact timeline of one profiled run (see workbench/profiling/timeline.py). */
export interface ITimeline {
  run_index: number;
  tracks: string[];
  /** [name, track index, start µs, duration µs] */
  events: [string, number, number, number][];
  total: number;
  dropped: number;
}

/**
 * The payload's layer rows and model graph as columns (workbench/views/profile.py,
 * `_compact_view`): repeated strings as indices into `strings` (-1 for none), a
 * layer's original nodes and the graph's edges as indices into the graph's nodes
 * (a name where the graph has no such node).
 */
export interface ICompactView {
  format: number;
  strings: string[];
  layers: {
    name: string[];
    op_type: number[];
    kind: number[];
    provider: number[];
    nodes: (number | string)[][];
    median_us: (number | null)[];
    share: (number | null)[];
    macs: (number | null)[];
  };
  graph: {
    name: string[];
    op_type: number[];
    macs: (number | null)[];
    /** [from, to, from, to, ...] */
    edges: number[];
    inputs?: string[];
    outputs?: string[];
  } | null;
}

/** The layer rows and the model graph of a payload, whichever form it carries them in. */
export function profileParts(profile: IProfileDocument): { layers: IProfileLayer[]; topology: ITopology | null } {
  const view = profile.view;
  if (!view) {
    return { layers: profile.layers || [], topology: profile.topology || null };
  }
  const text = (i: number) => (i >= 0 && i < view.strings.length ? view.strings[i] : '');
  const graph = view.graph;
  const names = graph ? graph.name : [];
  const columns = view.layers;
  const layers: IProfileLayer[] = columns.name.map((name, i) => ({
    name,
    op_type: text(columns.op_type[i]),
    kind: text(columns.kind[i]),
    provider: columns.provider[i] >= 0 ? text(columns.provider[i]) : null,
    original_nodes: (columns.nodes[i] || []).map(node => (typeof node === 'number' ? names[node] : node)),
    duration_us: { median: columns.median_us[i] },
    share: columns.share[i],
    macs: columns.macs[i]
  }));
  if (!graph) {
    return { layers, topology: null };
  }
  const edges: ITopology['edges'] = [];
  for (let i = 0; i + 1 < graph.edges.length; i += 2) {
    edges.push({ from: names[graph.edges[i]], to: names[graph.edges[i + 1]] });
  }
  return {
    layers,
    topology: {
      nodes: names.map((name, i) => ({ name, op_type: text(graph.op_type[i]), macs: graph.macs[i] })),
      edges,
      inputs: graph.inputs,
      outputs: graph.outputs
    }
  };
}

/** A layer row as the table shows it. */
export interface ILayerRow {
  index: number;
  name: string;
  opType: string;
  provider: string;
  originalNodes: string[];
  timeUs: number | null;
  share: number | null;
  macs: number | null;
}

export type SortKey = 'index' | 'name' | 'opType' | 'provider' | 'timeUs' | 'share' | 'macs';

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The profile's layers (or `layers`, its parts already read) as table rows, in execution order. */
export function layerRows(
  profile: IProfileDocument,
  layers: IProfileLayer[] = profileParts(profile).layers
): ILayerRow[] {
  return layers.map((layer, index) => ({
    index,
    name: String(layer.name),
    opType: String(layer.op_type),
    provider: layer.provider ? String(layer.provider) : '',
    originalNodes: (layer.original_nodes || []).map(String),
    timeUs: finite(layer.duration_us?.median),
    share: finite(layer.share),
    macs: finite(layer.macs)
  }));
}

/** What the table is narrowed to: free text, and exact op type / provider. */
export interface IRowFilter {
  search?: string;
  opType?: string;
  provider?: string;
}

/** Rows matching the filter; the search looks at names, op types, providers and nodes. */
export function filterRows(rows: ILayerRow[], filter: IRowFilter): ILayerRow[] {
  const needle = (filter.search || '').trim().toLowerCase();
  return rows.filter(row => {
    if (filter.opType && row.opType !== filter.opType) {
      return false;
    }
    if (filter.provider && row.provider !== filter.provider) {
      return false;
    }
    if (!needle) {
      return true;
    }
    return [row.name, row.opType, row.provider, ...row.originalNodes].some(text =>
      text.toLowerCase().includes(needle)
    );
  });
}

/** Rows sorted by one column; missing numbers always go last, ties keep execution order. */
export function sortRows(rows: ILayerRow[], key: SortKey, descending: boolean): ILayerRow[] {
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null || y === null) {
      if (x === y) {
        return a.index - b.index;
      }
      return x === null ? 1 : -1;
    }
    const order =
      typeof x === 'number' && typeof y === 'number'
        ? x - y
        : String(x).localeCompare(String(y));
    return order !== 0 ? sign * order : a.index - b.index;
  });
}

/** Time per op type, slowest first: total µs, layer count and share of all layer time. */
export function timeByOpType(
  rows: ILayerRow[]
): { opType: string; timeUs: number; layers: number; share: number }[] {
  const totals = new Map<string, { timeUs: number; layers: number }>();
  let all = 0;
  for (const row of rows) {
    const entry = totals.get(row.opType) || { timeUs: 0, layers: 0 };
    entry.layers += 1;
    entry.timeUs += row.timeUs || 0;
    all += row.timeUs || 0;
    totals.set(row.opType, entry);
  }
  return [...totals.entries()]
    .map(([opType, t]) => ({ opType, ...t, share: all > 0 ? t.timeUs / all : 0 }))
    .sort((a, b) => b.timeUs - a.timeUs || a.opType.localeCompare(b.opType));
}

/** The median latency with a distribution-free 95 % interval from the samples' order. */
export function medianInterval(
  samples: number[]
): { median: number; low: number; high: number } | null {
  const sorted = samples.filter(s => Number.isFinite(s)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) {
    return null;
  }
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  // ranks n/2 -/+ 1.96 sqrt(n)/2 (normal approximation to the binomial)
  const half = (1.96 * Math.sqrt(n)) / 2;
  const lowRank = Math.max(1, Math.floor(n / 2 - half));
  const highRank = Math.min(n, Math.ceil(n / 2 + half + 1));
  return { median, low: sorted[lowRank - 1], high: sorted[highRank - 1] };
}

/** A node of the drawn graph: a topology node joined with the layer row that ran it. */
export interface IGraphNode {
  id: string;
  opType: string;
  /** index into the layer rows, or null when no row covers the node */
  layer: number | null;
  /** the covering layer's median µs (shared by all the nodes a fused layer covers) */
  timeUs: number | null;
  macs: number | null;
  provider: string;
  /** in a comparison: per profile, the baseline's time over its own in the covering layer */
  speedups?: (number | null)[];
  /** more hover lines */
  notes?: string[];
}

export interface IGraphModel {
  nodes: IGraphNode[];
  edges: { from: string; to: string }[];
  /** layer index -> the ids of the nodes it covers */
  nodesOfLayer: Map<number, string[]>;
}

/** Join the topology with the layer rows through each row's `original_nodes`. */
export function joinTopology(topology: ITopology | null | undefined, rows: ILayerRow[]): IGraphModel {
  const nodesOfLayer = new Map<number, string[]>();
  if (!topology || !Array.isArray(topology.nodes)) {
    return { nodes: [], edges: [], nodesOfLayer };
  }
  const layerOfNode = new Map<string, number>();
  for (const row of rows) {
    for (const node of row.originalNodes) {
      // the first (execution order) row that covers a node owns it
      if (!layerOfNode.has(node)) {
        layerOfNode.set(node, row.index);
      }
    }
  }
  const nodes = topology.nodes.map(node => {
    const layer = layerOfNode.has(node.name) ? (layerOfNode.get(node.name) as number) : null;
    const row = layer === null ? null : rows[layer];
    let macs = finite(node.macs);
    if (macs === null && row && row.originalNodes.length === 1) {
      macs = row.macs;
    }
    if (layer !== null) {
      const list = nodesOfLayer.get(layer) || [];
      list.push(node.name);
      nodesOfLayer.set(layer, list);
    }
    return {
      id: node.name,
      opType: node.op_type,
      layer,
      timeUs: row ? row.timeUs : null,
      macs,
      provider: row ? row.provider : ''
    };
  });
  const ids = new Set(nodes.map(n => n.id));
  const edges = (topology.edges || [])
    .filter(e => ids.has(e.from) && ids.has(e.to))
    .map(e => ({ from: e.from, to: e.to }));
  return { nodes, edges, nodesOfLayer };
}

/** The parts of a `workbench.comparison/1` document the renderer reads. */
export interface IComparisonDocument {
  labels: string[];
  baseline: number;
  latency: {
    label: string;
    kind: string;
    count: number;
    median_ms: number | null;
    p90_ms?: number | null;
    speedup: number | null;
    caveat?: string | null;
  }[];
  layers: {
    layer: string;
    op_type: string;
    original_nodes: string[];
    time_us: (number | null)[];
    speedup: (number | null)[];
    winner: number | null;
  }[];
  wins?: { label: string; layers_won: number; margin_us: number }[];
  /** present when every profile ran the same model */
  topology?: ITopology | null;
}

/**
 * The comparison's model graph: each node joined, through `original_nodes`,
 * with the layer group that covers it, and given that group's speed-ups (one
 * per profile) and the baseline's time. The graph's "layer" is the group's
 * index in `layers`.
 */
export function joinComparison(doc: IComparisonDocument): IGraphModel {
  const groupOfNode = new Map<string, number>();
  doc.layers.forEach((group, index) => {
    for (const node of group.original_nodes || []) {
      if (!groupOfNode.has(node)) {
        groupOfNode.set(node, index);
      }
    }
  });
  const nodesOfLayer = new Map<number, string[]>();
  const topology = doc.topology;
  if (!topology || !Array.isArray(topology.nodes)) {
    return { nodes: [], edges: [], nodesOfLayer };
  }
  const nodes: IGraphNode[] = topology.nodes.map(node => {
    const index = groupOfNode.get(node.name);
    const group = index === undefined ? null : doc.layers[index];
    if (index !== undefined) {
      nodesOfLayer.set(index, [...(nodesOfLayer.get(index) || []), node.name]);
    }
    const speedups = doc.labels.map((_, i) => (group ? finite(group.speedup[i]) : null));
    return {
      id: node.name,
      opType: node.op_type,
      layer: index === undefined ? null : index,
      timeUs: group ? finite(group.time_us[doc.baseline]) : null,
      macs: null,
      provider: '',
      speedups,
      notes: group
        ? doc.labels.map(
            (label, i) =>
              `${label}: ${formatNumber(finite(group.time_us[i]))} µs` +
              (i === doc.baseline || speedups[i] === null ? '' : `, ${(speedups[i] as number).toFixed(2)}×`)
          )
        : ['not in a matched layer']
    };
  });
  const ids = new Set(nodes.map(n => n.id));
  const edges = (topology.edges || [])
    .filter(e => ids.has(e.from) && ids.has(e.to))
    .map(e => ({ from: e.from, to: e.to }));
  return { nodes, edges, nodesOfLayer };
}

/** Node colours by one profile's speed-up over the baseline, and their legend. */
export function speedupColours(
  nodes: IGraphNode[],
  profile: number
): { colours: Map<string, string>; legend: { label: string; colour: string }[] } {
  const colours = new Map<string, string>();
  for (const node of nodes) {
    colours.set(node.id, speedupColour(node.speedups ? node.speedups[profile] : null));
  }
  const legend = [0.25, 0.5, 1, 2, 4].map(ratio => ({
    label: ratio < 1 ? `${1 / ratio}× slower` : ratio === 1 ? 'same' : `${ratio}× faster`,
    colour: speedupColour(ratio)
  }));
  return { colours, legend: [...legend, { label: 'no data', colour: NO_DATA }] };
}

/** What the nodes are coloured by. */
export type ColourBy = 'time' | 'macs' | 'provider';

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];
const NO_DATA = '#d0d0d0';

/** Light yellow to dark red by value / max on a square-root scale (a few layers dominate). */
export function heat(value: number | null, max: number): string {
  if (value === null || !(max > 0)) {
    return NO_DATA;
  }
  const t = Math.sqrt(Math.min(1, Math.max(0, value / max)));
  const r = Math.round(255 - 75 * t);
  const g = Math.round(237 - 207 * t);
  const b = Math.round(160 - 130 * t);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Each node's fill colour, and the legend that explains it. */
export function nodeColours(
  nodes: IGraphNode[],
  by: ColourBy
): { colours: Map<string, string>; legend: { label: string; colour: string }[] } {
  const colours = new Map<string, string>();
  if (by === 'provider') {
    const providers = [...new Set(nodes.map(n => n.provider).filter(p => p))].sort();
    const colourOf = new Map(providers.map((p, i) => [p, PALETTE[i % PALETTE.length]]));
    for (const node of nodes) {
      colours.set(node.id, colourOf.get(node.provider) || NO_DATA);
    }
    const legend = providers.map(p => ({ label: p, colour: colourOf.get(p) as string }));
    return { colours, legend: [...legend, { label: 'not run as a layer', colour: NO_DATA }] };
  }
  const value = (n: IGraphNode) => (by === 'time' ? n.timeUs : n.macs);
  const max = Math.max(0, ...nodes.map(n => value(n) || 0));
  for (const node of nodes) {
    colours.set(node.id, heat(value(node), max));
  }
  const unit = by === 'time' ? 'µs' : 'MACs';
  const legend = [0, 0.25, 1].map(f => ({
    label: `${formatNumber(max * f)} ${unit}`,
    colour: heat(max * f, max)
  }));
  return { colours, legend: [...legend, { label: 'no data', colour: NO_DATA }] };
}

/** Speed-up colours for a comparison: green faster, red slower, grey unknown. */
export function speedupColour(ratio: number | null | undefined): string {
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio <= 0) {
    return NO_DATA;
  }
  const t = Math.min(1, Math.abs(Math.log2(ratio)) / 2);
  const light = Math.round(92 - 42 * t);
  return ratio >= 1 ? `hsl(130, 45%, ${light}%)` : `hsl(0, 65%, ${light}%)`;
}

/** One timeline event as a bar: its lane, and its start and length as fractions of the run. */
export interface ITimelineBar {
  name: string;
  track: number;
  /** how many events of its track enclose it (a run's span encloses its kernels) */
  depth: number;
  /** the row it is drawn on: every track has one row per nesting depth */
  lane: number;
  start: number;
  width: number;
  durUs: number;
}

/**
 * Timeline events as bars. An event inside another of its track (onnxruntime's
 * `model_run` around every kernel of the run) goes one row below it, so the
 * enclosing span never hides the bars it holds.
 */
export function timelineBars(timeline: ITimeline | null | undefined): ITimelineBar[] {
  if (!timeline || !Array.isArray(timeline.events) || timeline.events.length === 0) {
    return [];
  }
  let begin = Infinity;
  let end = -Infinity;
  for (const [, , ts, dur] of timeline.events) {
    begin = Math.min(begin, ts);
    end = Math.max(end, ts + Math.max(0, dur));
  }
  const span = end - begin || 1;
  // by start, the longer first, so an enclosing event comes before what it holds
  const order = timeline.events
    .map((event, i) => ({ event, i }))
    .sort((a, b) => a.event[2] - b.event[2] || b.event[3] - a.event[3] || a.i - b.i);
  const depths = new Array<number>(timeline.events.length).fill(0);
  const open = new Map<number, number[]>(); // track -> end times of the events enclosing the next
  const rowsOfTrack = new Map<number, number>();
  for (const { event, i } of order) {
    const [, track, ts, dur] = event;
    const stack = open.get(track) || [];
    // tolerance of rounding to 0.1 µs: a kernel ending with its run is still inside it
    const top = () => stack[stack.length - 1];
    while (stack.length && (top() < ts + Math.max(0, dur) - 0.1 || top() <= ts)) {
      stack.pop();
    }
    depths[i] = stack.length;
    stack.push(ts + Math.max(0, dur));
    open.set(track, stack);
    rowsOfTrack.set(track, Math.max(rowsOfTrack.get(track) || 0, stack.length));
  }
  const firstLane = new Map<number, number>();
  let lanes = 0;
  for (const track of [...rowsOfTrack.keys()].sort((a, b) => a - b)) {
    firstLane.set(track, lanes);
    lanes += rowsOfTrack.get(track) as number;
  }
  return timeline.events.map(([name, track, ts, dur], i) => ({
    name,
    track,
    depth: depths[i],
    lane: (firstLane.get(track) as number) + depths[i],
    start: (ts - begin) / span,
    width: Math.max(0, dur) / span,
    durUs: dur
  }));
}

/** A number in a few significant digits, with k / M / G for big ones. */
export function formatNumber(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return '–';
  }
  const abs = Math.abs(value);
  if (abs >= 1e9) {
    return `${(value / 1e9).toPrecision(3)}G`;
  }
  if (abs >= 1e6) {
    return `${(value / 1e6).toPrecision(3)}M`;
  }
  if (abs >= 1e4) {
    return `${(value / 1e3).toPrecision(3)}k`;
  }
  if (abs >= 100 || value === 0) {
    return value.toFixed(0);
  }
  return value.toPrecision(3);
}

/** Bytes as KiB / MiB / GiB. */
export function formatBytes(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return '–';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = value;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}
