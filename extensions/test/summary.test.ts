import { describe, expect, it } from 'vitest';

import { IProfileDocument, layerRows, profileParts } from '../src/data';
import { notices, summaryFacts } from '../src/summary';

function doc(kind: string): IProfileDocument {
  return {
    schema: 'workbench.profile/1',
    kind,
    model: { name: 'small-cnn' },
    device: { name: 'raspberry-pi-5', kind: 'catalog', arch: 'aarch64' },
    backend: { name: 'roofline', version: '0.1.0' },
    latency: { samples_ms: kind === 'estimate' ? [0.0428] : [3, 1, 2, 5, 4], stats: { count: 5, median: 3, p90: 4.6, p99: 5 } },
    run: { warmup: 0, runs: 0, profile_runs: 0 }
  } as unknown as IProfileDocument;
}

function facts(kind: string): Map<string, string> {
  const profile = doc(kind);
  return new Map(summaryFacts(profile, layerRows(profile, profileParts(profile).layers)));
}

describe("a profile's summary in the lab", () => {
  it('gives an estimate its one figure, without a p90 or run counts of zero', () => {
    const shown = facts('estimate');
    expect(shown.get('latency (estimate)')).toBe('3.00 ms');
    expect(shown.has('latency (median)')).toBe(false);
    expect(shown.has('p90 / p99')).toBe(false);
    expect(shown.has('conditions')).toBe(false);
  });

  it('gives a measurement its median with the interval, the p90 and its run settings', () => {
    const shown = facts('measured');
    expect(shown.get('latency (median)')).toContain('95 % CI');
    expect(shown.get('p90 / p99')).toBe('4.60 / 5.00 ms');
    expect(shown.get('conditions')).toBe('warmup 0, runs 0, profile_runs 0');
  });

  it('lists notes before warnings, and neither when the profile has none', () => {
    const profile = doc('emulated');
    expect(notices(profile)).toEqual([]);
    profile.notes = ["5 timed runs (the emulated board's default): the median may move by ±4 %"];
    profile.warnings = ['the machine was busy'];
    expect(notices(profile).map(([title, items]) => [title, items.length])).toEqual([
      ['Notes', 1],
      ['Warnings', 1]
    ]);
  });

  it('leaves the marker of counts the workbench chose out of the run settings', () => {
    const profile = doc('emulated');
    profile.run = { warmup: 2, runs: 5, profile_runs: 1, runs_lowered: true };
    const shown = new Map(summaryFacts(profile, layerRows(profile, profileParts(profile).layers)));
    expect(shown.get('conditions')).toBe('warmup 2, runs 5, profile_runs 1');
  });
});
