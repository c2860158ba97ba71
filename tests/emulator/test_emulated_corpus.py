"""A real exported model from the corpus on the emulated Arm board: the voice-activity model
(an If whose branches hold an LSTM) with its dims fixed and its rate given."""

from __future__ import annotations

import numpy as np

import workbench as wb
from tests.test_corpus import _model
from workbench.devices.base import Device


def test_the_voice_activity_model_runs_on_the_board_as_it_does_here(
        pi5: Device) -> None:
    import onnxruntime as ort

    path = _model("silero-vad")
    model = wb.load_model(path).with_shapes(input="1x512", state="2x1x128")
    audio = np.sin(np.linspace(0, 60, 512, dtype=np.float32))[None]
    state = np.zeros((2, 1, 128), np.float32)
    profile = wb.profile(model, device=pi5, inputs={"input": audio, "state": state, "sr": 16000},
                         warmup=0, runs=1, profile_runs=1, keep_outputs=True)
    document = profile.to_dict()
    assert document["kind"] == "emulated" and document["device"]["arch"] == "aarch64"
    here = ort.InferenceSession(str(path)).run(
        None, {"input": audio, "state": state, "sr": np.array(16000, np.int64)})
    np.testing.assert_allclose(profile.output_values(), here[0],
                               rtol=1e-4, atol=1e-5)
