"""Models that arrive as bytes with a file name: a notebook upload, a browser's file picker.

    m = load_upload(data, "detector.onnx")     # Model named "detector"

An upload travels through the front end's synced state, and a notebook may
save that state, so large files are refused before any work: a path on the
kernel's machine carries any size without copying it through the browser.
"""

from __future__ import annotations

from pathlib import PurePath

from workbench import errors
from workbench.models.loading import load_model
from workbench.models.model import Model

__all__ = ["UPLOAD_LIMIT_BYTES", "check_upload_size", "load_upload", "upload_name"]

#: the largest upload taken (50 MiB); larger models are loaded by path
UPLOAD_LIMIT_BYTES = 50 * 2**20


def upload_name(filename: str) -> str:
    """The model name an uploaded file gives: its file name without folders and suffix."""
    stem = PurePath(filename.replace("\\", "/")).stem
    return stem or "model"


def check_upload_size(size: int, filename: str, limit_bytes: int = UPLOAD_LIMIT_BYTES) -> None:
    """Raise ModelError when an upload of ``size`` bytes is over ``limit_bytes``."""
    if size > limit_bytes:
        raise errors.ModelError(
            f"The uploaded file is {size / 2**20:.1f} MiB, over the upload limit of "
            f"{limit_bytes / 2**20:.0f} MiB", where=f"upload {filename!r}",
            hint="Copy the file next to the notebook and give its path instead: a path is "
            "read on the kernel's machine, without passing through the browser")


def load_upload(data: bytes | memoryview, filename: str, *,
                limit_bytes: int = UPLOAD_LIMIT_BYTES) -> Model:
    """Load an uploaded model file, named after ``filename``; ModelError when it is too large.

    The format (.onnx or .tflite) comes from the bytes, as for any other source.
    """
    check_upload_size(len(data), filename, limit_bytes)
    return load_model(bytes(data), name=upload_name(filename))
