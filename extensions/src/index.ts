/**
 * The Edge Workbench front end in JupyterLab: a "Devices" sidebar fed by the
 * server extension (/workbench/api/), a launcher card that creates a starter
 * notebook, and commands for both in the palette.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { listIcon } from '@jupyterlab/ui-components';

import { DevicesPanel } from './devices';
import { starterNotebook } from './starter';

export const COMMANDS = {
  newNotebook: 'edge-workbench:new-notebook',
  showDevices: 'edge-workbench:show-devices',
  refreshDevices: 'edge-workbench:refresh-devices'
};

const CATEGORY = 'Edge Workbench';

/** The launcher card's picture: a chip on a board, as an SVG data URL. */
const BOARD_ICON =
  'data:image/svg+xml,' +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 52 52">' +
      '<rect x="2" y="8" width="48" height="36" rx="3" fill="#2e7d32"/>' +
      '<rect x="16" y="16" width="20" height="20" fill="#263238"/>' +
      '<g stroke="#cfd8dc" stroke-width="2">' +
      '<path d="M20 12v4M26 12v4M32 12v4M20 36v4M26 36v4M32 36v4M12 20h4M12 26h4M12 32h4M36 20h4M36 26h4M36 32h4"/>' +
      '</g></svg>'
  );

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'edge-workbench:plugin',
  description: 'Devices sidebar, launcher card and commands of Edge Workbench',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const { commands, serviceManager } = app;

    commands.addCommand(COMMANDS.newNotebook, {
      label: args => (args.device ? `New Edge Workbench Notebook for ${args.device}` : 'Edge Workbench'),
      caption: 'A notebook that loads a model, picks target, backend and device, and profiles',
      icon: args => (args.isPalette ? undefined : listIcon),
      execute: async args => {
        const device = typeof args.device === 'string' ? args.device : 'local';
        const cwd = typeof args.cwd === 'string' ? args.cwd : '';
        const model = await serviceManager.contents.newUntitled({ path: cwd, type: 'notebook' });
        await serviceManager.contents.save(model.path, {
          type: 'notebook',
          format: 'json',
          content: starterNotebook(device)
        });
        return commands.execute('docmanager:open', { path: model.path, factory: 'Notebook' });
      }
    });

    const panel = new DevicesPanel({
      settings: serviceManager.serverSettings,
      newNotebook: device => void commands.execute(COMMANDS.newNotebook, { device })
    });
    app.shell.add(panel, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    commands.addCommand(COMMANDS.showDevices, {
      label: 'Show Edge Workbench Devices',
      execute: () => app.shell.activateById(panel.id)
    });
    commands.addCommand(COMMANDS.refreshDevices, {
      label: 'Refresh Edge Workbench Devices',
      execute: () => panel.refresh(true)
    });

    if (launcher) {
      // a card in the Notebook row shows a kernel's icon, else the label's first letter,
      // which made it read as a kernel named "Edge Workbench": it gets a board of its own
      launcher.add({ command: COMMANDS.newNotebook, category: 'Notebook', rank: 50, kernelIconUrl: BOARD_ICON });
    }
    if (palette) {
      for (const command of Object.values(COMMANDS)) {
        palette.addItem({ command, category: CATEGORY, args: { isPalette: true } });
      }
    }
  }
};

export default plugin;
