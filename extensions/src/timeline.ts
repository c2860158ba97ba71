/**
 * The timeline of one profiled run: a lane per track (thread), each event a
 * bar at its place in the run. The bars of all lanes are drawn on one canvas
 * (a model of 1,000 layers has 1,000 bars; as elements they cost the page's
 * layout more than everything else in the output); hovering a bar shows its
 * name and duration as the canvas's title.
 */
import { ITimeline, formatNumber, timelineBars } from './data';
import { el } from './dom';

/** A lane's height and the gap between lanes, in px. */
const LANE_HEIGHT = 16;
const LANE_GAP = 4;
const BAR_COLOUR = '#e15759';

type Bar = ReturnType<typeof timelineBars>[number];

/** The bar of `track` under a horizontal place (0 to 1 of the run), within `slack` of it. */
export function barAt(bars: Bar[], track: number, at: number, slack: number): Bar | null {
  let best: Bar | null = null;
  let distance = Infinity;
  for (const bar of bars) {
    if (bar.track !== track) {
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

/** The timeline section's body, or null when the profile has no timeline. */
export function timelineView(timeline: ITimeline | null | undefined): HTMLElement | null {
  const bars = timelineBars(timeline);
  if (!timeline || bars.length === 0) {
    return null;
  }
  const box = el('div', 'jp-WbProfile-timeline');
  const names = el('div', 'jp-WbProfile-trackNames');
  for (const name of timeline.tracks) {
    const label = el('div', 'jp-WbProfile-trackName', name);
    label.style.height = `${LANE_HEIGHT}px`;
    label.style.marginBottom = `${LANE_GAP}px`;
    names.appendChild(label);
  }
  const canvas = el('canvas', 'jp-WbProfile-lanes');
  const height = timeline.tracks.length * (LANE_HEIGHT + LANE_GAP);
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
    timeline.tracks.forEach((_, i) => ctx.fillRect(0, i * (LANE_HEIGHT + LANE_GAP), width, LANE_HEIGHT));
    ctx.fillStyle = BAR_COLOUR;
    ctx.beginPath();
    for (const bar of bars) {
      // at least a px wide, as the shortest events would otherwise vanish
      ctx.rect(bar.start * width, bar.track * (LANE_HEIGHT + LANE_GAP) + 2, Math.max(1, bar.width * width), LANE_HEIGHT - 4);
    }
    ctx.fill();
    canvas.dataset.drawn = String(bars.length);
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
    const track = Math.floor((event.clientY - rect.top) / (LANE_HEIGHT + LANE_GAP));
    const bar = rect.width > 0 ? barAt(bars, track, (event.clientX - rect.left) / rect.width, 2 / rect.width) : null;
    canvas.title = bar ? `${bar.name}: ${formatNumber(bar.durUs)} µs` : '';
  });
  box.append(names, canvas);
  return box;
}
