"""The jupyter_server extension behind the lab extension's devices sidebar.

REST endpoints under ``{base_url}workbench/api/`` (see :mod:`workbench.server.handlers`).
The server is a process of its own, apart from the kernels: it knows devices
from the registry, ``~/.ssh/config`` and the emulator (``known_devices()``),
and boards' state from the agent's status tool, never from kernel memory.

Enabled on install by ``etc/jupyter/jupyter_server_config.d/workbench.json``;
by hand: ``jupyter server extension enable workbench.server``.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "workbench.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # for `jupyter labextension develop`; an installed wheel ships the built
    # extension in share/jupyter/labextensions/edge-workbench instead
    return [{"src": "../labextension", "dest": "edge-workbench"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the handlers under the server's base URL."""
    from workbench.server.handlers import setup_handlers

    setup_handlers(server_app.web_app)
    server_app.log.info("Edge Workbench: REST endpoints under %sworkbench/api/",
                        server_app.web_app.settings.get("base_url", "/"))


def _unload_jupyter_server_extension(server_app: Any) -> None:
    """Stop the status checks' thread pool without waiting for boards that hang."""
    from workbench.server.handlers import close_handlers

    close_handlers(server_app.web_app)
