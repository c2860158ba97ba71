"""The lines a kept connection and its callers exchange over a Unix socket: JSON, one a line.

Defined in :mod:`workbench._kept_link` (outside the device layer, so that a command
that only asks a keeper imports little); the keeper and the kept device take them from here.
"""

from __future__ import annotations

from workbench._kept_link import Lines, error_from_dict, send

__all__ = ["Lines", "error_from_dict", "send"]
