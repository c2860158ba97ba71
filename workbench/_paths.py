"""Where Edge Workbench keeps its files on the host.

Each folder can be moved with an environment variable (tests point them at a
temporary folder): ``WORKBENCH_CACHE_DIR``, ``WORKBENCH_CONFIG_DIR``,
``WORKBENCH_DATA_DIR``. Otherwise platformdirs picks the usual place.
"""

from __future__ import annotations

import os
from pathlib import Path


def _dir(variable: str, kind: str) -> Path:
    override = os.environ.get(variable)
    if override:
        return Path(override)
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("workbench"))


def cache_dir() -> Path:
    """Built zoo models, content-addressed model copies, locks."""
    return _dir("WORKBENCH_CACHE_DIR", "cache")


def config_dir() -> Path:
    """The device registry and user settings."""
    return _dir("WORKBENCH_CONFIG_DIR", "config")


def data_dir() -> Path:
    """Saved profiles (history)."""
    return _dir("WORKBENCH_DATA_DIR", "data")
