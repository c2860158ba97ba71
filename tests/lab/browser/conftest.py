"""Fixtures for the browser tests: a real `jupyter lab` and Debian's chromium (Playwright).

No browser is downloaded: tests/setup.sh installs Debian's `chromium` package.
The lab's log and the screenshots go to the test's output folder (pytest's
temporary directory), whose paths the tests print.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.lab.browser.labserver import CHROMIUM, Lab, running_lab

# expect() waits 5 s by default: too short for a first notebook on a busy 2-core machine
expect.set_options(timeout=30_000)

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed: run `bash tests/setup.sh`",
                allow_module_level=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("lab")
    # Emulated boards (when the emulator's root is built) are listed "not started": the
    # server checks one only when asked for, so they cost the sidebar tests nothing.
    with running_lab(home) as lab:
        yield lab
    print(f"lab log: {lab.log}")
