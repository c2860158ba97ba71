"""The zoo: published figures, well-behaved activations, the trained digits model, caching."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from workbench.models import Model, load_model, zoo_info, zoo_names
from workbench.models.zoo import ENTRIES, cached_path, digits_test_split

# name: (params, MACs) as published (torchvision's model cards, the MobileNetV2 paper)
PUBLISHED = {"mobilenetv2": (3_504_872, 300e6), "resnet18": (11.69e6, 1.82e9),
             "resnet50": (25.56e6, 4.09e9)}
FAST = ["small-cnn", "mlp", "mlp-dynamic", "digits", "mobilenetv2", "resnet18"]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_models_match_their_published_params_and_macs(
        name: str, zoo_models: dict[str, Model]) -> None:
    params, macs = PUBLISHED[name]
    model = zoo_models[name]
    assert model.params == pytest.approx(params, rel=0.01)
    assert model.macs == pytest.approx(macs, rel=0.01)


def test_mobilenetv2_parameter_count_is_exact(zoo_models: dict[str, Model]) -> None:
    assert zoo_models["mobilenetv2"].params == 3_504_872


@pytest.mark.parametrize("name", zoo_names())
def test_zoo_info_figures_are_those_of_the_built_model(name: str) -> None:
    model = load_model(f"zoo:{name}")
    if model.symbolic_dims:
        model = model.with_shapes(batch=1)
    info = next(i for i in zoo_info() if i["name"] == name)
    assert (info["params"], info["macs"]) == (model.params, model.macs)
    assert info["size_bytes"] == cached_path(name).stat().st_size


def _all_activations(model: Model) -> dict[str, np.ndarray]:
    """Run the model once with every node output added as a graph output."""
    proto = onnx.ModelProto()
    proto.CopyFrom(model.proto)
    declared = {o.name for o in proto.graph.output}
    names = [t for node in proto.graph.node for t in node.output]
    proto.graph.output.extend(onnx.ValueInfoProto(name=t) for t in names if t not in declared)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 2 for d in feed.shape]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    return dict(zip(names, session.run(names, {feed.name: x}), strict=True))


def _check_activations(name: str) -> None:
    model = load_model(f"zoo:{name}")
    activations = _all_activations(model)
    assert len(activations) == len(model.nodes)
    for tensor, value in activations.items():
        assert np.isfinite(value).all(), f"{tensor} has non-finite values"
        assert 1e-3 < float(value.std()) < 1e2, f"{tensor} std {value.std()}"


@pytest.mark.parametrize("name", FAST)
def test_every_intermediate_tensor_is_finite_and_not_degenerate(name: str) -> None:
    _check_activations(name)


@pytest.mark.slow
def test_every_resnet50_tensor_is_finite_and_not_degenerate() -> None:
    _check_activations("resnet50")


def test_digits_in_onnxruntime_reproduces_the_sklearn_accuracy() -> None:
    from workbench.models.zoo_digits import train_digits

    model = load_model("zoo:digits")
    x_test, y_test = digits_test_split()
    assert x_test.dtype == np.float32 and y_test.dtype == np.int64 and x_test.shape[1] == 64
    session = ort.InferenceSession(str(model.runnable_path()), providers=["CPUExecutionProvider"])
    logits, probabilities = session.run(["logits", "probabilities"], {"pixels": x_test})
    accuracy = float((logits.argmax(axis=1) == y_test).mean())
    sklearn_accuracy = float(train_digits().score(x_test, y_test))
    assert accuracy > 0.9
    assert accuracy == pytest.approx(sklearn_accuracy, abs=1 / len(y_test))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    stored = {p.key: p.value for p in model.proto.metadata_props}["sklearn_test_accuracy"]
    assert float(stored) == pytest.approx(sklearn_accuracy, abs=1e-6)


def test_zoo_models_are_named_with_their_input_and_opset_17() -> None:
    for name in ("mobilenetv2", "small-cnn", "mlp"):
        model = load_model(f"zoo:{name}")
        assert model.opset == 17 and model.inputs[0].name == "input"
        assert [t.name for t in model.outputs] == ["logits"]
        assert all(node.name for node in model.nodes)
    assert load_model("zoo:mobilenetv2").inputs[0].shape == [1, 3, 224, 224]
    assert [n.name for n in load_model("zoo:resnet18").nodes][:3] == \
        ["stem.conv", "stem.bn", "stem.relu"]


def test_a_zoo_model_is_built_once_and_then_read_from_the_cache() -> None:
    first = load_model("zoo:small-cnn")
    path = cached_path("small-cnn")
    assert path.parent == Path(os.environ["WORKBENCH_CACHE_DIR"]) / "zoo"
    assert path.name == f"small-cnn-v{ENTRIES['small-cnn'].version}.onnx"
    stamp = path.stat().st_mtime_ns
    again = load_model("zoo:small-cnn")
    assert path.stat().st_mtime_ns == stamp and again.sha256 == first.sha256
    assert first.runnable_path() == path.absolute()
    assert not list(path.parent.glob("*.partial"))


def test_the_zoo_lists_every_model_the_brief_names() -> None:
    assert set(zoo_names()) == {"mobilenetv2", "resnet18", "resnet50", "small-cnn", "mlp",
                                "mlp-dynamic", "digits"}
    assert all(info["description"] for info in zoo_info())
