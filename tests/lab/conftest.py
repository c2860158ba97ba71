"""The lab extension's tests: the build here; the server and the browser in folders of their own.

``server/`` (pytest-jupyter's fixtures) and ``browser/`` (real JupyterLab in
Debian's chromium through Playwright's sync API) each run in a pytest process
of their own, as `.ci/run` does: pytest-jupyter's autouse event-loop fixtures
would otherwise wrap every test of the session, and Playwright's sync API
refuses to start inside a running asyncio loop. A run of the whole suite
leaves them out; name the folder to run one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_OWN_PROCESS = {Path(__file__).parent / "server", Path(__file__).parent / "browser"}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path not in _OWN_PROCESS:
        return None
    asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    wanted = any(path == collection_path or collection_path in path.parents for path in asked)
    return None if wanted else True
