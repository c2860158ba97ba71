/**
 * Text that stays readable on a painted background: the graph's node labels
 * and the comparison's speed-up cells take black or white by the fill's
 * luminance (WCAG 2), never the theme's text colour, which a dark theme makes
 * light on light fills.
 */

/** A CSS colour as we write them (#rgb, #rrggbb, rgb(), rgba(), hsl()) in 0-255 channels; null if not one of these. */
export function parseColour(colour: string): [number, number, number] | null {
  const text = colour.trim().toLowerCase();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(text);
  if (hex) {
    const digits = hex[1].length === 3 ? [...hex[1]].map(d => d + d) : hex[1].match(/../g) || [];
    return digits.map(d => parseInt(d, 16)) as [number, number, number];
  }
  const numbers = (text.match(/-?[\d.]+/g) || []).map(Number);
  if (/^rgba?\(/.test(text) && numbers.length >= 3) {
    return [numbers[0], numbers[1], numbers[2]];
  }
  if (/^hsla?\(/.test(text) && numbers.length >= 3) {
    const [h, s, l] = [numbers[0], numbers[1] / 100, numbers[2] / 100];
    const a = s * Math.min(l, 1 - l);
    const channel = (n: number) => {
      const k = (n + h / 30) % 12;
      return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
    };
    return [channel(0), channel(8), channel(4)];
  }
  return null;
}

/** WCAG 2 relative luminance of 0-255 channels. */
export function luminance([r, g, b]: [number, number, number]): number {
  const linear = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** WCAG 2 contrast ratio of two colours (1 to 21); 1 when either cannot be read. */
export function contrastRatio(a: string, b: string): number {
  const [ca, cb] = [parseColour(a), parseColour(b)];
  if (!ca || !cb) {
    return 1;
  }
  const [la, lb] = [luminance(ca), luminance(cb)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** Black or white, whichever contrasts more with `background`. */
export function textOn(background: string): string {
  return contrastRatio(background, '#000000') >= contrastRatio(background, '#ffffff') ? '#000000' : '#ffffff';
}
