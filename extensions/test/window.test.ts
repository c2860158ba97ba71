import { describe, expect, it } from 'vitest';

import { ROW_HEIGHT, rowWindow } from '../src/table';
import { timelineBars } from '../src/data';
import { LANE_GAP, LANE_HEIGHT, barAt, barRects, timelineCaption } from '../src/timeline';

describe('the layer table’s window of rows', () => {
  it('draws the rows in view and a margin below them at the top', () => {
    const { first, last } = rowWindow(0, 10 * ROW_HEIGHT, 1000);
    expect(first).toBe(0);
    expect(last).toBeGreaterThan(10);
    expect(last).toBeLessThan(40);
  });

  it('follows the scroll position with a margin on both sides', () => {
    const { first, last } = rowWindow(500 * ROW_HEIGHT, 10 * ROW_HEIGHT, 1000);
    expect(first).toBeLessThan(500);
    expect(first).toBeGreaterThan(470);
    expect(last).toBeGreaterThan(510);
    expect(last).toBeLessThan(540);
  });

  it('stops at the last row, and draws nothing for no rows', () => {
    expect(rowWindow(995 * ROW_HEIGHT, 10 * ROW_HEIGHT, 1000).last).toBe(1000);
    expect(rowWindow(0, 360, 0)).toEqual({ first: 0, last: 0 });
  });
});

describe('the timeline’s hover', () => {
  const bars = [
    { name: 'conv', track: 0, depth: 0, lane: 0, start: 0, width: 0.5, durUs: 50 },
    { name: 'relu', track: 0, depth: 0, lane: 0, start: 0.6, width: 0.001, durUs: 0.1 },
    { name: 'copy', track: 1, depth: 0, lane: 1, start: 0.2, width: 0.1, durUs: 10 }
  ];

  it('finds the bar under the pointer in its own lane only', () => {
    expect(barAt(bars, 0, 0.25, 0)?.name).toBe('conv');
    expect(barAt(bars, 1, 0.25, 0)?.name).toBe('copy');
    expect(barAt(bars, 1, 0.05, 0)).toBeNull();
  });

  it('finds a bar thinner than a pixel within the slack, and nothing beyond it', () => {
    expect(barAt(bars, 0, 0.603, 0.005)?.name).toBe('relu');
    expect(barAt(bars, 0, 0.58, 0.005)).toBeNull();
  });
});

describe('the timeline’s bars', () => {
  // the 7-layer fixture's run (tests/fixtures/formats/profile-1-synthetic.json) as the
  // payload carries it: seven kernels back to back, and onnxruntime's model_run around them
  const kernels: [string, number][] = [
    ['input_nchwc_kernel_time', 41],
    ['Conv_0_kernel_time', 779.8],
    ['Conv_1_kernel_time', 300.8],
    ['Conv_2_kernel_time', 1134.7],
    ['GlobalAveragePool_0_kernel_time', 35.2],
    ['Gemm_0_kernel_time', 119.1],
    ['Softmax_0_kernel_time', 6.1]
  ];
  const events: [string, number, number, number][] = [];
  let ts = 0;
  for (const [name, dur] of kernels) {
    events.push([name, 0, ts, dur]);
    ts = Math.round((ts + dur + 2) * 10) / 10;
  }
  events.splice(0, 0, ['model_run', 0, 0, ts - 2]);
  const bars = timelineBars({ run_index: 0, tracks: ['thread 0'], events, total: 8, dropped: 0 });
  const rects = barRects(bars, 800);

  it('puts the run above its kernels, not over them', () => {
    expect(bars[0].lane).toBe(0);
    expect(bars.slice(1).every(bar => bar.lane === 1 && bar.depth === 1)).toBe(true);
    expect(rects[0].y).toBeLessThan(rects[1].y);
    expect(rects[1].y - rects[0].y).toBe(LANE_HEIGHT + LANE_GAP);
  });

  it('draws seven kernels as seven bars: in order, apart, each shade beside the other', () => {
    const drawn = rects.slice(1);
    for (let i = 1; i < drawn.length; i++) {
      const before = drawn[i - 1];
      expect(drawn[i].x).toBeGreaterThanOrEqual(before.x + before.width);
      // a gap of at least a px after each (all but the last are wider than 3 px)
      expect(drawn[i].x - (before.x + before.width)).toBeGreaterThanOrEqual(1);
      expect(drawn[i].shade).not.toBe(before.shade);
    }
    expect(drawn.every(r => r.width >= 1)).toBe(true);
    // the whole run spans the canvas
    expect(rects[0].x).toBe(0);
    expect(rects[0].x + rects[0].width).toBeCloseTo(799, 0);
  });

  it('keeps events of different tracks in their own lanes', () => {
    const two = timelineBars({
      run_index: 0,
      tracks: ['thread 0', 'thread 1'],
      events: [
        ['run', 0, 0, 100],
        ['a', 0, 0, 50],
        ['b', 1, 10, 20]
      ],
      total: 3,
      dropped: 0
    });
    expect(two.map(bar => bar.lane)).toEqual([0, 1, 2]);
  });
});

describe('the timeline’s scale', () => {
  it('says how long the run it spans took, in ms, from its first event to its last', () => {
    const caption = timelineCaption({
      run_index: 0,
      tracks: ['thread 0'],
      events: [
        ['a', 0, 1000, 40],
        ['b', 0, 1050, 200]
      ],
      total: 2,
      dropped: 0
    });
    expect(caption).toContain("the run's 0.250 ms");
    expect(caption).toContain('Hover a bar');
  });

  it('says nothing without events', () => {
    expect(timelineCaption(null)).toBe('');
  });
});
