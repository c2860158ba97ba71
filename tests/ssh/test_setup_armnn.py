"""Setting up Arm NN checks the board against what Debian bookworm's arm64 packages need."""

from __future__ import annotations

import pytest

from workbench import errors
from workbench.devices.armnn_setup import board_problems
from workbench.devices.ssh import SSHDevice


def test_the_x86_test_board_is_refused_naming_what_it_is_and_what_is_needed(
        board: SSHDevice) -> None:
    facts = board.board()
    with pytest.raises(errors.UnsupportedPlatform) as caught:
        board.setup("armnn")
    what = caught.value.what
    assert f"the board is {facts['machine']}" in what and "built for aarch64" in what
    assert "bookworm" in (caught.value.hint or "") and "--bundle" in (caught.value.hint or "")
    # Refused before anything moved: no runtime folder on the board.
    code, _, _ = board.exec(["test", "-e", f"{board.cache}/runtime/armnn"])
    assert code != 0


@pytest.mark.parametrize(("facts", "named"), [
    ({"machine": "aarch64", "libc": ["glibc", "2.35"], "version": [3, 10, 12]},
     ["glibc 2.35", "glibc 2.36 or newer", "Python is 3.10"]),  # Ubuntu 22.04
    ({"machine": "aarch64", "libc": ["glibc", "2.39"], "version": [3, 12, 3]},
     ["Python is 3.12", "Python 3.11"]),  # Ubuntu 24.04
    ({"machine": "armv7l", "libc": ["glibc", "2.36"], "version": [3, 11, 2]},
     ["armv7l", "aarch64"]),  # 32-bit Raspberry Pi OS bookworm
])
def test_a_board_outside_bookworm_arm64_is_named_with_what_it_lacks(
        facts: dict[str, object], named: list[str]) -> None:
    problems = "; ".join(board_problems(facts))
    assert all(part in problems for part in named)


def test_a_bookworm_arm64_board_fits() -> None:
    assert board_problems({"machine": "aarch64", "libc": ["glibc", "2.36"],
                           "version": [3, 11, 2]}) == []
