"""Device.setup where it cannot work (over SSH it can: tests/ssh/test_setup_bundle.py)."""

from __future__ import annotations

import pytest

from workbench import errors
from workbench.devices import LocalDevice


def test_setting_up_the_local_machine_is_a_device_error_that_says_to_use_pip() -> None:
    with pytest.raises(errors.DeviceError, match="local is a local device") as caught:
        LocalDevice().setup("onnxruntime")
    assert "pip" in str(caught.value.hint)
