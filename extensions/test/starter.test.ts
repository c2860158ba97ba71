import { describe, expect, it } from 'vitest';

import { starterNotebook } from '../src/starter';

function sources(device: string): string[] {
  return starterNotebook(device).cells.map(cell => cell.source);
}

describe('the starter notebook', () => {
  it('opens the notebook UI on the chosen device', () => {
    const ui = sources('pi5').find(source => source.includes('Workbench('));
    expect(ui).toContain('device="pi5"');
    expect(sources('pi5')).toContain('import workbench as wb\nfrom workbench.widgets import Workbench');
  });

  it('connects the plain-API cells to the same device', () => {
    expect(sources('pi5').some(source => source.startsWith('device = wb.connect("pi5")'))).toBe(true);
  });

  it('keeps a device name with quotes a single Python string', () => {
    const ui = sources('my "lab" board\\1').find(source => source.includes('Workbench('));
    expect(ui).toContain('device="my \\"lab\\" board\\\\1"');
  });

  it('has no outputs before it runs', () => {
    for (const cell of starterNotebook('local').cells) {
      if (cell.cell_type === 'code') {
        expect(cell).toMatchObject({ outputs: [], execution_count: null });
      }
    }
  });
});
