"""The emulated Raspberry Pi 5, started once per test module that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import workbench as wb
from workbench import emulator
from workbench.devices.base import Device


@pytest.fixture(scope="module")
def pi5() -> Iterator[Device]:
    try:
        emulator.check_supported()
    except emulator.EmulatorUnavailable as exc:
        pytest.skip(f"no emulated board here: {exc}")
    if not emulator.is_built():
        emulator.build()
    state = emulator.start("raspberry-pi-5")
    try:
        yield wb.connect(state["device"])
    finally:
        emulator.stop("raspberry-pi-5")
