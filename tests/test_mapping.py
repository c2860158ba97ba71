"""Mapping executed nodes back to the user's nodes through tensor boundaries."""

from __future__ import annotations

from typing import Any

from workbench.models.mapping import map_executed_nodes


def node(name: str, op: str, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    return {"name": name, "op_type": op, "inputs": inputs, "outputs": outputs}


# x -> conv1 -> c1 -> bn1 -> b1 -> relu1 -> r1 -> conv2 -> c2 -> relu2 -> r2 -> pool -> y
ORIGINAL = {
    "nodes": [
        node("conv1", "Conv", ["x", "w1"], ["c1"]),
        node("bn1", "BatchNormalization", ["c1", "s", "b", "m", "v"], ["b1"]),
        node("relu1", "Relu", ["b1"], ["r1"]),
        node("conv2", "Conv", ["r1", "w2"], ["c2"]),
        node("relu2", "Relu", ["c2"], ["r2"]),
        node("pool", "GlobalAveragePool", ["r2"], ["y"]),
    ],
    "inputs": ["x"],
    "outputs": ["y"],
}


def test_a_fused_node_covers_every_original_node_between_its_boundary_tensors() -> None:
    executed = [node("conv1", "FusedConv", ["x", "w1_folded"], ["r1"]),
                node("conv2", "FusedConv", ["r1", "w2"], ["r2"]),
                node("pool", "GlobalAveragePool", ["r2"], ["y"])]
    mapping = map_executed_nodes(executed, ORIGINAL)
    assert mapping["conv1"]["original_nodes"] == ["conv1", "bn1", "relu1"]
    assert mapping["conv2"]["original_nodes"] == ["conv2", "relu2"]
    assert mapping["pool"] == {"original_nodes": ["pool"], "kind": "compute"}


def test_nchwc_nodes_renamed_after_their_outputs_map_back_and_reorders_are_layout() -> None:
    # As onnxruntime rewrites it on x86: new tensor names, nodes named "<output>_nchwc".
    executed = [node("ReorderInput", "ReorderInput", ["x"], ["reorder_token_0"]),
                node("r1_nchwc", "Conv", ["reorder_token_0", "reorder"], ["reorder_token_1"]),
                node("r2_nchwc", "Conv", ["reorder_token_1", "reorder_1"], ["reorder_token_2"]),
                node("y_nchwc", "GlobalAveragePool", ["reorder_token_2"], ["reorder_token_3"]),
                node("ReorderOutput", "ReorderOutput", ["reorder_token_3"], ["y"])]
    mapping = map_executed_nodes(executed, ORIGINAL)
    assert mapping["r1_nchwc"]["original_nodes"] == ["conv1", "bn1", "relu1"]
    assert mapping["r2_nchwc"]["original_nodes"] == ["conv2", "relu2"]
    assert mapping["y_nchwc"]["original_nodes"] == ["pool"]
    assert mapping["ReorderInput"] == {"original_nodes": [], "kind": "layout"}
    assert mapping["ReorderOutput"] == {"original_nodes": [], "kind": "layout"}


def test_an_unoptimised_graph_maps_one_to_one() -> None:
    mapping = map_executed_nodes(ORIGINAL["nodes"], ORIGINAL)
    assert {name: m["original_nodes"] for name, m in mapping.items()} == {
        n["name"]: [n["name"]] for n in ORIGINAL["nodes"]}


def test_an_original_node_is_never_attributed_to_two_executed_nodes() -> None:
    # A shared subgraph (r1 feeds both branches) is claimed by the first consumer only.
    original = {"nodes": [node("a", "Relu", ["x"], ["t"]), node("b", "Neg", ["t"], ["u"]),
                          node("c", "Abs", ["t"], ["v"])], "inputs": ["x"], "outputs": ["u", "v"]}
    executed = [node("b2", "Neg", ["x"], ["u"]), node("c2", "Abs", ["x"], ["v"])]
    mapping = map_executed_nodes(executed, original)
    covered = mapping["b2"]["original_nodes"] + mapping["c2"]["original_nodes"]
    assert sorted(covered) == ["a", "b", "c"]


def test_a_residual_add_fused_into_an_nchwc_conv_goes_with_that_conv() -> None:
    # As onnxruntime 1.32 rewrites conv1-relu1-conv2-(add r1)-conv3-relu3 on x86: the Add
    # becomes a fourth (sum) input of the NCHWc Conv still named after conv2's output.
    original = {"nodes": [node("conv1", "Conv", ["x", "w1"], ["c1"]),
                          node("relu1", "Relu", ["c1"], ["r1"]),
                          node("conv2", "Conv", ["r1", "w2"], ["c2"]),
                          node("add", "Add", ["c2", "r1"], ["a"]),
                          node("conv3", "Conv", ["a", "w3"], ["c3"]),
                          node("relu3", "Relu", ["c3"], ["y"])],
                "inputs": ["x"], "outputs": ["y"]}
    executed = [node("r1_nchwc", "Conv", ["x", "reorder"], ["reorder_token_0"]),
                node("c2_nchwc", "Conv", ["reorder_token_0", "reorder_token_1", "",
                                          "reorder_token_0"], ["reorder_token_2"]),
                node("y_nchwc", "Conv", ["reorder_token_2", "reorder_token_3"],
                     ["reorder_token_4"]),
                node("ReorderOutput", "ReorderOutput", ["reorder_token_4"], ["y"])]
    mapping = map_executed_nodes(executed, original)
    assert mapping["r1_nchwc"]["original_nodes"] == ["conv1", "relu1"]
    assert mapping["c2_nchwc"]["original_nodes"] == ["conv2", "add"]
    assert mapping["y_nchwc"]["original_nodes"] == ["conv3", "relu3"]
    assert mapping["ReorderOutput"]["kind"] == "layout"
