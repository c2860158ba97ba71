"""Models: loading, validation, static analysis (shapes, params, MACs, bytes) and the zoo.

    from workbench.models import load_model
    m = load_model("zoo:mobilenetv2")      # or a path, bytes, an onnx.ModelProto
    m.params, m.macs, m.peak_activation_bytes
    m.layers                               # pandas DataFrame, one row per node
    m.with_shapes(batch=1)                 # fix symbolic dims

The names below load on first use: importing this package imports neither
onnx, numpy nor pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import attach

__all__ = ["Model", "NodeInfo", "TensorInfo", "load_model", "zoo_info", "zoo_names"]

_LAZY: dict[str, str] = {
    "Model": "workbench.models.model",
    "NodeInfo": "workbench.models.info",
    "TensorInfo": "workbench.models.info",
    "load_model": "workbench.models.loading",
    "zoo_info": "workbench.models.zoo",
    "zoo_names": "workbench.models.zoo",
}

if TYPE_CHECKING:
    from workbench.models.info import NodeInfo, TensorInfo
    from workbench.models.loading import load_model
    from workbench.models.model import Model
    from workbench.models.zoo import zoo_info, zoo_names


__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
