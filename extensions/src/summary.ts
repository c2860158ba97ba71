/**
 * The facts at the top of a profile in the lab (model, device, backend, latency,
 * memory, run settings), free of the DOM so they can be unit tested. An estimate
 * has one predicted figure: it shows that, not a median with an interval, a p90
 * and run counts of zero.
 */
import { ILayerRow, IProfileDocument, formatBytes, formatNumber, medianInterval } from './data';

/** run-section keys that mark how a setting came about rather than being one */
const MARKERS = new Set(['runs_lowered']);

/** The lists under the facts, in the order shown: notes (nobody's mistake), then warnings. */
export function notices(profile: IProfileDocument): [string, string[]][] {
  const lists: [string, string[]][] = [
    ['Notes', (profile.notes || []).map(String)],
    ['Warnings', (profile.warnings || []).map(String)]
  ];
  return lists.filter(([, items]) => items.length > 0);
}

/** The summary's rows as (label, text). */
export function summaryFacts(profile: IProfileDocument, rows: ILayerRow[]): [string, string][] {
  const stats = profile.latency.stats || {};
  const interval = medianInterval(profile.latency.samples_ms || []);
  const estimate = profile.kind === 'estimate';
  const facts: [string, string][] = [
    ['model', profile.model.name],
    ['device', [profile.device.name, profile.device.kind, profile.device.arch].filter(Boolean).join(', ')],
    ['backend', `${profile.backend.name} ${profile.backend.version || ''}`.trim()]
  ];
  if (estimate) {
    // one predicted figure: no runs, so no interval, no p90 and no run counts below
    facts.push(['latency (estimate)', `${formatNumber(stats.median as number)} ms`]);
  } else {
    const median = interval
      ? `${formatNumber(interval.median)} ms (95 % CI ${formatNumber(interval.low)}–${formatNumber(interval.high)} ms, ${
          stats.count
        } runs)`
      : `${formatNumber(stats.median as number)} ms`;
    facts.push(
      ['latency (median)', median],
      ['p90 / p99', `${formatNumber(stats.p90 as number)} / ${formatNumber(stats.p99 as number)} ms`]
    );
  }
  // the layer table's shares are of this sum, not of the latency (profiled runs time the layers)
  const timed = rows.filter(row => row.timeUs !== null);
  if (timed.length) {
    const allUs = timed.reduce((sum, row) => sum + (row.timeUs || 0), 0);
    facts.push(['all layers', `${formatNumber(allUs / 1000)} ms per run (what the shares are of)`]);
  }
  if (profile.target && profile.target.name) {
    facts.splice(2, 0, ['target', String(profile.target.name)]);
  }
  for (const [key, value] of Object.entries(profile.memory || {})) {
    if (typeof value === 'number') {
      facts.push([key.replace(/_bytes$/, '').replace(/_/g, ' '), formatBytes(value)]);
    }
  }
  if (profile.run && !estimate) {
    const run = Object.entries(profile.run)
      // runs_lowered marks counts the workbench chose: the profile's notes say so in words
      .filter(([k, v]) => v !== null && v !== undefined && !MARKERS.has(k))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    facts.push(['conditions', run]);
  }
  return facts;
}
