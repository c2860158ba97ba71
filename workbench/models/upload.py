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

__all__ = ["UPLOAD_LIMIT_BYTES", "load_upload", "upload_name"]

#: the largest upload taken (50 MiB); larger models are loaded by path
UPLOAD_LIMIT_BYTES = 50 * 2**20


def upload_name(filename: str) -> str:
    """The model name an uploaded file gives: its file name without folders and suffix."""
    stem = PurePath(filename.replace("\\", "/")).stem
    return stem or "model"


def load_upload(data: bytes | memoryview, filename: str, *,
                limit_bytes: int = UPLOAD_LIMIT_BYTES) -> Model:
    """Load an uploaded model file, named after ``filename``.

    The one place an upload's size is checked: over ``limit_bytes`` raises
    UploadTooLarge before any parsing. The format (.onnx or .tflite) comes
    from the bytes, as for any other source.
    """
    if len(data) > limit_bytes:
        raise errors.UploadTooLarge(
            f"The uploaded file is {len(data) / 2**20:.1f} MiB, over the upload limit of "
            f"{limit_bytes / 2**20:.0f} MiB", where=f"upload {filename!r}",
            hint="Copy the file next to the notebook and give its path instead: a path is "
            "read on the kernel's machine, without passing through the browser")
    return load_model(bytes(data), name=upload_name(filename))
