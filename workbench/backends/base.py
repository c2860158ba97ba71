"""The backend plug-in seam: a host half (this class) and a runner module.

A backend declares its options as data (:class:`Option`), so the same schema
validates input here, is listed by ``workbench backends`` and generates the
widget form. Its runner module is one Python file shipped to the device and
loaded there by the agent (runner API 1, see workbench/formats).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    from workbench.devices.base import DeviceInfo
    from workbench.models import Model

_TYPES: dict[str, tuple[type[Any], ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


@dataclass(frozen=True)
class Option:
    """One backend option: type, default, allowed values and help text."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    #: a dict option whose values are integers, which may be typed ``NAME:N,NAME:N``
    integer_values: bool = False
    #: a value that fits the option, shown by hints for a list or dict (else its default,
    #: when not empty, or a generic one)
    example: Any = None

    def check(self, value: Any, backend: str) -> Any:
        """The value as used, or raise InvalidOptionValue saying what is accepted."""
        where = f"{backend} option {self.name!r}"
        kinds = _TYPES[self.type]
        if isinstance(value, str) and self.type in ("list", "dict"):
            value = self._from_text(value)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise errors.InvalidOptionValue(
                f"{value!r} is not a {self.type}", where=where, hint=self._type_hint())
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise errors.InvalidOptionValue(f"{value!r} is not allowed", where=where,
                                            hint=f"Choose one of {allowed}")
        if self.minimum is not None and value < self.minimum:
            raise errors.InvalidOptionValue(f"{value!r} is below the minimum {self.minimum:g}",
                                            where=where, hint=f"{self.name}: {self.help}")
        return list(value) if self.type == "list" else value

    def _from_text(self, text: str) -> Any:
        """A list or dict typed as plain text (``-o providers=A,B``, ``-o
        free_dimension_overrides=batch:2``): a comma list is a list of strings, ``k:N,k:N`` a
        dict of integers (for an option with ``integer_values``). Any other text comes back as
        it is, to be refused."""
        parts = [part.strip() for part in text.split(",")]
        if self.type == "list":
            return parts if all(parts) else text
        if not self.integer_values:  # its values are not integers: JSON only
            return text
        parsed: dict[str, int] = {}
        for part in parts:
            key, sep, number = part.partition(":")
            try:
                parsed[key.strip()] = int(number)
            except ValueError:
                return text
            if not sep or not key.strip():
                return text
        return parsed

    def _type_hint(self) -> str:
        hint = f"{self.name}: {self.help}"
        if self.type not in ("list", "dict"):
            return hint
        example = self.example or self.default or (["NAME"] if self.type == "list"
                                                   else {"NAME": 1})
        shown = json.dumps(example, separators=(",", ":"))
        if self.type == "list":
            short = " (or A,B: a comma list of names)"
        else:
            short = " (or NAME:N,NAME:N)" if self.integer_values else ""
        return f"{hint}. Give it as JSON, e.g. -o '{self.name}={shown}' on the command line{short}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help,
                "choices": list(self.choices) if self.choices else None, "minimum": self.minimum}


class Backend(ABC):
    """Host half of a backend plug-in."""

    #: the plug-in's name, as used in ``backend="..."``
    name: str = ""
    #: model formats it accepts (file suffixes without the dot)
    formats: tuple[str, ...] = ("onnx",)
    #: the runtime a device needs (a key of DeviceInfo.runtimes)
    runtime: str = ""
    #: the PyPI package that carries the runtime, for pip ("" when pip does not bring it)
    package: str = ""
    #: its options, declaratively
    options: tuple[Option, ...] = ()
    #: one paragraph: what it runs on, and exactly what its per-layer timer covers
    description: str = ""

    def validate_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        """Options with defaults filled in; unknown names or bad values raise OptionError."""
        given = dict(options or {})
        by_name = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(by_name))
        if unknown:
            accepted = ", ".join(sorted(by_name))
            raise errors.UnknownOption(
                f"Unknown option {', '.join(repr(u) for u in unknown)}",
                where=f"backend {self.name!r}", hint=f"Accepted options: {accepted}")
        return {name: option.check(given[name], self.name) if name in given else option.default
                for name, option in by_name.items()}

    def check_device(self, info: DeviceInfo, options: dict[str, Any]) -> None:
        """Raise BackendUnavailable when the device lacks the runtime."""
        if info.runtime_version(self.runtime) is None:
            raise errors.BackendUnavailable(
                f"{self.runtime} is not installed on the device", where=info.name,
                hint=self.install_hint(info))

    def install_hint(self, info: DeviceInfo) -> str:
        """How to bring this backend's runtime to the device, as its kind allows: `device
        setup` for a board over SSH, pip for this machine, a rebuilt root for ``qemu:``."""
        if info.name.startswith("qemu:"):
            return (f"Its root file system lacks {self.runtime}: rebuild it with `workbench "
                    "emulator build --user` (or `workbench emulator build` as root)")
        if info.kind == "local":
            command = f"`pip install {self.package}`" if self.package else "pip"
            return (f"Install {self.runtime} into the Python that runs the agent with "
                    f"{command}, or profile on a board (--device NAME)")
        return (f"Run `workbench device setup {info.name} --backend {self.name}` to install "
                f"a runtime bundle for Python {info.python} on it")

    def require_providers(self, info: DeviceInfo, wanted: list[str], what: str,
                          listed: str) -> None:
        """Raise BackendUnavailable naming the ``wanted`` providers (``what``: "Execution
        provider", "Arm NN backend") that the device's runtime lacks, and the ``listed`` ones
        it has."""
        available = info.providers(self.runtime)
        missing = [p for p in wanted if p not in available]
        if missing:
            raise errors.BackendUnavailable(
                f"{what} {', '.join(missing)} is not available",
                where=f"{info.name}, {self.runtime} {info.runtime_version(self.runtime)}",
                hint=f"Available {listed}: {', '.join(available) or 'none'}")

    def check_model(self, model: Model, options: dict[str, Any]) -> None:
        """Raise UnsupportedOperator, before any upload, for an operator of ``model`` that the
        backend's runtime is known not to have (nothing known here: the device says)."""
        return None

    def device_choices(self, info: DeviceInfo) -> dict[str, list[Any]]:
        """Option name -> the values it can take on this device, for options whose choices
        depend on the device (the execution providers its runtime offers). Forms offer these."""
        return {}

    @abstractmethod
    def prepare(self, model: Model, options: dict[str, Any]) -> list[Path]:
        """The files to ship for ``model`` (the first is the one the runner loads)."""

    @abstractmethod
    def runner_path(self) -> Path:
        """The runner module file the agent loads on the device."""

    def layer_rows(self, result: dict[str, Any], model: Model) -> list[dict[str, Any]]:
        """Per-layer rows of a profile from a runner result (backends may map names)."""
        return list(result.get("layers") or [])

    def placement(self, result: dict[str, Any], model: Model) -> dict[str, str] | None:
        """The model's nodes -> where each ran, as the runtime placed them (the runner
        result's ``placement``; backends whose runner reports it in its own terms map it)."""
        placed = result.get("placement")
        return placed if isinstance(placed, dict) else None

    def describe(self) -> dict[str, Any]:
        """Name, formats, runtime and options, for listings and forms."""
        return {"name": self.name, "description": self.description,
                "formats": list(self.formats), "runtime": self.runtime,
                "options": [o.to_dict() for o in self.options]}
