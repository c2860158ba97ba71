"""Backend plug-ins, found through the ``workbench.backends`` entry-point group.

Plug-ins load lazily, on first use. One that fails to import gives a warning
naming it and the cause; the others stay available.
"""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint, entry_points

from workbench import errors
from workbench.backends.base import Backend, Option

__all__ = ["Backend", "Option", "available", "get"]

GROUP = "workbench.backends"
_BUILTIN = {"onnxruntime": "workbench.backends.onnxruntime:OnnxRuntimeBackend",
            "litert": "workbench.backends.litert:LiteRtBackend",
            "armnn": "workbench.backends.armnn:ArmNnBackend"}
_loaded: dict[str, Backend] = {}


class BackendPluginWarning(UserWarning):
    """A backend plug-in could not be loaded; the others are still available."""


def _entry_points() -> dict[str, EntryPoint]:
    found = {name: EntryPoint(name, value, GROUP) for name, value in _BUILTIN.items()}
    for entry in entry_points(group=GROUP):
        found[entry.name] = entry
    return found


def available() -> list[str]:
    """Names of the installed backends (built-in and plug-ins), without loading them."""
    return sorted(_entry_points())


def _load(entry: EntryPoint) -> Backend:
    target = entry.load()
    backend = target() if isinstance(target, type) else target
    if not isinstance(backend, Backend):
        raise TypeError(f"{entry.value} is not a workbench Backend")
    if not backend.name:
        backend.name = entry.name
    return backend


def get(name: str) -> Backend:
    """The backend called ``name``; a broken plug-in raises BackendNotFound naming the cause."""
    if name in _loaded:
        return _loaded[name]
    entries = _entry_points()
    if name not in entries:
        raise errors.BackendNotFound(f"No backend called {name!r}", where=f"entry points {GROUP}",
                                     hint=f"Installed backends: {', '.join(sorted(entries))}")
    try:
        backend = _load(entries[name])
    except Exception as exc:  # a plug-in's own bug must not hide the others
        raise errors.BackendNotFound(
            f"The backend plug-in {name!r} failed to load: {type(exc).__name__}: {exc}",
            where=entries[name].value, hint="Reinstall or fix the plug-in package") from exc
    _loaded[name] = backend
    return backend


def load_all() -> dict[str, Backend]:
    """Every backend that loads; a warning for each that does not."""
    loaded = {}
    for name in available():
        try:
            loaded[name] = get(name)
        except errors.BackendNotFound as exc:
            warnings.warn(str(exc), BackendPluginWarning, stacklevel=2)
    return loaded
