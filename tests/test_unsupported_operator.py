"""An operator the runtime lacks is refused naming the user's file, the node and what to do."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from tests.test_cli import workbench


def custom_op_model(path: Path, domain: str) -> Path:
    """A model whose one node is ``DOMAIN:FancyOp`` named ``fancy_0``."""
    graph = helper.make_graph(
        [helper.make_node("FancyOp", ["x"], ["y"], name="fancy_0", domain=domain)], "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(domain, 1)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_profile_refuses_an_operator_of_an_unknown_domain_naming_the_users_file_and_node(
        tmp_path: Path) -> None:
    model = custom_op_model(tmp_path / "custom.onnx", "com.vendor")
    done = workbench("profile", "custom.onnx", "--out", "r.html", cwd=tmp_path)
    assert done.returncode != 0
    message = " ".join(done.stderr.split())  # rich folds long lines
    assert "com.vendor:FancyOp" in message and "'fancy_0'" in message
    assert "onnxruntime" in message and "custom.onnx" in message
    assert ".cache" not in message and str(model.parent / ".cache") not in message
    assert f"`workbench inspect {model}` lists" in message
    assert "Traceback" not in done.stderr and not (tmp_path / "r.html").exists()


def test_an_operator_the_devices_runtime_lacks_is_translated_naming_the_users_file(
        tmp_path: Path) -> None:
    import workbench as wb
    from workbench import errors

    # com.microsoft is a domain onnxruntime knows, so the host lets the device judge
    model = custom_op_model(tmp_path / "ms.onnx", "com.microsoft")
    with pytest.raises(errors.UnsupportedOperator) as caught:
        wb.profile(str(model), device="local", runs=1, warmup=0, profile_runs=0)
    assert caught.value.where is not None and caught.value.where.startswith(str(model))
    assert "com.microsoft:FancyOp" in caught.value.what
    assert "'fancy_0'" in caught.value.what and "CPUExecutionProvider" in caught.value.what
    assert "workbench inspect" in caught.value.hint


def test_inspect_lists_operators_with_their_domains(tmp_path: Path) -> None:
    done = workbench("inspect", str(custom_op_model(tmp_path / "custom.onnx", "com.vendor")),
                     "--layers")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("com.vendor:FancyOp") == 2  # in the op types and the layers
