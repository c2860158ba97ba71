"""The device picker: every device the kinds table knows, a form to add a board, its probe.

The list comes from :func:`workbench.devices.known_devices` (local, registry
entries, ~/.ssh/config hosts, emulated boards, plug-in kinds), with no kind
named here. Probing and connecting run on a thread; an unknown host key shows
its fingerprint with a Trust button that trusts exactly the key shown.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
from traitlets import Unicode

from workbench import errors
from workbench.widgets._base import (
    ErrorView,
    esc,
    heading,
    help_html,
    in_background,
    shown_errors,
)

if TYPE_CHECKING:
    from workbench.devices import Device, DeviceInfo

__all__ = ["DevicePicker", "SecretField", "info_html"]


class SecretField(w.Password):  # type: ignore[misc]
    """A password field whose typed value is never echoed back to the front ends.

    ipywidgets echoes every value a browser sends to all views of the widget;
    for a secret that would put it into more widget state than the one field.
    """

    value = Unicode("", help="the typed secret; cleared by the kernel on arrival").tag(
        sync=True, echo_update=False)


def info_html(info: DeviceInfo) -> str:
    """A device's probe as a short table: arch, clusters, runtimes (all text escaped)."""
    clusters = (info.cpu or {}).get("clusters") or []
    cluster_text = ", ".join(
        f"{len(c.get('cores') or []) or '?'}× {c.get('model') or c.get('part') or '?'}"
        + (f" @ {c['max_mhz']} MHz" if c.get("max_mhz") else "") for c in clusters) or "unknown"
    runtimes = ", ".join(
        f"{name} {spec.get('version')}"
        + (f" [{', '.join(map(str, spec.get('providers') or []))}]"
           if spec.get("providers") else "")
        for name, spec in info.runtimes.items() if isinstance(spec, dict) and spec.get("version")
    ) or "none"
    rows = [("device", f"{info.name} ({info.kind}{', emulated' if info.emulated else ''})"),
            ("arch", info.arch), ("clusters", cluster_text), ("cores", info.cores),
            ("python", info.python), ("runtimes", runtimes)]
    return "<table>" + "".join(f"<tr><th style='text-align:left'>{esc(k)}</th>"
                               f"<td style='text-align:left'>{esc(v)}</td></tr>"
                               for k, v in rows) + "</table>"


class DevicePicker(w.VBox):  # type: ignore[misc]
    """Pick a device and probe it, or add a board (host, user, port, key file).

    ``connection`` holds settings given to every ``connect`` from the form
    (e.g. ``known_hosts=[...]`` for a class's shared file). Password and
    passphrase fields are emptied the moment a value arrives: the value is
    kept in this object's memory only, never in widget state a notebook saves.
    ``picker.device`` is the chosen Device, ``picker.info`` its probe,
    ``picker.task`` the last background probe (a Future).
    """

    def __init__(self, device: str = "local", *, connection: dict[str, Any] | None = None
                 ) -> None:
        self.errors = ErrorView()
        self.connection = dict(connection or {})
        self.choice = w.Dropdown(description="device", layout=w.Layout(width="28em"))
        self.refresh_button = w.Button(
            description="Refresh", icon="refresh",
            tooltip="List the devices again (registry, ~/.ssh/config, emulated boards); "
                    "connects to none")
        self.probe_button = w.Button(
            description="Probe", icon="search",
            tooltip="Connect to the chosen device and read its CPU, memory and runtimes "
                    "(seconds on a board, longer on an emulated one)")
        self.info_view = w.HTML()
        # adding a board
        self.name = w.Text(description="name", placeholder="pi5")
        self.host = w.Text(description="host", placeholder="192.168.1.20")
        self.user = w.Text(description="user", placeholder="pi")
        self.port = w.BoundedIntText(value=22, min=1, max=65535, description="port")
        self.key_file = w.Text(description="key file", placeholder="~/.ssh/id_ed25519")
        # continuous_update=False: the value arrives once, on Enter or leaving the field
        self.password = SecretField(description="password", continuous_update=False)
        self.passphrase = SecretField(description="passphrase", continuous_update=False)
        self.secret_state = w.HTML()
        self.remember = w.Checkbox(value=False, indent=False,
                                   description="save in the device registry (never a secret)")
        self.connect_button = w.Button(description="Connect", icon="plug")
        # host keys
        self.host_key = w.HTML()
        self.trust_button = w.Button(description="Trust", icon="check",
                                     layout=w.Layout(display="none"))
        #: the chosen device once connected, its probe, and the last background task
        self.device: Device | None = None
        self.info: DeviceInfo | None = None
        self.task: concurrent.futures.Future[Any] | None = None
        self._secrets: dict[str, str] = {}
        self._shown_fingerprint: str | None = None
        self._trust_device: Device | None = None
        self._listeners: list[Callable[[Device, DeviceInfo], object]] = []

        guard = shown_errors(self.errors)
        self.refresh_button.on_click(guard(lambda _b: self.refresh()))
        self.probe_button.on_click(guard(lambda _b: self.probe()))
        self.connect_button.on_click(guard(lambda _b: self.connect_form()))
        self.trust_button.on_click(guard(lambda _b: self.trust()))
        self.choice.observe(guard(self._chosen), names="value")
        for field in (self.password, self.passphrase):
            field.observe(self._take_secret, names="value")
        form = w.VBox([w.HBox([self.name, self.host]), w.HBox([self.user, self.port]),
                       self.key_file, w.HBox([self.password, self.passphrase]),
                       self.secret_state, self.remember, self.connect_button])
        adding = w.Accordion(children=[form], titles=("Add a board over SSH",))
        adding.selected_index = None
        super().__init__([
            heading("Device"), w.HBox([self.choice, self.refresh_button, self.probe_button]),
            self.errors.widget, w.HBox([self.host_key, self.trust_button]), self.info_view,
            adding])
        guard(self.refresh)(select=device)

    # --- secrets ---------------------------------------------------------------------

    def _take_secret(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if not value:
            return  # our own clearing
        field = change["owner"]
        key = "password" if field is self.password else "passphrase"
        self._secrets[key] = value
        # Cleared in the observer itself: a notebook may be saved at any moment.
        field.value = ""
        held = " and ".join(sorted(self._secrets))
        self.secret_state.value = help_html(f"{held} held in memory only")

    def forget_secrets(self) -> None:
        """Drop the password and passphrase held in memory."""
        self._secrets.clear()
        self.secret_state.value = ""

    # --- listing and choosing ----------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """List the devices the kinds table knows now."""
        from workbench.devices import known_devices

        entries = known_devices(include_ssh_config=True)
        options = [(f"{e['name']} — {e.get('notes') or e.get('kind')}", str(e["name"]))
                   for e in entries]
        current = select or self.choice.value
        names = [value for _label, value in options]
        if current and current not in names:
            options.append((f"{current} — not listed by any device kind", current))
            names.append(current)
        self.choice.options = options
        self.choice.value = current if current in names else (names[0] if names else None)

    def _chosen(self, change: dict[str, Any]) -> None:
        if self.device is not None and self.device.name != change["new"]:
            self.device, self.info = None, None
            self.info_view.value = ""

    def on_probe(self, callback: Callable[[Device, DeviceInfo], object]) -> None:
        """Call ``callback(device, info)`` after each successful probe (on the probe's thread)."""
        self._listeners.append(callback)

    @property
    def selected(self) -> Device | str:
        """What a job runs on: the connected device, or the chosen name."""
        if self.device is not None and self.device.name == self.choice.value:
            return self.device
        return str(self.choice.value or "local")

    # --- background work -----------------------------------------------------------------

    def probe(self) -> concurrent.futures.Future[Any]:
        """Connect to the chosen device and probe it, on a thread."""
        from workbench.devices import connect

        name = self.choice.value
        return self._probe_in_background(lambda: connect(name), f"probing {name}")

    def connect_form(self) -> concurrent.futures.Future[Any]:
        """Connect to the board the form describes, with the secrets held, and probe it."""
        from workbench.devices import connect

        host = self.host.value.strip()
        if not host:
            raise errors.DeviceNotFound("No host given", where="add a board",
                                        hint="Type the board's address or an ~/.ssh/config alias")
        name = self.name.value.strip() or host
        form: dict[str, Any] = {"host": host, "port": self.port.value}
        if self.user.value.strip():
            form["user"] = self.user.value.strip()
        if self.key_file.value.strip():
            form["key_filename"] = self.key_file.value.strip()
        settings = {**self.connection, **form, **self._secrets}
        remember = self.remember.value

        def make() -> Device:
            device = connect(name, **settings)
            if remember:
                from workbench.devices import registry

                # what the form says, without secrets: the registry refuses them anyway;
                # the form that just connected is the newer word on this name, and what
                # the form does not show (a jump host, the board's Python...) is kept
                stored = registry.load().get(name, {})
                kept = {k: v for k, v in stored.items() if k in registry.FIELDS}
                registry.add(name, stored.get("kind", "ssh"), stored.get("notes", ""),
                             replace=True, **{**kept, **form})
            return device

        return self._probe_in_background(make, f"connecting {name}")

    def _probe_in_background(self, make: Callable[[], Device], doing: str
                             ) -> concurrent.futures.Future[Any]:
        self.errors.clear()
        with self.hold_sync():
            self.info_view.value = help_html(f"{doing}…")
            self.host_key.value = ""
            self.trust_button.layout.display = "none"
            self.probe_button.disabled = self.connect_button.disabled = True

        def work() -> DeviceInfo:
            device = make()
            try:
                info = device.probe(refresh=True)
            except errors.UnknownHostKey as exc:
                self._offer_trust(device, exc)
                raise
            self._use(device, info)
            return info

        def finished(future: concurrent.futures.Future[Any]) -> None:
            error = future.exception()
            with self.hold_sync():
                self.probe_button.disabled = self.connect_button.disabled = False
                if error is not None:
                    self.info_view.value = ""
                    self.errors.show(error)

        self.task = in_background(work, "probe")
        self.task.add_done_callback(finished)
        return self.task

    def _offer_trust(self, device: Device, exc: errors.UnknownHostKey) -> None:
        # What the Trust button will trust: the key shown now, never one fetched at click time.
        self._shown_fingerprint, self._trust_device = exc.fingerprint, device
        with self.hold_sync():
            self.host_key.value = (
                f"Unknown host key of <b>{esc(device.name)}</b>: {esc(exc.key_type)} "
                f"<code>{esc(exc.fingerprint)}</code><br>"
                + help_html("Compare it with the board's own (ssh-keygen -lf on the board) "
                            "before trusting it"))
            self.trust_button.layout.display = ""

    @property
    def shown_fingerprint(self) -> str | None:
        """The fingerprint the Trust button would trust, as shown in the UI."""
        return self._shown_fingerprint

    def trust(self) -> concurrent.futures.Future[Any]:
        """Trust the host key that was shown, then probe the device again."""
        device, fingerprint = self._trust_device, self._shown_fingerprint
        if device is None or fingerprint is None:
            raise errors.DeviceError("No host key is waiting to be trusted",
                                     where="device picker", hint="Connect to a board first")
        trust = getattr(device, "trust_host_key", None)
        if trust is None:
            raise errors.DeviceError("This device has no host key to trust",
                                     where=device.name)
        trust(fingerprint)
        self._shown_fingerprint = self._trust_device = None
        return self._probe_in_background(lambda: device, f"probing {device.name}")

    def _use(self, device: Device, info: DeviceInfo) -> None:
        self.device, self.info = device, info
        with self.hold_sync():
            self.host_key.value = ""
            self.trust_button.layout.display = "none"
            if device.name not in [value for _label, value in self.choice.options]:
                self.choice.options = [*self.choice.options,
                                       (f"{device.name} — connected here", device.name)]
            self.choice.value = device.name
            self.device = device  # _chosen may have reset it
            self.info_view.value = info_html(info)
        for listener in self._listeners:
            listener(device, info)
