"""A sweep over model variants (fp32 against int8) and its accuracy-against-latency plot."""

from __future__ import annotations

from pathlib import Path

import pytest

import workbench as wb
from workbench import errors


def test_a_sweep_over_fp32_and_int8_gives_each_variants_accuracy_and_latency(
        models: tuple[Path, Path]) -> None:
    swept = wb.sweep(str(models[0]), over={"model": ["fp32", "int8"]}, warmup=0, runs=3)
    assert [p["model"] for p in swept.points] == ["clean", "clean-int8"]
    int8 = swept.profiles[1].document["model"]
    assert int8["derived_from"]["name"] == "clean"
    table = swept.accuracy()
    assert list(table["model"]) == ["clean", "clean-int8"]
    assert set(table["metric"]) == {"top-1 agreement"}  # logits [1, 8] look like a classifier's
    assert table["accuracy"].iloc[0] == 1.0  # fp32 against itself on the host
    assert "fp32 source" in table["reference"].iloc[1]
    assert (table["median_ms"] > 0).all()
    figure = swept.plot_accuracy()
    labels = [t.get_text() for t in figure.axes[0].texts]
    assert any("clean-int8" in label for label in labels) and len(labels) == 2


def test_a_model_axis_value_that_is_no_model_is_refused(models: tuple[Path, Path]) -> None:
    with pytest.raises(errors.WorkbenchError):
        wb.sweep(str(models[0]), over={"model": ["fp32", "no-such-model.onnx"]}, warmup=0,
                 runs=1)
