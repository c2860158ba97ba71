import { describe, expect, it } from 'vitest';

import { IFarmView, farmLines } from '../src/farm';

function farm(): IFarmView {
  return {
    configured: true,
    coordinator: '127.0.0.1:20408',
    state: 'ok',
    places: [
      { name: 'pi-a', tags: { soc: 'bcm2712', lab: 'ws' }, holder: 'host/ana', waiting: 1, stale: null },
      {
        name: 'pi-b',
        tags: { soc: 'bcm2712' },
        holder: 'host/bo',
        waiting: 1,
        stale: "its holder's process 4242 on this machine is gone (a killed client)"
      },
      { name: 'pi-c', tags: {}, holder: null, waiting: 0, stale: null }
    ],
    queue: [{ position: 1, owner: 'host/cy', asks: { soc: 'bcm2712' } }]
  };
}

describe('the farm section', () => {
  it('names each place with its holder, who waits for it and its tags', () => {
    const places = farmLines(farm()).filter(line => line.kind === 'place');
    expect(places.map(line => line.text)).toEqual([
      'pi-a: held by host/ana · 1 waiting · soc=bcm2712, lab=ws',
      'pi-b: held by host/bo · 1 waiting · soc=bcm2712',
      'pi-c: free'
    ]);
  });

  it('marks a stale hold with its reason, and only that one', () => {
    const places = farmLines(farm()).filter(line => line.kind === 'place');
    expect(places.map(line => line.stale)).toEqual([
      undefined,
      "stale hold: its holder's process 4242 on this machine is gone (a killed client)",
      undefined
    ]);
  });

  it('lists the queue in order after the places', () => {
    const lines = farmLines(farm());
    expect(lines[0]).toEqual({ kind: 'heading', text: 'Farm at 127.0.0.1:20408' });
    expect(lines.slice(-2).map(line => line.text)).toEqual(['Queue (1)', '1. host/cy asks for soc=bcm2712']);
  });

  it('says why when the coordinator does not answer', () => {
    const lines = farmLines({ ...farm(), state: 'unreachable', message: 'No coordinator answers' });
    expect(lines.map(line => line.text)).toEqual(['Farm at 127.0.0.1:20408', 'unreachable: No coordinator answers']);
  });

  it('shows no section when the server knows no farm', () => {
    expect(farmLines({ configured: false, message: 'No coordinator is set' })).toEqual([]);
    expect(farmLines(null)).toEqual([]);
  });
});
