"""Loading from every kind of source, external data, node naming and the runnable file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

from tests.conftest import ROOT
from tests.models.conftest import make_model, save, weights
from workbench.models import load_model
from workbench.models.zoo import path as zoo_path


def _bytes_read() -> int:
    """Bytes this process has read through read() calls so far (Linux' rchar)."""
    io = Path("/proc/self/io")
    if not io.exists():
        pytest.skip("needs /proc/self/io to count the bytes read")
    fields = dict(line.split(": ") for line in io.read_text().splitlines())
    return int(fields["rchar"])


def _run(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [np.asarray(out) for out in session.run(None, feeds)]


def test_path_bytes_model_proto_and_zoo_give_the_same_sha256() -> None:
    from_zoo = load_model("zoo:mlp")
    file = zoo_path("mlp")
    expected = hashlib.sha256(file.read_bytes()).hexdigest()
    assert from_zoo.sha256 == expected
    assert load_model(file).sha256 == expected
    assert load_model(str(file)).sha256 == expected
    assert load_model(file.read_bytes()).sha256 == expected
    assert load_model(onnx.load(file)).sha256 == expected


def test_names_come_from_the_file_stem_the_zoo_or_default_to_model(chain_model: Path) -> None:
    assert load_model(chain_model).name == "chain"
    assert load_model(chain_model.read_bytes()).name == "model"
    zoo = load_model("zoo:small-cnn")
    assert (zoo.name, zoo.source) == ("small-cnn", "zoo:small-cnn")


def test_a_named_model_from_a_path_runs_from_its_own_file(chain_model: Path) -> None:
    model = load_model(chain_model)
    assert model.runnable_path() == chain_model.absolute()
    assert model.files() == [chain_model.absolute()]


def test_nameless_nodes_get_unique_op_type_index_names(tmp_path: Path) -> None:
    proto = make_model([helper.make_node("Relu", ["x"], ["a"]),
                        helper.make_node("Relu", ["a"], ["b"]),
                        helper.make_node("Sigmoid", ["b"], ["y"], name="Relu_1")],
                       [("x", [1, 4])], [("y", [1, 4])])
    model = load_model(save(proto, tmp_path / "nameless.onnx"))
    names = [node.name for node in model.nodes]
    assert names == ["Relu_0", "Relu_1_1", "Relu_1"]
    assert proto.graph.node[0].name == ""  # the caller's proto is left alone


def test_a_renamed_model_runs_from_a_cached_copy_with_the_same_names(tmp_path: Path) -> None:
    proto = make_model([helper.make_node("Relu", ["x"], ["a"]),
                        helper.make_node("Neg", ["a"], ["y"])], [("x", [1, 4])], [("y", [1, 4])])
    model = load_model(save(proto, tmp_path / "nameless.onnx"))
    runnable = model.runnable_path()
    assert runnable.parent == Path(os.environ["WORKBENCH_CACHE_DIR"]) / "models"
    assert runnable.name == f"{hashlib.sha256(runnable.read_bytes()).hexdigest()}.onnx"
    assert [n.name for n in onnx.load(runnable).graph.node] == [n.name for n in model.nodes]
    assert model.runnable_path() == runnable
    assert not list(runnable.parent.glob("*.partial"))


def test_a_model_from_bytes_is_written_once_to_the_cache(chain_model: Path) -> None:
    first = load_model(chain_model.read_bytes()).runnable_path()
    again = load_model(chain_model.read_bytes()).runnable_path()
    assert first == again and first.read_bytes() == chain_model.read_bytes()


def _save_external(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, path, save_as_external_data=True, location=f"{path.stem}.data",
              size_threshold=0)
    return path


def test_external_data_is_never_read_and_params_are_counted(tmp_path: Path) -> None:
    proto = make_model([helper.make_node("MatMul", ["x", "W1"], ["h"], name="mm1"),
                        helper.make_node("Relu", ["h"], ["r"], name="relu"),
                        helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], name="fc")],
                       [("x", [1, 1024])], [("y", [1, 10])],
                       {"W1": weights(1024, 1024), "W2": weights(1024, 10), "b2": weights(10)})
    path = _save_external(proto, tmp_path / "big.onnx")
    data_bytes = (tmp_path / "big.data").stat().st_size
    load_model(path)  # warm up: imports read their own files the first time
    before = _bytes_read()
    model = load_model(path)
    assert _bytes_read() - before < data_bytes // 4  # the .onnx, read twice, but not the data
    assert model.params == 1024 * 1024 + 1024 * 10 + 10
    assert model.weight_bytes == 4 * model.params == data_bytes
    assert model.macs == 1024 * 1024 + 1024 * 10
    assert all(t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data
               for t in model.proto.graph.initializer)
    assert model.files() == [path.absolute(), tmp_path.absolute() / "big.data"]


def test_a_renamed_external_data_model_runs_from_the_cache(tmp_path: Path) -> None:
    proto = make_model([helper.make_node("MatMul", ["x", "W"], ["h"]),
                        helper.make_node("Relu", ["h"], ["y"])],
                       [("x", [1, 16])], [("y", [1, 8])], {"W": weights(16, 8)})
    path = _save_external(proto, tmp_path / "ext.onnx")
    model = load_model(path)
    runnable, data = model.files()
    assert runnable.parent.parent == Path(os.environ["WORKBENCH_CACHE_DIR"]) / "models"
    assert data == runnable.parent / "ext.data" and data.is_file() and not data.is_symlink()
    x = weights(1, 16, seed=3)
    np.testing.assert_array_equal(_run(runnable, {"x": x})[0], _run(path, {"x": x})[0])
    assert [n.name for n in onnx.load(runnable, load_external_data=False).graph.node] == \
        ["MatMul_0", "Relu_1"]
    assert onnx.load(path).graph.initializer[0].raw_data  # the user's files still load in onnx


def test_import_workbench_models_loads_no_heavy_module() -> None:
    code = ("import json, sys; import workbench, workbench.models; "
            "print(json.dumps([m for m in ('onnx', 'numpy', 'pandas') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_the_models_public_api_is_pinned() -> None:
    import workbench.models

    assert sorted(workbench.models.__all__) == sorted(
        ["Model", "NodeInfo", "TensorInfo", "load_model", "zoo_info", "zoo_names"])
    assert all(getattr(workbench.models, name) is not None for name in workbench.models.__all__)


@pytest.mark.parametrize("source", ["zoo:mlp", "zoo:small-cnn"])
def test_load_model_returns_a_model_given_a_model(source: str) -> None:
    model = load_model(source)
    assert load_model(model) is model
