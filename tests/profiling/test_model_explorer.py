"""Profile.to_model_explorer: per-node data whose node ids are the ONNX adapter's own.

The ids are checked against ``model-explorer-onnx``'s conversion of the very
model that was profiled (its ``ONNXAdapter.convert``, as Model Explorer runs
it), on a real onnxruntime profile made on this machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

import workbench as wb
from tests.conftest import conv_relu_model
from workbench.errors import InvalidOptionValue, ProfileError


def _adapter_graph(path: Path) -> dict[str, str]:
    """Node id -> label of the main graph, as Model Explorer's ONNX adapter builds it."""
    from model_explorer_onnx.main import ONNXAdapter

    graphs = ONNXAdapter().convert(str(path), {})["graphs"]
    return {node.id: node.label for node in graphs[0].nodes}


def _namespaced_model(path: Path) -> Path:
    """A branchy model whose node names carry '/' scopes, as exporters write them."""
    model = onnx.load(conv_relu_model(path))
    graph = model.graph
    for node in graph.node:
        node.name = f"/backbone/block{0 if node.name.endswith('1') else 1}/{node.name}"
    graph.output[0].name = "pooled"
    graph.node[-1].output[0] = "pooled"
    graph.node.append(helper.make_node("Sigmoid", ["pooled"], ["gate"], name="/head/gate"))
    graph.node.append(helper.make_node("Mul", ["pooled", "gate"], ["y"], name="/head/scale"))
    graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 1, 1]))
    del graph.output[0]
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, wb.Profile]:
    path = _namespaced_model(tmp_path_factory.mktemp("mx") / "scoped.onnx")
    return path, wb.profile(path, warmup=1, runs=3, profile_runs=2)


def test_every_node_id_is_one_the_onnx_adapter_gives_the_model(
        profiled: tuple[Path, wb.Profile], tmp_path: Path) -> None:
    path, profile = profiled
    document = profile.to_model_explorer(tmp_path / "times.json")
    adapter = _adapter_graph(path)
    ops = {node_id for node_id, label in adapter.items()
           if label not in ("Input", "Output", "Initializer")}
    assert set(document["results"]) == ops
    assert json.loads((tmp_path / "times.json").read_text()) == document


def test_a_node_carries_the_median_of_the_layer_that_ran_it(
        profiled: tuple[Path, wb.Profile]) -> None:
    _, profile = profiled
    results = profile.to_model_explorer()["results"]
    for layer in profile.layers:
        for node in layer.get("original_nodes") or []:
            if node in results and layer["duration_us"]["median"] is not None:
                # the first row that covers a node gives its value
                first = next(row for row in profile.layers if node in row["original_nodes"])
                assert results[node]["value"] == first["duration_us"]["median"]
    assert all(item["value"] >= 0 for item in results.values())


def test_shares_and_macs_can_be_overlaid_instead(profiled: tuple[Path, wb.Profile]) -> None:
    _, profile = profiled
    shares = profile.to_model_explorer(value="share")
    assert "share of all layers" in shares["name"]
    assert 0 < sum(item["value"] for item in shares["results"].values()) <= len(shares["results"])
    macs = profile.to_model_explorer(value="macs")["results"]
    topology = {node["name"]: node["macs"] for node in profile.document["topology"]["nodes"]}
    assert {name: item["value"] for name, item in macs.items()} == \
        {name: float(m) for name, m in topology.items() if m is not None}


def test_an_unknown_value_is_refused_and_no_file_is_written(
        profiled: tuple[Path, wb.Profile], tmp_path: Path) -> None:
    _, profile = profiled
    with pytest.raises(InvalidOptionValue, match="'latency'") as caught:
        profile.to_model_explorer(tmp_path / "x.json", value="latency")
    assert "time, share, macs" in caught.value.hint
    assert list(tmp_path.iterdir()) == []


def test_a_path_in_a_missing_folder_raises_and_leaves_nothing(
        profiled: tuple[Path, wb.Profile], tmp_path: Path) -> None:
    _, profile = profiled
    with pytest.raises(ProfileError, match="Cannot write the file") as caught:
        profile.to_model_explorer(tmp_path / "no" / "such" / "folder" / "x.json")
    assert "no/such/folder" in (caught.value.where or "")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_file_already_there(
        profiled: tuple[Path, wb.Profile], tmp_path: Path) -> None:
    _, profile = profiled
    target = tmp_path / "saved.json"
    target.mkdir()  # a folder where the file would go: the rename fails
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ProfileError):
        profile.to_model_explorer(target)
    assert (target / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved.json"]


def test_a_profile_without_layer_rows_has_nothing_to_overlay(
        profiled: tuple[Path, wb.Profile]) -> None:
    _, profile = profiled
    bare = wb.Profile({**profile.to_dict(), "layers": []})
    with pytest.raises(ProfileError, match="Nothing to overlay") as caught:
        bare.to_model_explorer()
    assert "macs" in caught.value.hint
