import { describe, expect, it } from 'vitest';

import { timeTicks, timelineSpanUs, trackLabel } from '../src/timeline';

describe('the timeline’s lane labels', () => {
  it('names the first track the main thread and the others workers, keeping the OS id in the title', () => {
    expect(trackLabel('thread 21084', 0).text).toBe('main thread');
    expect(trackLabel('thread 21090', 1).text).toBe('worker 1');
    expect(trackLabel('thread 21091', 2).text).toBe('worker 2');
    expect(trackLabel('thread 21090', 1).title).toContain('thread 21090');
  });

  it('keeps a track name that is not an OS thread id', () => {
    expect(trackLabel('NPU queue', 0)).toEqual({ text: 'NPU queue', title: 'NPU queue' });
  });
});

describe('the timeline’s time axis', () => {
  it('puts a tick every 0.5 ms on a 2.6 ms run 600 px wide', () => {
    // 70 px apart at least: 2,600 µs × 70 / 600 = 303 µs, so 500 µs steps
    const ticks = timeTicks(2600, 600);
    expect(ticks.map(t => t.label)).toEqual(['0.0 ms', '0.5 ms', '1.0 ms', '1.5 ms', '2.0 ms', '2.5 ms']);
    expect(ticks[1].at).toBeCloseTo(500 / 2600);
  });

  it('keeps ticks apart on a narrow canvas and labels whole ms without decimals', () => {
    const ticks = timeTicks(38_000, 300);
    // 38 ms × 70 / 300 = 8.9 ms: steps of 10 ms
    expect(ticks.map(t => t.label)).toEqual(['0 ms', '10 ms', '20 ms', '30 ms']);
    for (let i = 1; i < ticks.length; i++) {
      expect((ticks[i].at - ticks[i - 1].at) * 300).toBeGreaterThanOrEqual(70);
    }
  });

  it('labels microsecond runs with enough decimals to tell ticks apart', () => {
    const labels = timeTicks(90, 800).map(t => t.label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels[1]).toBe('0.01 ms');
  });

  it('has no ticks for an empty run or an unlaid canvas', () => {
    expect(timeTicks(0, 600)).toEqual([]);
    expect(timeTicks(1000, 0)).toEqual([]);
  });

  it('measures the run from its first start to its last end', () => {
    const events: [string, number, number, number][] = [['a', 0, 100, 50], ['b', 1, 120, 200]];
    expect(timelineSpanUs({ run_index: 0, tracks: ['x', 'y'], events, total: 2, dropped: 0 })).toBe(220);
  });
});
