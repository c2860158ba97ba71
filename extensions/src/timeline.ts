/**
 * The timeline of one profiled run: a lane per track (thread: the main one and
 * its workers) and nesting depth (the run's span above its kernels), each event
 * a bar at its place in the run, over an axis of times in ms. The bars of all lanes are drawn on one canvas
 * (a model of 1,000 layers has 1,000 bars; as elements they cost the page's
 * layout more than everything else in the output); hovering a bar shows its
 * name and duration as the canvas's title.
 */
import { ITimeline, ITimelineBar, formatNumber, timelineBars } from './data';
import { el } from './dom';

/** A lane's height and the gap between lanes, in px. */
export const LANE_HEIGHT = 16;
export const LANE_GAP = 4;
/** Neighbouring bars of a lane alternate between two shades, so back-to-back kernels stay apart. */
const BAR_COLOURS = ['#e15759', '#9c2f31'];

/** The axis under the lanes: its height in px, and the least room between two ticks. */
export const AXIS_HEIGHT = 16;
const TICK_GAP_PX = 70;

/**
 * A track's label. The profile names a track by its OS thread id ("thread
 * 21084"), which says nothing to a reader: tracks are numbered in order of
 * their first event, and the first is the thread that ran the model (its
 * `model_run` starts the run), so it is the main thread and the others its
 * workers. A name of another form is kept as it is. `title` keeps the id.
 */
export function trackLabel(name: string, track: number): { text: string; title: string } {
  if (!/^thread \S+$/.test(name)) {
    return { text: name, title: name };
  }
  const text = track === 0 ? 'main thread' : `worker ${track}`;
  return { text, title: `${text} (OS ${name})` };
}

/** A tick of the time axis: where (0 to 1 of the run) and its label in ms. */
export interface ITick {
  at: number;
  label: string;
}

/**
 * Ticks for a run of `spanUs` µs drawn `widthPx` wide: from 0 every 1, 2 or 5
 * × a power of ten µs, the smallest such step that leaves at least
 * `minGapPx` between ticks; labels in ms with as many decimals as the step needs.
 */
export function timeTicks(spanUs: number, widthPx: number, minGapPx = TICK_GAP_PX): ITick[] {
  if (!(spanUs > 0) || !(widthPx > 0)) {
    return [];
  }
  const least = (spanUs * minGapPx) / widthPx;
  let power = Math.pow(10, Math.floor(Math.log10(least)));
  let step = power;
  for (;;) {
    const fit = [1, 2, 5].map(m => m * power).find(candidate => candidate >= least);
    if (fit !== undefined) {
      step = fit;
      break;
    }
    power *= 10;
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step / 1000) + 1e-9));
  const ticks: ITick[] = [];
  for (let i = 0; i * step <= spanUs * (1 + 1e-9); i++) {
    ticks.push({ at: (i * step) / spanUs, label: `${((i * step) / 1000).toFixed(decimals)} ms` });
  }
  return ticks;
}

/** A bar's place on the canvas, in CSS px. */
export interface IBarRect {
  x: number;
  y: number;
  width: number;
  height: number;
  /** which of the two shades */
  shade: number;
}

/**
 * Where each bar is drawn on a canvas `width` px wide. A bar is at least a px
 * wide (the shortest events would vanish), and one wider than 3 px gives its
 * last px to the gap before the next: kernels that run back to back read as
 * separate bars, not as one.
 */
export function barRects(bars: ITimelineBar[], width: number): IBarRect[] {
  const lastOfLane = new Map<number, number>();
  const order = bars.map((bar, i) => i).sort((a, b) => bars[a].start - bars[b].start || a - b);
  const shades = new Array<number>(bars.length).fill(0);
  for (const i of order) {
    const previous = lastOfLane.get(bars[i].lane);
    shades[i] = previous === undefined ? 0 : 1 - shades[previous];
    lastOfLane.set(bars[i].lane, i);
  }
  return bars.map((bar, i) => {
    const full = bar.width * width;
    return {
      x: bar.start * width,
      y: bar.lane * (LANE_HEIGHT + LANE_GAP) + 2,
      width: full > 3 ? full - 1 : Math.max(1, full),
      height: LANE_HEIGHT - 4,
      shade: shades[i]
    };
  });
}

/** The bar of a lane under a horizontal place (0 to 1 of the run), within `slack` of it. */
export function barAt(bars: ITimelineBar[], lane: number, at: number, slack: number): ITimelineBar | null {
  let best: ITimelineBar | null = null;
  let distance = Infinity;
  for (const bar of bars) {
    if (bar.lane !== lane) {
      continue;
    }
    const d = at < bar.start ? bar.start - at : at > bar.start + bar.width ? at - bar.start - bar.width : 0;
    if (d <= slack && d < distance) {
      best = bar;
      distance = d;
    }
  }
  return best;
}

/**
 * The line under the timeline that gives its scale: the bars have no axis, so
 * without it a reader cannot tell a microsecond run from a second.
 */
export function timelineCaption(timeline: ITimeline | null | undefined): string {
  const events = (timeline && timeline.events) || [];
  if (events.length === 0) {
    return '';
  }
  return (
    `The width is the run's ${formatNumber(timelineSpanUs(timeline) / 1000)} ms, from its first event to its last; ` +
    "a bar is an event's start and duration. Hover a bar for its name and time."
  );
}

/** From the first event's start to the last one's end, in µs (0 without events). */
export function timelineSpanUs(timeline: ITimeline | null | undefined): number {
  const events = (timeline && timeline.events) || [];
  if (events.length === 0) {
    return 0;
  }
  const begin = Math.min(...events.map(([, , ts]) => ts));
  const end = Math.max(...events.map(([, , ts, dur]) => ts + Math.max(0, dur)));
  return end - begin;
}

/** The timeline section's body, or null when the profile has no timeline. */
export function timelineView(timeline: ITimeline | null | undefined): HTMLElement | null {
  const bars = timelineBars(timeline);
  if (!timeline || bars.length === 0) {
    return null;
  }
  const box = el('div', 'jp-WbProfile-timeline');
  const names = el('div', 'jp-WbProfile-trackNames');
  // a track's name spans its lanes (one per nesting depth)
  const lanesOfTrack = new Map<number, number>();
  for (const bar of bars) {
    lanesOfTrack.set(bar.track, Math.max(lanesOfTrack.get(bar.track) || 0, bar.depth + 1));
  }
  let lanes = 0;
  timeline.tracks.forEach((name, track) => {
    const count = lanesOfTrack.get(track) || 0;
    if (count === 0) {
      return;
    }
    const { text, title } = trackLabel(name, track);
    const label = el('div', 'jp-WbProfile-trackName', text);
    label.title = title;
    label.style.height = `${count * (LANE_HEIGHT + LANE_GAP) - LANE_GAP}px`;
    label.style.marginBottom = `${LANE_GAP}px`;
    names.appendChild(label);
    lanes += count;
  });
  const canvas = el('canvas', 'jp-WbProfile-lanes');
  const lanesHeight = lanes * (LANE_HEIGHT + LANE_GAP);
  const height = lanesHeight + AXIS_HEIGHT;
  const spanUs = timelineSpanUs(timeline);
  canvas.style.height = `${height}px`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `timeline of ${bars.length} events`);
  let width = 0;
  const draw = () => {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    if (!ctx) {
      return;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = 'rgba(128, 128, 128, 0.15)';
    for (let lane = 0; lane < lanes; lane++) {
      ctx.fillRect(0, lane * (LANE_HEIGHT + LANE_GAP), width, LANE_HEIGHT);
    }
    const rects = barRects(bars, width);
    // one path per shade
    BAR_COLOURS.forEach((colour, shade) => {
      ctx.fillStyle = colour;
      ctx.beginPath();
      for (const r of rects) {
        if (r.shade === shade) {
          ctx.rect(r.x, r.y, r.width, r.height);
        }
      }
      ctx.fill();
    });
    // the time axis under the lanes: a tick and its time in ms
    const ticks = timeTicks(spanUs, width);
    const style = getComputedStyle(canvas);
    ctx.fillStyle = style.getPropertyValue('--jp-ui-font-color2').trim() || '#666';
    ctx.font = `10px ${style.getPropertyValue('--jp-ui-font-family').trim() || 'sans-serif'}`;
    ctx.textBaseline = 'top';
    ticks.forEach((tick, i) => {
      const x = Math.min(tick.at * width, width - 1);
      ctx.fillRect(x, lanesHeight, 1, 4);
      // the first label starts at its tick, the last one ends at it, the others centre on it
      ctx.textAlign = i === 0 ? 'left' : tick.at * width > width - 30 ? 'right' : 'center';
      ctx.fillText(tick.label, x, lanesHeight + 4);
    });
    canvas.dataset.ticks = ticks.map(tick => tick.label).join(',');
    canvas.dataset.drawn = String(bars.length);
    canvas.dataset.lanes = String(lanes);
  };
  // drawn when the page has laid the canvas out, and again when its width changes
  new ResizeObserver(entries => {
    const next = entries[entries.length - 1].contentRect.width;
    if (next > 0 && next !== width) {
      width = next;
      draw();
    }
  }).observe(canvas);
  canvas.addEventListener('pointermove', event => {
    const rect = canvas.getBoundingClientRect();
    const lane = Math.floor((event.clientY - rect.top) / (LANE_HEIGHT + LANE_GAP));
    const bar = rect.width > 0 ? barAt(bars, lane, (event.clientX - rect.left) / rect.width, 2 / rect.width) : null;
    canvas.title = bar ? `${bar.name}: ${formatNumber(bar.durUs)} µs` : '';
  });
  box.append(names, canvas);
  return box;
}
