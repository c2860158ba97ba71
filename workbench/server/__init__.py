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

from jupyter_server.extension.application import ExtensionApp


class WorkbenchServer(ExtensionApp):
    """The extension as jupyter_server loads it: routes on start, the status checks
    stopped on shutdown (the server awaits :meth:`stop_extension`)."""

    name = "workbench.server"
    load_other_extensions = True

    def initialize_handlers(self) -> None:
        """Add the routes under the server's base URL."""
        from workbench.server.handlers import setup_handlers

        assert self.serverapp is not None  # linked by jupyter_server before this runs
        web_app = self.serverapp.web_app
        setup_handlers(web_app)
        self.log.info("Edge Workbench: REST endpoints under %sworkbench/api/",
                      web_app.settings.get("base_url", "/"))

    async def stop_extension(self) -> None:
        """Cancel the status checks under way and stop their thread pool (boards that
        hang are not waited for)."""
        from workbench.server.handlers import close_handlers

        if self.serverapp is not None:
            close_handlers(self.serverapp.web_app)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "workbench.server", "app": WorkbenchServer}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # for `jupyter labextension develop`; an installed wheel ships the built
    # extension in share/jupyter/labextensions/edge-workbench instead
    return [{"src": "../labextension", "dest": "edge-workbench"}]
