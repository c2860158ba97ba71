"""The model picker: a zoo model (ONNX or its TFLite twin), a path, or an uploaded file."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from workbench.widgets._base import ErrorView, esc, heading, help_text, shown_errors

if TYPE_CHECKING:
    from workbench.models import Model

__all__ = ["ModelPicker"]


class ModelPicker(w.VBox):  # type: ignore[misc]
    """Pick a model: ``zoo:NAME``, a path on the kernel's machine, or an uploaded file.

    The loaded model is ``picker.model``; its summary (layers, params, MACs,
    peak activations, inputs and outputs) shows below. Symbolic input dims get
    a field each; "Fix shapes" replaces the model by ``model.with_shapes(...)``.
    Uploads over the limit (50 MiB, checked by ``load_upload``) are refused with
    a hint to give a path instead; after loading, the upload widget is emptied
    so the file never lands in the saved notebook.
    """

    def __init__(self, model: str | None = None) -> None:
        from workbench.models.upload import UPLOAD_LIMIT_BYTES
        from workbench.models.zoo import TFLITE_SUFFIX, zoo_names

        self.errors = ErrorView()
        names = zoo_names()
        self.zoo = w.Dropdown(options=["", *(f"zoo:{n}" for n in names),
                                       *(f"zoo:{n}{TFLITE_SUFFIX}" for n in names)],
                              value="", description="zoo")
        self.path = w.Text(placeholder="/path/to/model.onnx or .tflite", description="path")
        self.load_button = w.Button(description="Load", icon="folder-open")
        self.upload = w.FileUpload(accept=".onnx,.tflite", multiple=False,
                                   description="Upload")
        self.summary = w.HTML()
        self.dims = w.VBox()
        self.fix_button = w.Button(description="Fix shapes", layout=w.Layout(display="none"))
        #: the loaded model (None until one is loaded)
        self.model: Model | None = None
        self._listeners: list[Callable[[Model], object]] = []

        guard = shown_errors(self.errors)
        self.load_button.on_click(guard(lambda _b: self.load(self._chosen())))
        self.zoo.observe(guard(self._zoo_chosen), names="value")
        self.upload.observe(guard(self._uploaded), names="value")
        self.fix_button.on_click(guard(lambda _b: self.fix_shapes()))
        super().__init__([
            heading("Model"),
            w.HBox([self.zoo, self.path, self.load_button]),
            w.HBox([self.upload, help_text(f"upload up to {UPLOAD_LIMIT_BYTES // 2**20} MiB; "
                                           "larger: give a path")]),
            self.errors.widget, self.summary, w.HBox([self.dims, self.fix_button])])
        if model is not None:
            guard(self.load)(model)

    # --- choosing --------------------------------------------------------------------

    def _chosen(self) -> str:
        return str(self.path.value.strip() or self.zoo.value)

    def _zoo_chosen(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.path.value = ""
            self.load(change["new"])

    def _uploaded(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return  # our own reset below
        from workbench.models.upload import load_upload

        try:
            upload = files[0]  # load_upload refuses one over the limit
            self._use(load_upload(upload["content"], str(upload.get("name") or "upload")))
        except Exception:
            self._still_loaded()
            raise
        finally:
            # The value is synced widget state: left there, the whole file would be
            # saved into the notebook with the widget state.
            self.upload.value = ()

    def on_change(self, callback: Callable[[Model], object]) -> None:
        """Call ``callback(model)`` whenever another model is loaded."""
        self._listeners.append(callback)

    # --- actions ---------------------------------------------------------------------

    def load(self, source: Any) -> Model:
        """Load ``source`` (anything ``load_model`` takes) and show it."""
        from workbench.models import load_model

        if source in ("", None):
            from workbench import errors

            raise errors.ModelNotFound("No model chosen", where="model picker",
                                       hint="Pick a zoo model, give a path or upload a file")
        try:
            return self._use(load_model(source))
        except Exception as exc:
            self._still_loaded()
            rehinted = _picker_hint(exc)
            if rehinted is exc:
                raise
            raise rehinted from exc.__cause__

    def _still_loaded(self) -> None:
        """Say that the model shown is the one loaded before: a failed load changed nothing."""
        if self.model is not None:
            self.summary.value = _summary_html(self.model,
                                               ", still the one loaded: the load above failed")

    def fix_shapes(self) -> Model:
        """Replace the model by one with the symbolic dims fixed to the fields' values."""
        if self.model is None:
            from workbench import errors

            raise errors.ModelNotFound("No model loaded", where="model picker",
                                       hint="Load a model first")
        sizes = {field.description: int(field.value) for field in self.dims.children}
        return self._use(self.model.with_shapes(**sizes))

    def _use(self, model: Model) -> Model:
        self.errors.clear()
        self.model = model
        symbolic = model.symbolic_dims
        with self.hold_sync():
            self.summary.value = _summary_html(model)
            self.dims.children = [w.BoundedIntText(value=1, min=1, max=2**31 - 1,
                                                   description=name) for name in symbolic]
            self.fix_button.layout.display = "" if symbolic else "none"
        for listener in self._listeners:
            listener(model)
        return model


def _picker_hint(exc: Exception) -> Exception:
    """``exc`` with the picker's own next step where the library's default hint sends the
    user to the CLI (`workbench zoo`), though the zoo list is beside the path box."""
    from workbench import errors

    if not isinstance(exc, errors.ModelNotFound) or exc.hint != exc.default_hint:
        return exc
    return exc.with_hint("Check the path, or pick a bundled model from the zoo list beside it")


def _summary_html(model: Model, note: str = "") -> str:
    """The picked model's name and node count (and ``note``), then its summary table."""
    return (f"<div>model: <b>{esc(model.name)}</b> ({len(model.nodes)} nodes){esc(note)}</div>"
            + model._repr_html_())
