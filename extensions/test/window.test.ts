import { describe, expect, it } from 'vitest';

import { ROW_HEIGHT, rowWindow } from '../src/table';
import { barAt } from '../src/timeline';

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
    { name: 'conv', track: 0, start: 0, width: 0.5, durUs: 50 },
    { name: 'relu', track: 0, start: 0.6, width: 0.001, durUs: 0.1 },
    { name: 'copy', track: 1, start: 0.2, width: 0.1, durUs: 10 }
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
