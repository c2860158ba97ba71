"""Package attributes that import their module on first use, so importing a package stays cheap.

A package lists its public names and where each lives, then hands the table to
:func:`attach`, which returns the module-level ``__getattr__`` and ``__dir__``::

    __getattr__, __dir__ = attach(__name__, {"Model": "workbench.models.model"}, __all__)

A value is a module path (the attribute of the same name is taken from it) or a
``(module path, attribute)`` pair; an attribute of ``None`` means the module itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Where = str | tuple[str, str | None]


def attach(package: str, table: Mapping[str, Where], public: Sequence[str]
           ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that load ``table``'s names lazily."""

    def __getattr__(name: str) -> Any:
        try:
            where = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module_name, attribute = (where, name) if isinstance(where, str) else where
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__
