"""The backend picker and its options form, generated from the backend's ``describe()``.

Each option becomes a field by its type: a dropdown for choices, number
fields with their minimum, a checkbox, text, or JSON text for lists and
dicts. Each field checks its value with the backend's own
``validate_options`` and shows the message under it. Options whose choices
depend on the device (``Backend.device_choices``, e.g. the execution
providers a board's runtime offers) become multi-selects once a device is probed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from workbench import errors
from workbench.widgets._base import ERROR_TEXT, MUTED, ErrorView, esc, heading, shown_errors

if TYPE_CHECKING:
    from workbench.backends.base import Backend
    from workbench.devices import DeviceInfo

__all__ = ["BackendForm"]

_WIDE = w.Layout(width="32em")
_STYLE = {"description_width": "14em"}


def _field(option: dict[str, Any], device_values: list[Any] | None) -> w.Widget:
    kind, default, name = option["type"], option["default"], option["name"]
    if device_values is not None and kind == "list":
        kept = [v for v in (default or []) if v in device_values]
        return w.SelectMultiple(options=device_values, value=kept, description=name,
                                rows=min(4, max(1, len(device_values))), style=_STYLE,
                                layout=_WIDE)
    if option.get("choices"):
        return w.Dropdown(options=list(option["choices"]), value=default, description=name,
                          style=_STYLE, layout=_WIDE)
    if kind == "bool":
        return w.Checkbox(value=bool(default), description=name, style=_STYLE, indent=True)
    if kind == "int":
        return w.IntText(value=default, description=name, style=_STYLE, layout=_WIDE)
    if kind == "float":
        return w.FloatText(value=default, description=name, style=_STYLE, layout=_WIDE)
    if kind in ("list", "dict"):
        return w.Text(value=json.dumps(default), description=name, style=_STYLE, layout=_WIDE)
    return w.Text(value="" if default is None else str(default), description=name,
                  style=_STYLE, layout=_WIDE)


class BackendForm(w.VBox):  # type: ignore[misc]
    """Choose an installed backend and set its options; ``form.options()`` gives them checked.

    ``form.backend_name`` is the chosen backend, ``form.messages`` the inline
    validation messages by option name (empty when every value is accepted).
    """

    def __init__(self, backend: str = "onnxruntime") -> None:
        from workbench.backends import available

        self.errors = ErrorView()
        names = available()
        self.choice = w.Dropdown(options=names, description="backend",
                                 value=backend if backend in names else names[0])
        self.description = w.HTML()
        self.fields: dict[str, w.Widget] = {}
        self.notes: dict[str, w.HTML] = {}
        #: option name -> the message shown under its field
        self.messages: dict[str, str] = {}
        self.form = w.VBox()
        self._device_info: DeviceInfo | None = None
        self._listeners: list[Callable[[str], object]] = []
        guard = shown_errors(self.errors)
        self.choice.observe(guard(lambda _c: self._build()), names="value")
        super().__init__([heading("Backend"), self.choice, self.errors.widget, self.description,
                          self.form])
        guard(self._build)()

    @property
    def backend_name(self) -> str:
        """The chosen backend's name."""
        return str(self.choice.value)

    @property
    def backend(self) -> Backend:
        """The chosen backend's host half."""
        from workbench.backends import get

        return get(self.backend_name)

    def on_change(self, callback: Callable[[str], object]) -> None:
        """Call ``callback(name)`` when another backend is chosen."""
        self._listeners.append(callback)

    def use_device(self, info: DeviceInfo) -> None:
        """Offer the choices this device allows (rebuilds the form, keeping other values)."""
        typed = {name: (type(field), field.value) for name, field in self.fields.items()}
        self._device_info = info
        self._build()
        for name, (kind, value) in typed.items():
            field = self.fields.get(name)
            # a field that became a list of the device's choices starts from those
            if field is None or type(field) is not kind:
                continue
            allowed = getattr(field, "options", None)
            if allowed is None or all(v in allowed for v in (
                    value if isinstance(value, tuple) else (value,))):
                field.value = value

    def _build(self) -> None:
        self.errors.clear()
        backend = self.backend
        described = backend.describe()
        choices = backend.device_choices(self._device_info) if self._device_info else {}
        self.fields, self.notes, self.messages = {}, {}, {}
        rows = []
        for option in described["options"]:
            field = _field(option, choices.get(option["name"]))
            note = w.HTML()
            self.fields[option["name"]], self.notes[option["name"]] = field, note
            field.observe(shown_errors(self.errors)(
                lambda _c, name=option["name"]: self._check(name)), names="value")
            rows.append(w.VBox([field, w.HTML(
                f"<span style='color:{MUTED};font-size:.85em;margin-left:15em'>"
                f"{esc(option['help'])}"
                + (f" (minimum {esc(option['minimum'])})" if option.get("minimum") is not None
                   else "") + "</span>"), note]))
        with self.hold_sync():
            self.description.value = f"<i>{esc(described.get('description') or '')}</i>"
            self.form.children = rows
        for listener in self._listeners:
            listener(backend.name)

    def _value(self, name: str) -> Any:
        field = self.fields[name]
        if isinstance(field, w.SelectMultiple):
            return list(field.value)
        if isinstance(field, w.Text) and field.value.strip()[:1] in ("[", "{"):
            try:
                return json.loads(field.value)
            except ValueError as exc:
                raise errors.InvalidOptionValue(
                    f"{field.value!r} is not valid JSON ({exc})",
                    where=f"{self.backend_name} option {name!r}",
                    hint='Write a JSON list or object, e.g. ["CPUExecutionProvider"]') from None
        return field.value

    def _check(self, name: str) -> str:
        try:
            self.backend.validate_options({name: self._value(name)})
        except errors.WorkbenchError as exc:
            message = f"{exc.what}. {exc.hint}" if exc.hint else exc.what
        else:
            message = ""
        self.messages = {k: v for k, v in {**self.messages, name: message}.items() if v}
        self.notes[name].value = (f"<span style='color:{ERROR_TEXT};margin-left:15em'>"
                                  f"{esc(message)}</span>" if message else "")
        return message

    def options(self) -> dict[str, Any]:
        """The options that differ from the defaults, checked by the backend.

        Raises the backend's OptionError for the first value it refuses (and shows
        every message inline).
        """
        described = {o["name"]: o for o in self.backend.describe()["options"]}
        bad = [name for name in self.fields if self._check(name)]
        values = {name: self._value(name) for name in self.fields}
        if bad:
            self.backend.validate_options({bad[0]: values[bad[0]]})
        changed = {name: value for name, value in values.items()
                   if value != described[name]["default"]}
        self.backend.validate_options(changed)
        return changed
