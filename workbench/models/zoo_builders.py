"""Builders of the zoo's architecture models, with onnx.helper and seeded random weights.

The graphs follow torchvision's architectures layer by layer (BatchNormalization
kept, not folded), so parameter and MAC counts match the published ones.
Weights are deterministic (numpy's default_rng with a fixed seed) and
variance-preserving: He (Kaiming) normal for convolutions, BatchNormalization
with gamma=1, beta=0, mean=0, var=1, except the last BatchNormalization of
each residual branch, whose gamma is scaled down so the residual sums do not
grow block after block. Every intermediate tensor then stays finite and of
order one on a standard-normal input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
RESIDUAL_GAMMA = 0.5  # gamma of the last BN in a residual branch


class GraphBuilder:
    """Collects nodes and initializers; each node's output tensor is named like the node."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._shared: dict[float, str] = {}

    def constant(self, name: str, array: np.ndarray) -> str:
        """Add an initializer; return its name."""
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def scalar(self, value: float) -> str:
        """A float32 scalar initializer, shared by every node that uses the same value."""
        if value not in self._shared:
            self._shared[value] = self.constant(f"const.{value:g}", np.array(value, np.float32))
        return self._shared[value]

    def node(self, op_type: str, name: str, inputs: list[str], output: str | None = None,
             **attrs: Any) -> str:
        """Add a node named ``name`` with one output, named like the node unless given."""
        output = output or name
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def conv(self, name: str, x: str, cin: int, cout: int, kernel: int, *, stride: int = 1,
             groups: int = 1, bias: bool = False) -> str:
        """Conv with He-normal weights and 'same'-style padding."""
        fan_in = cin // groups * kernel * kernel
        weight = self.rng.standard_normal((cout, cin // groups, kernel, kernel), np.float32)
        weight *= np.float32(np.sqrt(2.0 / fan_in))
        inputs = [x, self.constant(f"{name}.weight", weight)]
        if bias:
            inputs.append(self.constant(f"{name}.bias", np.zeros(cout, np.float32)))
        pad = kernel // 2
        return self.node("Conv", name, inputs, kernel_shape=[kernel, kernel],
                         strides=[stride, stride], pads=[pad] * 4, group=groups)

    def bn(self, name: str, x: str, channels: int, gamma: float = 1.0) -> str:
        """BatchNormalization in inference form: scale=gamma, B=0, mean=0, var=1."""
        inputs = [x] + [self.constant(f"{name}.{part}", np.full(channels, value, np.float32))
                        for part, value in (("weight", gamma), ("bias", 0.0),
                                            ("running_mean", 0.0), ("running_var", 1.0))]
        return self.node("BatchNormalization", name, inputs, epsilon=1e-5)

    def relu6(self, name: str, x: str) -> str:
        """ReLU6 as Clip(x, 0, 6)."""
        return self.node("Clip", name, [x, self.scalar(0.0), self.scalar(6.0)])

    def gemm(self, name: str, x: str, cin: int, cout: int, *, gain: float = 1.0,
             output: str | None = None) -> str:
        """A fully connected layer (PyTorch Linear: weight [out, in], transB=1)."""
        weight = self.rng.standard_normal((cout, cin), np.float32) * np.float32(
            np.sqrt(gain / cin))
        return self.node("Gemm", name, [x, self.constant(f"{name}.weight", weight),
                                        self.constant(f"{name}.bias",
                                                      np.zeros(cout, np.float32))],
                         output=output, transB=1)

    def classifier_head(self, x: str, channels: int, classes: int) -> str:
        """Global average pool, flatten, fully connected (node ``fc``) to ``logits``."""
        pooled = self.node("GlobalAveragePool", "avgpool", [x])
        flat = self.node("Flatten", "flatten", [pooled], axis=1)
        return self.gemm("fc", flat, channels, classes, output="logits")

    def model(self, name: str, doc: str, inputs: list[onnx.ValueInfoProto],
              outputs: list[onnx.ValueInfoProto]) -> onnx.ModelProto:
        """The finished model (opset 17, IR version chosen for the opset)."""
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                              producer_name="edge-workbench zoo")
        model.doc_string = doc
        return model


def _image_io(classes: int = 1000, size: int = 224) -> tuple[list[onnx.ValueInfoProto],
                                                             list[onnx.ValueInfoProto]]:
    return ([helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])])


def mobilenetv2() -> onnx.ModelProto:
    """MobileNetV2-1.0 (torchvision), 224x224, 1000 classes."""
    b = GraphBuilder(seed=2)
    x = b.relu6("stem.relu6", b.bn("stem.bn", b.conv("stem.conv", "input", 3, 32, 3, stride=2),
                                   32))
    cin, index = 32, 0
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]
    for expand, cout, repeats, first_stride in settings:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            p = f"block{index}"
            hidden = cin * expand
            y = x
            if expand != 1:
                y = b.relu6(f"{p}.expand.relu6", b.bn(f"{p}.expand.bn", b.conv(
                    f"{p}.expand.conv", y, cin, hidden, 1), hidden))
            y = b.relu6(f"{p}.dw.relu6", b.bn(f"{p}.dw.bn", b.conv(
                f"{p}.dw.conv", y, hidden, hidden, 3, stride=stride, groups=hidden), hidden))
            residual = stride == 1 and cin == cout
            y = b.bn(f"{p}.project.bn", b.conv(f"{p}.project.conv", y, hidden, cout, 1), cout,
                     gamma=RESIDUAL_GAMMA if residual else 1.0)
            x = b.node("Add", f"{p}.add", [x, y]) if residual else y
            cin, index = cout, index + 1
    x = b.relu6("head.relu6", b.bn("head.bn", b.conv("head.conv", x, cin, 1280, 1), 1280))
    b.classifier_head(x, 1280, 1000)
    return b.model("mobilenetv2", "MobileNetV2-1.0 (torchvision), 224x224, 1000 classes",
                   *_image_io())


def _basic_block(b: GraphBuilder, p: str, x: str, cin: int, cout: int, stride: int) -> str:
    y = b.node("Relu", f"{p}.relu1", [b.bn(f"{p}.bn1", b.conv(f"{p}.conv1", x, cin, cout, 3,
                                                                 stride=stride), cout)])
    y = b.bn(f"{p}.bn2", b.conv(f"{p}.conv2", y, cout, cout, 3), cout, gamma=RESIDUAL_GAMMA)
    return _join(b, p, x, y, cin, cout, stride)


def _bottleneck(b: GraphBuilder, p: str, x: str, cin: int, width: int, stride: int) -> str:
    cout = width * 4
    y = b.node("Relu", f"{p}.relu1", [b.bn(f"{p}.bn1", b.conv(f"{p}.conv1", x, cin, width, 1),
                                           width)])
    y = b.node("Relu", f"{p}.relu2", [b.bn(f"{p}.bn2", b.conv(f"{p}.conv2", y, width, width, 3,
                                                                 stride=stride), width)])
    y = b.bn(f"{p}.bn3", b.conv(f"{p}.conv3", y, width, cout, 1), cout, gamma=RESIDUAL_GAMMA)
    return _join(b, p, x, y, cin, cout, stride)


def _join(b: GraphBuilder, p: str, x: str, y: str, cin: int, cout: int, stride: int) -> str:
    if stride != 1 or cin != cout:
        x = b.bn(f"{p}.downsample.bn", b.conv(f"{p}.downsample.conv", x, cin, cout, 1,
                                              stride=stride), cout, gamma=RESIDUAL_GAMMA)
    return b.node("Relu", f"{p}.relu", [b.node("Add", f"{p}.add", [x, y])])


def _resnet(name: str, bottleneck: bool, blocks: list[int], seed: int) -> onnx.ModelProto:
    b = GraphBuilder(seed=seed)
    x = b.node("Relu", "stem.relu", [b.bn("stem.bn", b.conv("stem.conv", "input", 3, 64, 7,
                                                               stride=2), 64)])
    x = b.node("MaxPool", "stem.maxpool", [x], kernel_shape=[3, 3], strides=[2, 2],
               pads=[1, 1, 1, 1])
    cin = 64
    for stage, repeats in enumerate(blocks):
        width = 64 * 2 ** stage
        for repeat in range(repeats):
            stride = 2 if stage > 0 and repeat == 0 else 1
            p = f"layer{stage + 1}.{repeat}"
            if bottleneck:
                x = _bottleneck(b, p, x, cin, width, stride)
                cin = width * 4
            else:
                x = _basic_block(b, p, x, cin, width, stride)
                cin = width
    b.classifier_head(x, cin, 1000)
    depth = "50" if bottleneck else "18"
    return b.model(name, f"ResNet-{depth} (torchvision v1.5), 224x224, 1000 classes",
                   *_image_io())


def resnet18() -> onnx.ModelProto:
    """ResNet-18 (torchvision), 224x224, 1000 classes."""
    return _resnet("resnet18", False, [2, 2, 2, 2], seed=18)


def resnet50() -> onnx.ModelProto:
    """ResNet-50 (torchvision, stride on the 3x3 conv), 224x224, 1000 classes."""
    return _resnet("resnet50", True, [3, 4, 6, 3], seed=50)


def small_cnn() -> onnx.ModelProto:
    """Three conv blocks and a classifier on 1x3x32x32 (CIFAR-sized), 10 classes."""
    b = GraphBuilder(seed=32)
    x = b.node("Relu", "block1.relu", [b.bn("block1.bn", b.conv("block1.conv", "input", 3, 16, 3),
                                            16)])
    x = b.node("MaxPool", "block1.maxpool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Relu", "block2.relu", [b.bn("block2.bn", b.conv("block2.conv", x, 16, 32, 3), 32)])
    x = b.node("Relu", "block3.relu", [b.bn("block3.bn", b.conv("block3.conv", x, 32, 64, 3,
                                                                   stride=2), 64)])
    b.classifier_head(x, 64, 10)
    return b.model("small-cnn", "Three conv blocks on 1x3x32x32, 10 classes",
                   *_image_io(classes=10, size=32))


def _mlp(batch: int | str, name: str, doc: str) -> onnx.ModelProto:
    b = GraphBuilder(seed=7)
    x = b.node("Relu", "fc1.relu", [b.gemm("fc1", "input", 256, 512, gain=2.0)])
    weight = b.rng.standard_normal((512, 256), np.float32) * np.float32(np.sqrt(2.0 / 512))
    x = b.node("MatMul", "fc2", [x, b.constant("fc2.weight", weight)])
    x = b.node("Add", "fc2.add", [x, b.constant("fc2.bias", np.zeros(256, np.float32))])
    x = b.node("Relu", "fc2.relu", [x])
    b.gemm("fc3", x, 256, 10, output="logits")
    return b.model(name, doc, [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                             [batch, 256])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 10])])


def mlp() -> onnx.ModelProto:
    """256 -> 512 -> 256 -> 10 with Gemm, MatMul+Add and Relu; batch 1."""
    return _mlp(1, "mlp", "MLP 256-512-256-10 (Gemm, MatMul+Add, Relu), batch 1")


def mlp_dynamic() -> onnx.ModelProto:
    """The MLP with a symbolic batch dim named ``batch``."""
    return _mlp("batch", "mlp-dynamic", "MLP 256-512-256-10 with a symbolic batch dim 'batch'")
