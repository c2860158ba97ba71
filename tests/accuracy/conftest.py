"""Models built here with onnx.helper: outputs holding NaN and Inf; a chain of convolutions
whose middle layer can be edited, and its diff=True profiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import workbench as wb


def special_values_model(path: Path, size: int = 4) -> Path:
    """``root`` = Sqrt(x) (NaN where x < 0) and ``inverse`` = 1 / (x - x) (+Inf everywhere)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Sqrt", ["x"], ["root"], name="sqrt"),
             helper.make_node("Sub", ["x", "x"], ["zero"], name="sub"),
             helper.make_node("Reciprocal", ["zero"], ["inverse"], name="reciprocal")]
    graph = helper.make_graph(
        nodes, "special_values",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, size, size])],
        [helper.make_tensor_value_info("root", TensorProto.FLOAT, [1, size, size]),
         helper.make_tensor_value_info("inverse", TensorProto.FLOAT, [1, size, size])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return special_values_model(tmp_path_factory.mktemp("nan") / "special_values.onnx")


# On x86 onnxruntime's "all" level moves convolutions into its blocked NCHWc layout, whose
# tensors are listed as skipped; "extended" keeps them comparable (fusions included).
EXTENDED = {"graph_optimization_level": "extended"}


def conv_chain(path: Path, perturbed: str | None = None) -> Path:
    """Three Conv+Relu blocks, a pooling head; weights seeded. ``perturbed`` names the Conv
    whose weights are edited (a sign flipped on a quarter of them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(19)
    nodes, weights, previous, channels = [], [], "x", 3
    for index in range(3):
        name = f"conv{index}"
        w = (rng.standard_normal((8, channels, 3, 3)) * 0.3).astype(np.float32)
        if name == perturbed:
            w.reshape(-1)[::4] *= -1.0
        weights.append(numpy_helper.from_array(w, f"{name}.weight"))
        nodes += [helper.make_node("Conv", [previous, f"{name}.weight"], [f"{name}.y"], name=name,
                                   pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"{name}.y"], [f"relu{index}.y"], name=f"relu{index}")]
        previous, channels = f"relu{index}.y", 8
    nodes += [helper.make_node("GlobalAveragePool", [previous], ["pooled"], name="pool"),
              helper.make_node("Flatten", ["pooled"], ["logits"], name="flatten")]
    graph = helper.make_graph(
        nodes, "conv_chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("chain")
    return conv_chain(folder / "clean.onnx"), conv_chain(folder / "edited.onnx", "conv1")


def _diff_run(model: Path | wb.Model) -> wb.Profile:
    return wb.profile(model if isinstance(model, wb.Model) else str(model), options=EXTENDED,
                      warmup=0, runs=1, profile_runs=1, diff=True, keep_outputs=True)


@pytest.fixture(scope="session")
def edited_profile(models: tuple[Path, Path]) -> wb.Profile:
    return _diff_run(models[1])


@pytest.fixture(scope="session")
def clean_profile(models: tuple[Path, Path]) -> wb.Profile:
    return _diff_run(models[0])
