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
      launcher.add({ command: COMMANDS.newNotebook, category: 'Notebook', rank: 50 });
    }
    if (palette) {
      for (const command of Object.values(COMMANDS)) {
        palette.addItem({ command, category: CATEGORY, args: { isPalette: true } });
      }
    }
  }
};

export default plugin;
