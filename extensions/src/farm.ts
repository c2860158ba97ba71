/**
 * The Devices sidebar's farm section, as text: the labgrid farm the server
 * knows (places, holders, the queue, stale holds), free of the DOM so it can
 * be unit tested.
 */

/** The labgrid farm as GET /workbench/api/farm answers (workbench/server/status.py, farm_view). */
export interface IFarmView {
  configured: boolean;
  coordinator?: string;
  /** "ok", "unreachable" or "error" */
  state?: string;
  message?: string | null;
  places?: {
    name: string;
    tags: { [key: string]: string };
    holder: string | null;
    /** reservations waiting that this place would serve */
    waiting: number;
    /** why the hold is stale (a killed holder, a hold outside the queue), or null */
    stale: string | null;
  }[];
  queue?: { position: number; owner: string; asks: { [key: string]: string }; prio?: number }[];
}

function tagText(tags: { [key: string]: string }): string {
  return Object.entries(tags || {})
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/**
 * The farm section's lines, or none when the server knows no farm: a heading with
 * the coordinator, one line per place (free, or held by whom, how many wait for it,
 * and a stale hold's reason) and one per waiting reservation, in queue order.
 */
export function farmLines(
  farm: IFarmView | null | undefined
): { kind: 'heading' | 'place' | 'queue' | 'message'; text: string; stale?: string; place?: string }[] {
  if (!farm || !farm.configured) {
    return [];
  }
  const lines: ReturnType<typeof farmLines> = [
    { kind: 'heading', text: `Farm at ${farm.coordinator || '?'}` }
  ];
  if (farm.state !== 'ok') {
    lines.push({ kind: 'message', text: `${farm.state || 'error'}: ${farm.message || ''}`.trim() });
    return lines;
  }
  for (const place of farm.places || []) {
    const parts = [place.holder ? `held by ${place.holder}` : 'free'];
    if (place.waiting) {
      parts.push(`${place.waiting} waiting`);
    }
    const tags = tagText(place.tags);
    if (tags) {
      parts.push(tags);
    }
    lines.push({
      kind: 'place',
      place: place.name,
      text: `${place.name}: ${parts.join(' · ')}`,
      ...(place.stale ? { stale: `stale hold: ${place.stale}` } : {})
    });
  }
  const queue = farm.queue || [];
  lines.push({ kind: 'queue', text: queue.length ? `Queue (${queue.length})` : 'Queue: empty' });
  for (const entry of queue) {
    lines.push({ kind: 'queue', text: `${entry.position}. ${entry.owner} asks for ${tagText(entry.asks) || 'any place'}` });
  }
  return lines;
}
