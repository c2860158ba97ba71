/**
 * The "Devices" sidebar: every device the server knows (local, registered,
 * ~/.ssh/config, emulated) with its status, a refresh, and "new notebook for
 * this device"; below them the labgrid farm the server knows, if any (places,
 * holders, the queue, stale holds). All data comes from the server extension's REST API; the
 * token and XSRF header come from ServerConnection.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { apiErrorText, parsed } from './apierror';
import { checkStarts, checkingText, isChecking, pendingStatus } from './devicestate';
import { el } from './dom';
import { IFarmView, farmLines } from './farm';

/** How often, and how many times, the panel asks again for statuses still being checked
 * (the server answers from its cache, so asking is cheap; an emulated board's first
 * check can take a minute on a busy machine). */
const RETRY_MS = 4000;
const MAX_RETRIES = 45;

/** How often a check's line counts its seconds. */
const TICK_MS = 1000;

/** The sidebar tab's icon: a chip with its pins, in the theme's icon colour. */
export const boardIcon = new LabIcon({
  name: 'edge-workbench:board',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<path fill-rule="evenodd" d="M6 6h12v12H6zm3 3v6h6V9z"/>' +
    '<path d="M8 2h2v3H8zM11 2h2v3h-2zM14 2h2v3h-2zM8 19h2v3H8zM11 19h2v3h-2zM14 19h2v3h-2z' +
    'M2 8h3v2H2zM2 11h3v2H2zM2 14h3v2H2zM19 8h3v2h-3zM19 11h3v2h-3zM19 14h3v2h-3z"/>' +
    '</g></svg>'
});

/** One device as GET /workbench/api/devices lists it. */
export interface IDeviceEntry {
  name: string;
  kind: string;
  notes?: string;
  status?: IDeviceStatus | null;
  /** a check is under way: the status is the last known one */
  checking?: boolean;
}

/** A device's status as the server caches it. */
export interface IDeviceStatus {
  state: string;
  reachable: boolean;
  message?: string | null;
  busy?: boolean;
  /** who holds the board (a job's "user@host") and that job's id */
  holder?: string | null;
  holder_job?: string | null;
  /** jobs waiting for the board */
  queue?: number;
  target?: string | null;
  runtimes?: string[];
  checked?: number;
  /** the refused host key's fingerprint (state "unknown host key") */
  fingerprint?: string;
}

/** A request to /workbench/api/...; JSON in and out, errors with what to do next. */
export async function requestAPI<T>(
  settings: ServerConnection.ISettings,
  path: string[],
  init: RequestInit = {}
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'workbench', 'api', ...path.map(encodeURIComponent));
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch {
    throw new Error('the Jupyter server does not answer — check that it still runs, then refresh');
  }
  const body = await response.text();
  const data = parsed(body);
  if (!response.ok || data === undefined) {
    throw new Error(apiErrorText(response.status, response.statusText, body));
  }
  return data as T;
}

/** An error's message without the "Error: " a template string puts before it. */
function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** The text a status shows. */
export function statusText(status: IDeviceStatus | null | undefined): string {
  if (!status) {
    return 'checking…';
  }
  const parts = [status.busy && status.holder ? `busy, held by ${status.holder}` : status.state];
  if (status.queue) {
    parts.push(`${status.queue} waiting`);
  }
  if (status.target) {
    parts.push(status.target);
  }
  if (status.runtimes && status.runtimes.length) {
    parts.push(status.runtimes.join(', '));
  }
  return parts.join(' · ');
}

export interface IDevicesPanelOptions {
  settings: ServerConnection.ISettings;
  newNotebook: (device: string) => void;
}

/** The sidebar panel. */
export class DevicesPanel extends Widget {
  constructor(private _options: IDevicesPanelOptions) {
    super();
    this.id = 'edge-workbench-devices';
    this.addClass('jp-WbDevices');
    this.title.icon = boardIcon;
    this.title.caption = 'Edge Workbench devices';
    const header = el('div', 'jp-WbDevices-header');
    header.appendChild(el('h3', '', 'Devices'));
    const refresh = el('button', 'jp-mod-styled jp-WbDevices-refresh', 'refresh');
    refresh.title = 'Check every device again';
    refresh.addEventListener('click', () => void this.refresh(true));
    header.appendChild(refresh);
    this._status = el('div', 'jp-WbDevices-status');
    this._list = el('ul', 'jp-WbDevices-list');
    this._farm = el('div', 'jp-WbDevices-farm');
    this.node.append(header, this._status, this._list, this._farm);
  }

  /** Fetch the list (the server's cached statuses, or fresh ones with `force`). */
  async refresh(force = false): Promise<void> {
    window.clearTimeout(this._again);
    if (force) {
      this._retries = 0;
    }
    // a list on screen stays, with its line, until the answer replaces them (no flicker)
    this._status.textContent = pendingStatus(this._listed ? this._status.textContent : null, force);
    // the farm's places come beside the devices; a server without a farm shows no section
    void requestAPI<IFarmView>(this._options.settings, force ? ['farm', 'refresh'] : ['farm'], {
      method: force ? 'POST' : 'GET'
    })
      .then(farm => this._showFarm(farm))
      .catch(reason => this._farm.replaceChildren(el('div', 'jp-WbDevices-message', `Cannot show the farm: ${message(reason)}`)));
    try {
      const answer = force
        ? await requestAPI<{ devices: IDeviceEntry[] }>(this._options.settings, ['devices', 'refresh'], {
            method: 'POST'
          })
        : await requestAPI<{ devices: IDeviceEntry[] }>(this._options.settings, ['devices']);
      this._since = checkStarts(this._since, answer.devices, Date.now());
      this._list.replaceChildren(...answer.devices.map(d => this._item(d)));
      this._listed = true;
      this._tickWhileChecking();
      const waiting = answer.devices.filter(isChecking).length;
      this._status.textContent = `${answer.devices.length} device(s)${
        waiting ? `, ${waiting} still being checked` : ''
      }`;
      // slow boards answer later: ask again for the server's cache (it checks no board twice)
      if (waiting && this.isVisible && this._retries++ < MAX_RETRIES) {
        this._again = window.setTimeout(() => void this.refresh(), RETRY_MS);
      } else if (!waiting) {
        this._retries = 0;
      } else if (this._retries > MAX_RETRIES) {
        // no more asking: the counters would climb with nothing being asked
        this._countingLines().forEach(line =>
          this._stopChecking(line, 'still being checked: refresh to ask again')
        );
      }
    } catch (reason) {
      this._status.textContent = `Cannot list devices: ${message(reason)}`;
    }
  }

  protected onAfterShow(): void {
    this._retries = 0;
    void this.refresh();
  }

  /** A hidden or closed panel counts nothing and asks nothing; showing it again refreshes. */
  protected onAfterHide(): void {
    this._stopTimers();
  }

  dispose(): void {
    this._stopTimers();
    super.dispose();
  }

  private _stopTimers(): void {
    window.clearInterval(this._ticker);
    this._ticker = 0;
    window.clearTimeout(this._again);
  }

  /** The device lines counting the seconds of a check under way. */
  private _countingLines(): NodeListOf<HTMLElement> {
    return this.node.querySelectorAll<HTMLElement>('.jp-WbDevices-detail[data-checking-since]');
  }

  /** A check that ended without an answer: its line stops counting and says why. */
  private _stopChecking(detail: HTMLElement | null, text: string): void {
    if (detail) {
      delete detail.dataset.checkingSince;
      detail.textContent = text;
    }
  }

  private _item(device: IDeviceEntry): HTMLLIElement {
    const item = el('li', 'jp-WbDevices-item');
    item.dataset.device = device.name;
    item.dataset.kind = device.kind;
    const state = device.status ? device.status.state : 'unknown';
    const dot = el('span', `jp-WbDevices-dot jp-WbDevices-${state.replace(/[^a-z]+/g, '-')}`);
    const name = el('span', 'jp-WbDevices-name', device.name);
    const kind = el('span', 'jp-WbDevices-kind', device.kind);
    const open = el('button', 'jp-WbDevices-new', 'new notebook for this device');
    open.title = `A starter notebook for ${device.name}`;
    open.addEventListener('click', () => this._options.newNotebook(device.name));
    const line = el('div', 'jp-WbDevices-line');
    line.append(dot, name, kind);
    const detail = el('div', 'jp-WbDevices-detail', statusText(device.status));
    if (isChecking(device)) {
      this._showChecking(detail, device);
    }
    item.append(line, detail);
    const notStarted = !!device.status && device.status.state === 'not started';
    if (device.status && device.status.message && !notStarted) {
      item.appendChild(el('div', 'jp-WbDevices-message', device.status.message));
    }
    if (notStarted && !device.checking) {
      // an emulated board is checked only when asked for: its check starts qemu-user
      const check = el('button', 'jp-WbDevices-new jp-WbDevices-check', 'check');
      check.title = `Probe ${device.name} now: an emulated board is checked only when asked for (tens of seconds)`;
      check.addEventListener('click', () => void this._check(device.name, item));
      item.appendChild(check);
    }
    const fingerprint = device.status && device.status.fingerprint;
    if (fingerprint) {
      // the user compares this with the board's own key before trusting it
      const trust = el('button', 'jp-WbDevices-new jp-WbDevices-trust', `trust host key ${fingerprint}`);
      trust.addEventListener('click', () => void this._trust(device.name, fingerprint));
      item.appendChild(trust);
    }
    item.appendChild(open);
    return item;
  }

  private _showFarm(farm: IFarmView): void {
    const nodes = farmLines(farm).map(line => {
      if (line.kind === 'heading') {
        return el('h3', 'jp-WbDevices-farmHeading', line.text);
      }
      const item = el('div', `jp-WbDevices-farm-${line.kind}`, line.text);
      if (line.place) {
        item.dataset.place = line.place;
      }
      if (line.stale) {
        item.classList.add('jp-mod-stale');
        item.appendChild(el('div', 'jp-WbDevices-message', line.stale));
      }
      return item;
    });
    this._farm.replaceChildren(...nodes);
  }

  /** Show `detail` as a check under way; the ticker counts its seconds. */
  private _showChecking(detail: HTMLElement, device: IDeviceEntry): void {
    const since = this._since.get(device.name) ?? Date.now();
    this._since.set(device.name, since);
    detail.dataset.checkingSince = String(since);
    detail.dataset.kind = device.kind;
    detail.dataset.name = device.name;
    detail.textContent = checkingText(device.name, device.kind, Date.now() - since);
  }

  /** Count the seconds of every check on screen, once a second, while there is one. */
  private _tickWhileChecking(): void {
    if (this._ticker) {
      return;
    }
    this._ticker = window.setInterval(() => {
      const lines = this._countingLines();
      if (lines.length === 0) {
        window.clearInterval(this._ticker);
        this._ticker = 0;
        return;
      }
      lines.forEach(line => {
        const { name = '', kind = '', checkingSince = '0' } = line.dataset;
        line.textContent = checkingText(name, kind, Date.now() - Number(checkingSince));
      });
    }, TICK_MS);
  }

  private async _check(name: string, item: HTMLLIElement): Promise<void> {
    const detail = item.querySelector<HTMLElement>('.jp-WbDevices-detail');
    if (detail) {
      this._showChecking(detail, { name, kind: item.dataset.kind || '' });
      this._tickWhileChecking();
    }
    try {
      await requestAPI(this._options.settings, ['devices', name, 'status']);
      await this.refresh();
    } catch (reason) {
      this._status.textContent = `Cannot check ${name}: ${message(reason)}`;
      this._stopChecking(detail, 'not checked: see the line above; check again to retry');
    }
  }

  private async _trust(name: string, fingerprint: string): Promise<void> {
    try {
      await requestAPI(this._options.settings, ['devices', name, 'trust'], {
        method: 'POST',
        body: JSON.stringify({ fingerprint })
      });
      await this.refresh();
    } catch (reason) {
      this._status.textContent = `Cannot trust the key of ${name}: ${message(reason)}`;
    }
  }

  private _status: HTMLDivElement;
  private _list: HTMLUListElement;
  private _farm: HTMLDivElement;
  private _again = 0;
  /** a list has been shown */
  private _listed = false;
  /** when each device's check began, as this panel saw it */
  private _since = new Map<string, number>();
  private _ticker = 0;
  private _retries = 0;
}
