"""The bundled models (``zoo:NAME``): built on first use, cached, loaded like any file.

Each model is built deterministically (onnx.helper, seeded weights; ``digits``
is trained with scikit-learn) and written atomically to
``<cache>/zoo/NAME-v<builder version>.onnx``; later loads read that file. A
builder change bumps its version, so a stale file is never used.

Every model has a TFLite twin, ``zoo:NAME.tflite``: built from the ONNX
model by ``workbench.models.tflite.twin`` (same weights and tensor names,
NHWC, BatchNormalization folded, activations fused) and cached beside it as
``NAME-v<version>-twin<twin version>.tflite``. Its MACs equal the ONNX
model's; its params are fewer by one per folded BatchNormalization channel.

The figures below are those of the built graphs, as ``Model`` counts them
(models with a symbolic batch at batch 1); the tests hold them to the built
models and to the published ones.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench._paths import cache_dir

if TYPE_CHECKING:
    import numpy as np
    import onnx

    from workbench.models.model import Model


@dataclass(frozen=True)
class ZooEntry:
    """One bundled model: how to build it and its figures."""

    name: str
    description: str
    builder: str  # "module:function" returning an onnx.ModelProto
    version: int
    params: int
    macs: int


_BUILDERS = "workbench.models.zoo_builders"
ENTRIES: dict[str, ZooEntry] = {e.name: e for e in (
    ZooEntry("mobilenetv2", "MobileNetV2-1.0 (torchvision layout), 1x3x224x224, 1000 classes",
             f"{_BUILDERS}:mobilenetv2", 1, 3_504_872, 300_774_272),
    ZooEntry("resnet18", "ResNet-18 (torchvision layout), 1x3x224x224, 1000 classes",
             f"{_BUILDERS}:resnet18", 1, 11_689_512, 1_814_073_344),
    ZooEntry("resnet50", "ResNet-50 v1.5 (torchvision layout), 1x3x224x224, 1000 classes",
             f"{_BUILDERS}:resnet50", 1, 25_557_032, 4_089_184_256),
    ZooEntry("small-cnn", "three conv blocks on 1x3x32x32, 10 classes; fast",
             f"{_BUILDERS}:small_cnn", 1, 24_346, 2_802_304),
    ZooEntry("mlp", "MLP 256-512-256-10 (Gemm, MatMul+Add, Relu), batch 1; fast",
             f"{_BUILDERS}:mlp", 1, 265_482, 264_704),
    ZooEntry("mlp-dynamic", "the MLP with a symbolic batch dim 'batch' (MACs per sample)",
             f"{_BUILDERS}:mlp_dynamic", 1, 265_482, 264_704),
    ZooEntry("digits", "digits classifier trained on scikit-learn's digits data, input "
             "'pixels' [batch, 64] (MACs per sample)", "workbench.models.zoo_digits:digits", 1,
             4_810, 4_736),
)}


def zoo_names() -> list[str]:
    """Names of the bundled models, for ``zoo:NAME``."""
    return list(ENTRIES)


def _entry(name: str) -> ZooEntry:
    try:
        return ENTRIES[name]
    except KeyError:
        raise errors.UnknownZooModel(f"There is no zoo model named {name!r}",
                                     where=f"zoo:{name}",
                                     hint=f"Known models: {', '.join(zoo_names())}") from None


def cached_path(name: str) -> Path:
    """Where the built model lives (or will live) in the cache."""
    entry = _entry(name)
    return cache_dir() / "zoo" / f"{entry.name}-v{entry.version}.onnx"


def build(name: str) -> onnx.ModelProto:
    """Build the model afresh (no cache)."""
    module, function = _entry(name).builder.split(":")
    proto: onnx.ModelProto = getattr(importlib.import_module(module), function)()
    return proto


def path(name: str) -> Path:
    """The built model's file, built and written atomically on first use."""
    from workbench.models._files import atomic_write

    target = cached_path(name)
    if not target.is_file():
        atomic_write(target, build(name).SerializeToString())
    return target


TFLITE_SUFFIX = ".tflite"


def twin_path(name: str) -> Path:
    """The TFLite twin's file, built from the ONNX model and written atomically on first use."""
    from workbench.models._files import atomic_write
    from workbench.models.tflite.twin import TWIN_VERSION, to_tflite

    entry = _entry(name)
    target = cache_dir() / "zoo" / f"{entry.name}-v{entry.version}-twin{TWIN_VERSION}.tflite"
    if not target.is_file():
        atomic_write(target, to_tflite(load(name)))
    return target


def load(name: str) -> Model:
    """``load_model("zoo:NAME")``: the cached file, loaded and checked like any other.

    ``zoo:NAME.tflite`` loads the model's TFLite twin; its ``reference`` is the ONNX model.
    """
    from workbench.models.loading import load_path

    if name.endswith(TFLITE_SUFFIX):
        from workbench.models.tflite.model import from_bytes

        base = name[:-len(TFLITE_SUFFIX)]
        file = twin_path(base)
        twin = from_bytes(file.read_bytes(), name=name, source=f"zoo:{name}", where=str(file),
                          path=file, reference=lambda: load(base))
        # The twin builder stores every 4-D input NHWC.
        twin.nhwc_inputs = [t.name for t in twin.inputs if t.shape and len(t.shape) == 4]
        return twin
    return load_path(path(name), name=name, source=f"zoo:{name}")


def zoo_info() -> list[dict[str, Any]]:
    """Per model: name, description, params, macs and ``size_bytes`` (None until built)."""
    infos = []
    for entry in ENTRIES.values():
        built = cached_path(entry.name)
        infos.append({"name": entry.name, "description": entry.description,
                      "params": entry.params, "macs": entry.macs,
                      "size_bytes": built.stat().st_size if built.is_file() else None})
    return infos


def digits_test_split() -> tuple[np.ndarray, np.ndarray]:
    """The digits model's held-out test split: (X_test float32 [n, 64], y_test int64 [n])."""
    from workbench.models.zoo_digits import digits_test_split as split

    return split()
