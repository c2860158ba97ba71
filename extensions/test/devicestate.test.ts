import { describe, expect, it } from 'vitest';

import { checkStarts, checkingText, pendingStatus } from '../src/devicestate';

describe('the Devices sidebar while it asks for the list', () => {
  it('says Loading only before the first list', () => {
    expect(pendingStatus(null, false)).toBe('Loading…');
  });

  it('keeps the last status line on a refresh', () => {
    expect(pendingStatus('3 device(s), 1 still being checked', false)).toBe('3 device(s), 1 still being checked');
  });

  it('says it checks every device on a forced refresh', () => {
    expect(pendingStatus('3 device(s)', true)).toBe('Checking devices…');
  });
});

describe('a check that runs long', () => {
  const emu = { name: 'qemu:raspberry-pi-5', kind: 'emulated', checking: true, status: { state: 'not started' } };
  const pi = { name: 'pi5', kind: 'ssh', status: { state: 'ready' } };

  it('keeps when a check began over the answers that still show it checking', () => {
    const first = checkStarts(new Map(), [emu, pi], 1_000);
    expect([...first]).toEqual([['qemu:raspberry-pi-5', 1_000]]);
    const later = checkStarts(first, [emu, pi], 13_500);
    expect(later.get('qemu:raspberry-pi-5')).toBe(1_000);
  });

  it('forgets a check that ended and counts one without a status as checking', () => {
    const started = checkStarts(new Map([['qemu:raspberry-pi-5', 1_000]]), [{ ...emu, checking: false }], 5_000);
    expect(started.size).toBe(0);
    expect(checkStarts(new Map(), [{ name: 'new', kind: 'ssh' }], 7).get('new')).toBe(7);
  });

  it('says what it checks, for how long, and why an emulated board is slow', () => {
    expect(checkingText('qemu:raspberry-pi-5', 'emulated', 12_400)).toBe(
      'checking qemu:raspberry-pi-5… 12 s (an emulated board starts slowly)'
    );
    expect(checkingText('pi5', 'ssh', 2_000)).toBe('checking pi5… 2 s');
  });
});
