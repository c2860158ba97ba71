"""The composed notebook UI: model, device, backend, run and results in one widget.

    from workbench.widgets import Workbench
    ui = Workbench()
    ui                      # shows the UI
    ui.model, ui.profile, ui.profiles, ui.job   # the state, for code in later cells
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from workbench.widgets._base import ErrorView, shown_errors
from workbench.widgets.backend import BackendForm
from workbench.widgets.device import DevicePicker
from workbench.widgets.model import ModelPicker
from workbench.widgets.results import ResultsView
from workbench.widgets.run import RunPanel
from workbench.widgets.target import TargetPicker

if TYPE_CHECKING:
    from IPython.display import DisplayHandle

    from workbench.devices import Device, DeviceInfo
    from workbench.jobs import Job
    from workbench.models import Model
    from workbench.profiling import Profile

__all__ = ["Workbench"]

_PLACEHOLDER_TEXT = ("Workbench: the last run's profile replaces this line where the front end "
                     "applies display updates after a cell ended (nbclient does; JupyterLab "
                     "does not: there, `ui.profile` in a cell keeps it as an output).")
_PLACEHOLDER = {"text/plain": _PLACEHOLDER_TEXT,
                "text/html": f"<i style='color:#666'>{_PLACEHOLDER_TEXT}</i>"}


class Workbench(w.VBox):  # type: ignore[misc]
    """Model, device, backend, run settings and results, each a widget of its own.

    Run starts a job in the background (``ui.job``); the kernel stays free for
    other cells. Each finished run is added to ``ui.profiles`` and shown in
    the results, and replaces an ordinary output under the UI by the profile's
    MIME bundle (a display update), so a saved notebook shows the last result
    without a kernel or widget state. Front ends that drop display updates for
    a cell that has ended (JupyterLab) keep the placeholder; ``ui.wait()`` or
    ``ui.profile`` in a cell shows the profile as that cell's output.

    ``model``, ``device`` and ``backend`` preselect those parts; ``connection``
    is handed to every board the Device tab connects (see DevicePicker);
    ``export_dir`` is where Export writes; further keywords (``warmup``,
    ``runs``, ``profile_runs``, ``cluster``) fill the run settings.
    """

    def __init__(self, model: str | None = None, device: str = "local",
                 backend: str = "onnxruntime", *, connection: dict[str, Any] | None = None,
                 export_dir: str | Path = ".", **run: Any) -> None:
        self.errors = ErrorView()
        self.model_picker = ModelPicker(model)
        self.device_picker = DevicePicker(device, connection=connection)
        self.backend_form = BackendForm(backend)
        self.target_picker = TargetPicker(model=lambda: self.model_picker.model,
                                          device=lambda: self.device_picker.selected)
        self.run_panel = RunPanel(self._request, **run)
        self.results = ResultsView(export_dir=export_dir)
        self._display: DisplayHandle | None = None
        guard = shown_errors(self.errors)
        self.device_picker.on_probe(guard(self._device_probed))
        self.run_panel.on_done(self._job_ended)
        # an estimate is a profile too: shown beside the measurements, comparable with them
        self.target_picker.on_estimate(self.results.add)
        setup = w.Tab(children=[self.model_picker, self.target_picker, self.device_picker,
                                self.backend_form],
                      titles=("Model", "Target", "Device", "Backend"))
        super().__init__([self.errors.widget, setup, self.run_panel, self.results])

    # --- state for code -------------------------------------------------------------------

    @property
    def model(self) -> Model | None:
        """The loaded model."""
        return self.model_picker.model

    @property
    def device(self) -> Device | str:
        """The device a run goes to: the probed Device, or the chosen name."""
        return self.device_picker.selected

    @property
    def job(self) -> Job | None:
        """The last job started from the UI."""
        return self.run_panel.job

    @property
    def profile(self) -> Profile | None:
        """The last profile a run gave (or the one shown)."""
        return self.results.profile

    @property
    def profiles(self) -> list[Profile]:
        """Every profile of this UI's session, oldest first."""
        return list(self.results.profiles)

    def run(self) -> Job:
        """Start a run as the Run button does; returns its job."""
        return self.run_panel.run()

    def wait(self, timeout: float | None = None) -> Profile | None:
        """Wait until the last run ended and the UI showed it; its profile (None if it failed).

        TimeoutError when it still runs after ``timeout`` seconds.
        """
        if not self.run_panel.wait(timeout):
            raise TimeoutError(f"The run still goes on after {timeout} s; wait longer or cancel")
        job = self.run_panel.job
        return None if job is None or job.error is not None else self.results.profile

    # --- wiring -------------------------------------------------------------------------------

    def _request(self) -> dict[str, Any]:
        return {"model": self.model_picker.model, "device": self.device_picker.selected,
                "backend": self.backend_form.backend_name,
                "options": self.backend_form.options()}

    def _device_probed(self, _device: Device, info: DeviceInfo) -> None:
        self.backend_form.use_device(info)

    def _job_ended(self, job: Job) -> None:
        if job.error is not None:
            return  # the run panel shows it
        profile = job.result(0)
        self.results.add(profile)
        if self._display is not None:
            # update_display sends one message: the output of the cell that showed the UI
            # changes, wherever the kernel is now.
            self._display.update(profile)  # type: ignore[no-untyped-call]

    # --- display ---------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(super()._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]
        self._display = display(_PLACEHOLDER, raw=True,  # type: ignore[no-untyped-call]
                                display_id=True)
