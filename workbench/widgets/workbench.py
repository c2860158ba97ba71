"""The composed notebook UI: model, device, backend, run and results in one widget.

    from workbench.widgets import Workbench
    ui = Workbench()
    ui                      # shows the UI
    ui.model, ui.profile, ui.profiles, ui.job   # the state, for code in later cells
    ui.run(wait=True)       # a run whose profile stays in the notebook as this cell's output

Where results are kept: a Run click shows them in the widgets, live, and
widget state is not what a notebook opened without a kernel shows. An
ordinary output is only kept by the cell whose execution emitted it, and
JupyterLab applies a message to a cell's outputs only while that cell's
request runs (it routes output by the request's future). So a run started
from a cell that waits, ``ui.run(wait=True)``, leaves the profile's MIME
bundle as that cell's output, in every front end; a click also updates a
display output under the UI, which front ends that apply display updates
after a cell ended (VS Code, nbclient) keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from workbench.widgets._base import MUTED, ErrorView, error_html, help_text, shown_errors
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

#: how to keep a run's results in the saved notebook, shown under the Run button
KEEP_HELP = ("A Run click shows its results here. To keep them in the saved notebook, readable "
             "without a kernel, run `ui.run(wait=True)` in a cell: the run shows here as it "
             "goes, and its profile stays as that cell's output (stop it with the kernel "
             "interrupt, as Cancel is not read while a cell runs).")
_PLACEHOLDER_TEXT = ("Workbench: the last Run click's profile replaces this line in front ends "
                     "that update an output after its cell ended (VS Code, nbclient; not "
                     "JupyterLab). Everywhere, `ui.run(wait=True)` in a cell keeps the "
                     "profile as that cell's output.")
_PLACEHOLDER = {"text/plain": _PLACEHOLDER_TEXT,
                "text/html": f"<i style='color:{MUTED}'>{_PLACEHOLDER_TEXT}</i>"}


class Workbench(w.VBox):  # type: ignore[misc]
    """Model, device, backend, run settings and results, each a widget of its own.

    Run starts a job in the background (``ui.job``); the kernel stays free for
    other cells. Each finished run is added to ``ui.profiles`` and shown in
    the results. ``ui.run(wait=True)`` in a cell runs the same job, waits
    in that cell and leaves the profile's MIME bundle (or the error, with
    what, where and hint) as the cell's ordinary output: a saved notebook
    shows it without a kernel or widget state, in JupyterLab, VS Code and
    Colab alike. A Run click also replaces a display output under the UI by
    the profile, where the front end applies display updates after the
    UI's cell ended (VS Code, nbclient); JupyterLab keeps the placeholder
    line there, and only the widgets show the click's result.

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
        # the cluster choices: the probed device's, else the chosen target's
        self.target_picker.choice.observe(guard(self._target_chosen), names="value")
        self.device_picker.choice.observe(guard(self._target_chosen), names="value")
        self.run_panel.on_done(self._job_ended)
        # an estimate is a profile too: shown beside the measurements, comparable with them
        self.target_picker.on_estimate(self.results.add)
        setup = w.Tab(children=[self.model_picker, self.target_picker, self.device_picker,
                                self.backend_form],
                      titles=("Model", "Target", "Device", "Backend"))
        super().__init__([self.errors.widget, setup, self.run_panel, help_text(KEEP_HELP),
                          self.results])

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

    def run(self, wait: bool = False) -> Job:
        """Start a run as the Run button does; returns its job.

        ``wait=True`` waits in the calling cell until the UI showed the end,
        then displays the profile (or the error: what, where, hint) as an
        ordinary output of that cell, which the saved notebook keeps. While
        it waits, the Cancel button is not read (the kernel is busy): the
        kernel interrupt cancels the job, then raises KeyboardInterrupt.
        """
        job = self.run_panel.run()
        if not wait:
            return job
        from IPython.display import HTML, display

        from workbench.jobs.handle import STOP_WAIT_S

        try:
            self.run_panel.wait()
        except KeyboardInterrupt:
            job.cancel()
            job.wait(STOP_WAIT_S)
            raise
        if job.error is not None:
            display(HTML(error_html(job.error)))  # type: ignore[no-untyped-call]
        else:
            display(job.result(0))  # type: ignore[no-untyped-call]
        return job

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
        self.run_panel.use_clusters(info)

    def _target_chosen(self, _change: dict[str, Any]) -> None:
        if self.device_picker.info is None:
            self.run_panel.use_clusters(self.target_picker.target)

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
