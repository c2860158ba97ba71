"""The ``digits`` zoo model: a small MLP trained on scikit-learn's bundled digits data.

No download: ``sklearn.datasets.load_digits`` ships with scikit-learn. The
split and the training are seeded, so the model is the same on every build
with the same library versions. The ONNX graph reproduces the classifier:
``pixels`` [batch, 64] float32 in 0..1 (the 0..16 pixel values divided by 16)
-> Gemm -> Relu -> Gemm -> ``logits`` -> Softmax -> ``probabilities``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workbench import errors

if TYPE_CHECKING:
    from sklearn.neural_network import MLPClassifier

HIDDEN = 64
SEED = 0
TEST_SIZE = 0.25
PIXEL_SCALE = 16.0


def _sklearn() -> Any:
    try:
        import sklearn.datasets
        import sklearn.model_selection
        import sklearn.neural_network
    except ImportError:
        raise errors.ModelError("The digits model is trained on first use and needs "
                                "scikit-learn, which is not installed", where="zoo:digits",
                                hint="pip install 'edge-workbench[data]'") from None
    return sklearn


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, X_test, y_train, y_test): pixels scaled to 0..1 float32, labels int64."""
    sklearn = _sklearn()
    digits = sklearn.datasets.load_digits()
    x = (digits.data / PIXEL_SCALE).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = sklearn.model_selection.train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SEED, stratify=y)
    return x_train, x_test, y_train, y_test


def digits_test_split() -> tuple[np.ndarray, np.ndarray]:
    """The held-out test split: (X_test float32 [n, 64] in 0..1, y_test int64 [n])."""
    _, x_test, _, y_test = split()
    return x_test, y_test


def train_digits() -> MLPClassifier:
    """The scikit-learn classifier the ONNX model is exported from, trained on the train split."""
    sklearn = _sklearn()
    x_train, _, y_train, _ = split()
    classifier = sklearn.neural_network.MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), activation="relu", max_iter=300, random_state=SEED)
    with warnings.catch_warnings():  # a ConvergenceWarning at max_iter is expected and harmless
        warnings.simplefilter("ignore")
        classifier.fit(x_train, y_train)
    return classifier


def digits() -> onnx.ModelProto:
    """Train the classifier and export it as an ONNX graph (opset 17)."""
    classifier = train_digits()
    _, x_test, _, y_test = split()
    accuracy = float(classifier.score(x_test, y_test))
    (w1, w2), (b1, b2) = classifier.coefs_, classifier.intercepts_
    initializers = [numpy_helper.from_array(np.asarray(a, np.float32), n) for a, n in
                    ((w1, "fc1.weight"), (b1, "fc1.bias"), (w2, "fc2.weight"), (b2, "fc2.bias"))]
    nodes = [
        helper.make_node("Gemm", ["pixels", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1"),
        helper.make_node("Relu", ["fc1"], ["fc1.relu"], name="fc1.relu"),
        helper.make_node("Gemm", ["fc1.relu", "fc2.weight", "fc2.bias"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
    ]
    classes = len(classifier.classes_)
    graph = helper.make_graph(
        nodes, "digits",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes])],
        initializers)
    model = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", 17)],
                                          producer_name="edge-workbench zoo")
    model.doc_string = ("Digits classifier (scikit-learn MLPClassifier, 64-64-10) trained on "
                        "sklearn.datasets.load_digits; input pixels/16")
    helper.set_model_props(model, {"sklearn_test_accuracy": f"{accuracy:.6f}",
                                   "test_split": f"train_test_split(test_size={TEST_SIZE}, "
                                   f"random_state={SEED}, stratify=y)"})
    return model
