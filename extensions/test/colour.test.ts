import { describe, expect, it } from 'vitest';

import { contrastRatio, parseColour, textOn } from '../src/colour';
import { heat, speedupColour } from '../src/data';

describe('text on a painted background', () => {
  it('reads the colour forms the graph and the comparison paint with', () => {
    expect(parseColour('#fff')).toEqual([255, 255, 255]);
    expect(parseColour('#d0d0d0')).toEqual([208, 208, 208]);
    expect(parseColour('rgb(180, 30, 30)')).toEqual([180, 30, 30]);
    expect(parseColour('hsl(0, 100%, 50%)')).toEqual([255, 0, 0]);
    expect(parseColour('hsl(120, 100%, 25%)')).toEqual([0, 128, 0]);
    expect(parseColour('var(--jp-layout-color1)')).toBeNull();
  });

  it('gives the hottest graph node white labels and the coolest black ones', () => {
    expect(textOn(heat(100, 100))).toBe('#ffffff');
    expect(textOn(heat(0, 100))).toBe('#000000');
  });

  it('keeps every heat and speed-up fill readable: contrast 4.5 or more', () => {
    const fills = [
      ...[0, 1, 5, 10, 25, 50, 75, 100].map(v => heat(v, 100)),
      ...[0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 10, null].map(r => speedupColour(r))
    ];
    for (const fill of fills) {
      expect(contrastRatio(fill, textOn(fill)), fill).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('finds dark text unreadable on the darkest heat fill, as the labels were', () => {
    // the graph drew every label in #222 whatever the fill
    expect(contrastRatio(heat(100, 100), '#222222')).toBeLessThan(3);
  });
});
