import { describe, expect, it } from 'vitest';

import {
  IComparisonDocument,
  IGraphModel,
  IGraphNode,
  IProfileDocument,
  filterRows,
  joinComparison,
  joinTopology,
  layerRows,
  medianInterval,
  nodeColours,
  profileParts,
  sortRows,
  speedupColour,
  speedupColours,
  timeByOpType,
  timelineBars
} from '../src/data';

function profile(): IProfileDocument {
  return {
    schema: 'workbench.profile/1',
    kind: 'measured',
    model: { name: 'm' },
    device: { name: 'local' },
    backend: { name: 'onnxruntime' },
    latency: { samples_ms: [3, 1, 2, 5, 4], stats: { count: 5, median: 3 } },
    layers: [
      { name: 'Conv_0', op_type: 'Conv', original_nodes: ['conv1', 'bn1'], provider: 'CPU', duration_us: { median: 800 }, share: 0.8, macs: 1000 },
      { name: 'relu', op_type: 'Relu', original_nodes: ['relu1'], provider: 'XNNPACK', duration_us: { median: 50 }, share: 0.05, macs: null },
      { name: 'reorder', op_type: 'ReorderInput', original_nodes: [], provider: 'CPU', duration_us: null, share: null, macs: null },
      { name: 'Conv_1', op_type: 'Conv', original_nodes: ['conv2'], provider: 'CPU', duration_us: { median: 150 }, share: 0.15, macs: 500 }
    ],
    topology: {
      nodes: [
        { name: 'conv1', op_type: 'Conv', macs: 900 },
        { name: 'bn1', op_type: 'BatchNormalization' },
        { name: 'relu1', op_type: 'Relu', macs: 0 },
        { name: 'conv2', op_type: 'Conv' },
        { name: 'flatten', op_type: 'Flatten' }
      ],
      edges: [
        { from: 'conv1', to: 'bn1' },
        { from: 'bn1', to: 'relu1' },
        { from: 'relu1', to: 'conv2' },
        { from: 'conv2', to: 'flatten' },
        { from: 'conv2', to: 'ghost' }
      ]
    }
  };
}

/** The same profile as the payload carries it now: rows and graph as columns. */
function compactProfile(): IProfileDocument {
  const { layers, topology, ...rest } = profile();
  void layers;
  void topology;
  return {
    ...rest,
    view: {
      format: 2,
      strings: ['Conv', 'BatchNormalization', 'Relu', 'Flatten', 'ReorderInput', 'CPU', 'XNNPACK'],
      layers: {
        name: ['Conv_0', 'relu', 'reorder', 'Conv_1'],
        op_type: [0, 2, 4, 0],
        kind: [-1, -1, -1, -1],
        provider: [5, 6, 5, 5],
        nodes: [[0, 1], [2], [], [3]],
        median_us: [800, 50, null, 150],
        share: [0.8, 0.05, null, 0.15],
        macs: [1000, null, null, 500]
      },
      graph: {
        name: ['conv1', 'bn1', 'relu1', 'conv2', 'flatten'],
        op_type: [0, 1, 2, 0, 3],
        macs: [900, null, 0, null, null],
        edges: [0, 1, 1, 2, 2, 3, 3, 4]
      }
    }
  };
}

/** The fixture's layer rows, fresh for each test. */
function rows() {
  return layerRows(profile());
}

/** The fixture's topology joined with its layer rows. */
function profileGraph(): IGraphModel {
  return joinTopology(profile().topology, rows());
}

function nodesById(graph: IGraphModel): Map<string, IGraphNode> {
  return new Map(graph.nodes.map(n => [n.id, n]));
}

describe('the compact payload', () => {
  it('gives the same table rows as the rows it stands for', () => {
    expect(layerRows(compactProfile())).toEqual(rows());
  });

  it('names an original node the graph does not have', () => {
    const doc = compactProfile();
    (doc.view as NonNullable<typeof doc.view>).layers.nodes[3] = [3, 'ghost'];
    expect(layerRows(doc)[3].originalNodes).toEqual(['conv2', 'ghost']);
  });

  it('gives the same graph as the topology it stands for', () => {
    const { topology } = profileParts(compactProfile());
    const graph = joinTopology(topology, layerRows(compactProfile()));
    expect(graph.nodes).toEqual(profileGraph().nodes);
    expect(graph.edges).toEqual(profileGraph().edges);
    expect([...graph.nodesOfLayer.entries()]).toEqual([...profileGraph().nodesOfLayer.entries()]);
  });

  it('has no graph when the profile has none', () => {
    const doc = compactProfile();
    (doc.view as NonNullable<typeof doc.view>).graph = null;
    expect(profileParts(doc).topology).toBeNull();
    expect(joinTopology(profileParts(doc).topology, layerRows(doc)).nodes).toEqual([]);
  });
});

describe('the layer table', () => {
  it('keeps execution order, names, providers and original nodes', () => {
    const table = rows();
    expect(table.map(r => r.name)).toEqual(['Conv_0', 'relu', 'reorder', 'Conv_1']);
    expect(table[0].originalNodes).toEqual(['conv1', 'bn1']);
    expect(table[1].provider).toBe('XNNPACK');
    expect(table[2].timeUs).toBeNull();
  });

  it('sorts by time with missing times last in both directions', () => {
    expect(sortRows(rows(), 'timeUs', true).map(r => r.name)).toEqual(['Conv_0', 'Conv_1', 'relu', 'reorder']);
    expect(sortRows(rows(), 'timeUs', false).map(r => r.name)).toEqual(['relu', 'Conv_1', 'Conv_0', 'reorder']);
  });

  it('sorts text columns alphabetically and keeps execution order on ties', () => {
    expect(sortRows(rows(), 'opType', false).map(r => r.name)).toEqual(['Conv_0', 'Conv_1', 'relu', 'reorder']);
  });

  it('searches original node names as well as layer names', () => {
    expect(filterRows(rows(), { search: 'BN1' }).map(r => r.name)).toEqual(['Conv_0']);
    expect(filterRows(rows(), { search: 'xnn' }).map(r => r.name)).toEqual(['relu']);
  });

  it('filters by op type and provider together', () => {
    expect(filterRows(rows(), { opType: 'Conv', provider: 'CPU' }).map(r => r.name)).toEqual(['Conv_0', 'Conv_1']);
    expect(filterRows(rows(), { opType: 'Relu', provider: 'CPU' })).toEqual([]);
  });

  it('sums time by op type, slowest first, with shares of all layer time', () => {
    const ops = timeByOpType(rows());
    expect(ops[0]).toEqual({ opType: 'Conv', timeUs: 950, layers: 2, share: 0.95 });
    expect(ops.map(o => o.opType)).toEqual(['Conv', 'Relu', 'ReorderInput']);
  });
});

describe('the topology join', () => {
  it('gives every node covered by a layer that layer’s time and provider', () => {
    const graph = profileGraph();
    const byId = nodesById(graph);
    expect(byId.get('bn1')).toMatchObject({ layer: 0, timeUs: 800, provider: 'CPU' });
    expect(byId.get('relu1')).toMatchObject({ layer: 1, provider: 'XNNPACK' });
    expect(byId.get('flatten')).toMatchObject({ layer: null, timeUs: null, provider: '' });
    expect(graph.nodesOfLayer.get(0)).toEqual(['conv1', 'bn1']);
  });

  it('takes MACs from the topology, and from a one-node layer when the node has none', () => {
    const graph = profileGraph();
    const byId = nodesById(graph);
    expect(byId.get('conv1')!.macs).toBe(900);
    expect(byId.get('conv2')!.macs).toBe(500);
    // a fused layer's MACs are not split over its nodes
    expect(byId.get('bn1')!.macs).toBeNull();
  });

  it('drops edges to nodes the topology does not have', () => {
    const graph = profileGraph();
    expect(graph.edges).toHaveLength(4);
  });

  it('gives an empty graph for a profile without a topology', () => {
    expect(joinTopology(null, rows()).nodes).toEqual([]);
  });

  it('colours by provider with one colour per provider and grey for nodes outside layers', () => {
    const graph = profileGraph();
    const { colours, legend } = nodeColours(graph.nodes, 'provider');
    expect(colours.get('conv1')).toBe(colours.get('conv2'));
    expect(colours.get('conv1')).not.toBe(colours.get('relu1'));
    expect(legend.map(l => l.label)).toEqual(['CPU', 'XNNPACK', 'not run as a layer']);
  });

  it('colours the slowest node darkest by time', () => {
    const graph = profileGraph();
    const { colours } = nodeColours(graph.nodes, 'time');
    expect(colours.get('conv1')).toBe('rgb(180, 30, 30)');
    expect(colours.get('flatten')).toBe('#d0d0d0');
  });
});

describe('the latency summary', () => {
  it('gives the median with an interval from the samples', () => {
    expect(medianInterval([3, 1, 2, 5, 4])).toEqual({ median: 3, low: 1, high: 5 });
    const many = Array.from({ length: 100 }, (_, i) => i + 1);
    const interval = medianInterval(many)!;
    expect(interval.median).toBe(50.5);
    expect(interval.low).toBeGreaterThan(35);
    expect(interval.high).toBeLessThan(65);
  });

  it('gives nothing without samples', () => {
    expect(medianInterval([])).toBeNull();
  });
});

describe('the timeline', () => {
  it('places events as fractions of the run', () => {
    const bars = timelineBars({
      run_index: 0,
      tracks: ['thread 0', 'thread 1'],
      events: [
        ['a', 0, 0, 25],
        ['b', 1, 25, 75]
      ],
      total: 2,
      dropped: 0
    });
    expect(bars).toEqual([
      { name: 'a', track: 0, depth: 0, lane: 0, start: 0, width: 0.25, durUs: 25 },
      { name: 'b', track: 1, depth: 0, lane: 1, start: 0.25, width: 0.75, durUs: 75 }
    ]);
  });

  it('is empty without a timeline', () => {
    expect(timelineBars(null)).toEqual([]);
  });
});

function comparison(): IComparisonDocument {
  return {
    labels: ['cpu', 'xnnpack', 'estimate'],
    baseline: 0,
    latency: [],
    layers: [
      // slowest first, as the library writes them; one fused group covers two nodes
      { layer: 'Conv_0', op_type: 'Conv', original_nodes: ['conv1', 'bn1'], time_us: [800, 400, null], speedup: [1, 2, null], winner: 1 },
      { layer: 'relu', op_type: 'Relu', original_nodes: ['relu1'], time_us: [50, 100, 25], speedup: [1, 0.5, 2], winner: 2 }
    ],
    topology: {
      nodes: [
        { name: 'conv1', op_type: 'Conv' },
        { name: 'bn1', op_type: 'BatchNormalization' },
        { name: 'relu1', op_type: 'Relu' },
        { name: 'shape', op_type: 'Shape' }
      ],
      edges: [
        { from: 'conv1', to: 'bn1' },
        { from: 'bn1', to: 'relu1' },
        { from: 'relu1', to: 'gone' }
      ]
    }
  };
}

describe('the comparison graph', () => {
  it('gives every node the speed-ups of the layer group that covers it', () => {
    const graph = joinComparison(comparison());
    const byId = nodesById(graph);
    expect(byId.get('conv1')!.speedups).toEqual([1, 2, null]);
    expect(byId.get('bn1')!.speedups).toEqual([1, 2, null]);
    expect(byId.get('relu1')!.speedups).toEqual([1, 0.5, 2]);
    expect(byId.get('relu1')!.timeUs).toBe(50);
    expect(byId.get('shape')!.layer).toBeNull();
    expect(byId.get('shape')!.speedups).toEqual([null, null, null]);
    expect(graph.nodesOfLayer.get(0)).toEqual(['conv1', 'bn1']);
    expect(graph.edges).toEqual([
      { from: 'conv1', to: 'bn1' },
      { from: 'bn1', to: 'relu1' }
    ]);
    expect(byId.get('relu1')!.notes).toEqual(['cpu: 50.0 µs', 'xnnpack: 100 µs, 0.50×', 'estimate: 25.0 µs, 2.00×']);
  });

  it('colours nodes faster than the baseline green, slower red, unknown grey', () => {
    const graph = joinComparison(comparison());
    const { colours, legend } = speedupColours(graph.nodes, 1);
    expect(colours.get('conv1')).toBe(speedupColour(2));
    expect(colours.get('conv1')).toMatch(/^hsl\(130,/);
    expect(colours.get('relu1')).toMatch(/^hsl\(0,/);
    expect(colours.get('shape')).toBe(speedupColour(null));
    expect(legend.map(item => item.label)).toContain('2× faster');
    expect(speedupColours(graph.nodes, 2).colours.get('conv1')).toBe(speedupColour(null));
  });

  it('is empty when the profiles ran different models (no topology)', () => {
    const doc = comparison();
    delete doc.topology;
    expect(joinComparison(doc).nodes).toEqual([]);
  });
});
