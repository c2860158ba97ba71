/**
 * The Devices sidebar's state between answers, free of the DOM so it can be
 * unit tested: what the status line says while a list is asked for, since
 * when each device has been checked, and what a check that runs long says.
 */

/** A device as far as these functions need it. */
export interface ICheckedDevice {
  name: string;
  kind: string;
  status?: unknown;
  checking?: boolean;
}

/**
 * The status line while a list is asked for: a list on screen stays, its line
 * too (a refresh every few seconds flipped it to "Loading…" and back), until
 * the answer replaces both; a forced refresh says it checks every device.
 */
export function pendingStatus(shown: string | null, force: boolean): string {
  if (force) {
    return 'Checking devices…';
  }
  return shown === null ? 'Loading…' : shown;
}

/** Whether a device's check is under way (or none has answered yet). */
export function isChecking(device: ICheckedDevice): boolean {
  return !!device.checking || !device.status;
}

/**
 * When each device's check began, as the panel saw it: kept for a device still
 * being checked, `now` for one that has just begun, none for the others.
 */
export function checkStarts(
  previous: ReadonlyMap<string, number>,
  devices: ICheckedDevice[],
  now: number
): Map<string, number> {
  const next = new Map<string, number>();
  for (const device of devices) {
    if (isChecking(device)) {
      next.set(device.name, previous.get(device.name) ?? now);
    }
  }
  return next;
}

/** A check's line: what is checked, for how long, and why an emulated board takes long. */
export function checkingText(name: string, kind: string, elapsedMs: number): string {
  const seconds = Math.max(0, Math.floor(elapsedMs / 1000));
  const why = kind === 'emulated' ? ' (an emulated board starts slowly)' : '';
  return `checking ${name}… ${seconds} s${why}`;
}
