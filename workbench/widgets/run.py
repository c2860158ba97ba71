"""The run panel: run settings, Run and Cancel, and a progress line per stage of the job.

The job runs on its own thread (``workbench.submit``); its stage events are
folded into ``panel.stages`` and drawn by a :class:`Throttle`, at most ten
times a second, by setting widget traits only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from workbench import errors
from workbench.widgets._base import (
    ErrorView,
    Throttle,
    esc,
    heading,
    help_html,
    help_text,
    shown_errors,
)

if TYPE_CHECKING:
    from workbench.devices import DeviceInfo
    from workbench.jobs import Job, RunSettings
    from workbench.targets import Target

__all__ = ["STAGE_LABELS", "RunPanel", "stage_detail"]

#: the stages shown, in the order a job passes them, with the words the UI uses
STAGE_LABELS: dict[str, str] = {
    "connect": "connect", "probe": "probe", "upload": "upload", "queue": "queue",
    "load": "load", "create": "create session", "warmup": "warm-up", "timed": "runs",
    "profile": "profile", "aggregate": "aggregate", "point": "point", "download": "download"}
#: what a stage's done/total count
_UNITS = {"upload": "bytes", "download": "bytes", "warmup": "runs", "timed": "runs",
          "profile": "runs", "point": "points"}
CANCEL_HELP = ("Cancel is a message from the browser to the kernel: it is handled while no "
               "cell is running. To stop a cell that waits for a job, interrupt the kernel "
               "(this cancels the job too).")


def stage_detail(event: dict[str, Any]) -> str:
    """One stage event in words: bytes or runs done of total, a queue place, the holder."""
    stage = str(event.get("stage"))
    done, total = event.get("done"), event.get("total")
    if stage == "queue" and event.get("place"):
        holder = f", held by {event['holder']}" if event.get("holder") else ""
        return f"place {event['place']} of {event.get('length', '?')}{holder}"
    if isinstance(done, int) and isinstance(total, int) and total > 0:
        if _UNITS.get(stage) == "bytes":
            from workbench.profiling._text import fmt_bytes

            text = f"{fmt_bytes(done)} of {fmt_bytes(total)}"
            if event.get("rate"):
                text += f" ({fmt_bytes(event['rate'])}/s)"
            return text
        return f"{done} of {total} {_UNITS.get(stage, '')}".rstrip()
    return ""


def _fraction(event: dict[str, Any]) -> float | None:
    done, total = event.get("done"), event.get("total")
    if isinstance(done, int) and isinstance(total, int) and total > 0:
        return min(1.0, done / total)
    return None


class RunPanel(w.VBox):  # type: ignore[misc]
    """Warm-up, runs (a number or ``auto``), profile runs and cluster; Run, Cancel, progress.

    The cluster is a choice among the clusters of the probed device or the
    chosen target (``use_clusters``), plus "big", "little" and "all cores";
    from code, ``RunPanel(cluster=1)`` (any value :func:`workbench.jobs.parse_cluster`
    reads; offered even before a device lists it) or ``panel.cluster.value = ...``
    (one of the values offered).

    ``request`` gives what to run (model, device, backend, options) at each Run
    click; standing alone, the panel runs the keyword arguments it was given.
    ``panel.job`` is the last job; ``panel.wait()`` waits until the panel has
    shown its end. ``on_done(callback)`` is called with each ended job.
    """

    def __init__(self, request: Callable[[], dict[str, Any]] | None = None, *,
                 model: Any = None, device: Any = "local", backend: Any = "onnxruntime",
                 options: dict[str, Any] | None = None, warmup: int | None = None,
                 runs: int | str | None = None, profile_runs: int | None = None,
                 cluster: str | int = "big") -> None:
        from workbench.jobs.settings import RunSettings

        self.errors = ErrorView()
        # counts not given show RunSettings' defaults and stay unset while left as shown, so
        # a device lowers them as it would in Python (an emulated board's shorter runs)
        self._unset = RunSettings()
        warmup = self._unset.warmup if warmup is None else warmup
        runs = self._unset.runs if runs is None else runs
        profile_runs = self._unset.profile_runs if profile_runs is None else profile_runs
        self._given = {"warmup": warmup, "runs": runs, "profile_runs": profile_runs}
        self._request = request or (lambda: {"model": model, "device": device,
                                              "backend": backend, "options": options})
        self.warmup = w.BoundedIntText(value=warmup, min=0, max=10**6, description="warm-up")
        self.runs = w.Text(value=str(runs), description="runs",
                           placeholder="a number, or auto")
        self.profile_runs = w.BoundedIntText(value=profile_runs, min=0, max=10**6,
                                             description="profile runs")
        from workbench.jobs import cluster_choices, parse_cluster

        # the words until a device or a target names its clusters (use_clusters)
        chosen = parse_cluster(cluster)
        self.cluster = w.Dropdown(options=cluster_choices(keep=chosen), value=chosen,
                                  description="cluster")
        self.run_button = w.Button(description="Run", icon="play", button_style="primary")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.state = w.HTML(help_html("idle"))
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0,
                                        layout=w.Layout(width="24em"))
        self.stage_view = w.HTML()
        #: how to stop a job, shown only while one runs
        self.cancel_help = help_text(CANCEL_HELP)
        self.cancel_help.layout.display = "none"
        #: the last job, and its stage events folded: stage -> its last event
        self.job: Job | None = None
        self.stages: dict[str, dict[str, Any]] = {}
        #: when Run was clicked and when its first stage was drawn (time.monotonic())
        self.clicked_at: float | None = None
        self.first_stage_shown_at: float | None = None
        self._settled = threading.Event()
        self._settled.set()
        self._listeners: list[Callable[[Job], object]] = []
        self._fold_lock = threading.Lock()
        self.throttle = Throttle(self._draw)
        guard = shown_errors(self.errors)
        self.run_button.on_click(guard(lambda _b: self.run()))
        self.cancel_button.on_click(guard(lambda _b: self.cancel()))
        super().__init__([
            heading("Run"),
            w.HBox([self.warmup, self.runs]), w.HBox([self.profile_runs, self.cluster]),
            w.HBox([self.run_button, self.cancel_button, self.state]), self.cancel_help,
            self.errors.widget, self.progress, self.stage_view])

    # --- settings ----------------------------------------------------------------------

    def use_clusters(self, source: Target | DeviceInfo | None) -> None:
        """Offer the clusters of ``source`` (a probed device or a catalog target) to choose
        from; the chosen one stays when ``source`` has it, else "big" is chosen."""
        from workbench.jobs import cluster_choices

        options = cluster_choices(source)
        values = [value for _label, value in options]
        current = self.cluster.value
        with self.hold_sync():
            self.cluster.options = options
            self.cluster.value = current if current in values else "big"

    def settings(self) -> RunSettings:
        """The run settings the fields say; InvalidOptionValue for a value they cannot be."""
        from workbench.jobs import RunSettings

        text = self.runs.value.strip().lower()
        runs: int | str
        if text == "auto":
            runs = "auto"
        else:
            try:
                runs = int(text)
            except ValueError:
                raise errors.InvalidOptionValue(f"runs={self.runs.value!r} is not a number",
                                                where="run settings",
                                                hint="Give a whole number, or auto") from None
        counts: dict[str, Any] = {"warmup": self.warmup.value, "runs": runs,
                                  "profile_runs": self.profile_runs.value}
        for name, value in counts.items():
            given = self._given[name]
            if value == given and given is getattr(self._unset, name):
                counts[name] = given  # left as shown: still the unset default
        # RunSettings reads the cluster text itself (parse_cluster): names or an index
        return RunSettings(**counts, cluster=self.cluster.value)

    # --- running -----------------------------------------------------------------------

    def on_done(self, callback: Callable[[Job], object]) -> None:
        """Call ``callback(job)`` when a job ends (on the job's thread); its errors are shown."""
        self._listeners.append(callback)

    def run(self) -> Job:
        """Start a job with the request and the settings; returns it at once."""
        import workbench as wb

        if self.job is not None and not self.job.done:
            raise errors.InvalidOptionValue("A job is still running", where="run panel",
                                            hint="Wait for it, or cancel it first")
        self.clicked_at, self.first_stage_shown_at = time.monotonic(), None
        self.errors.clear()
        request = self._request()
        settings = self.settings()
        if request.get("model") is None:
            raise errors.ModelNotFound("No model chosen", where="run panel",
                                       hint="Load a model first")
        with self._fold_lock:
            self.stages = {}
        self._settled.clear()
        with self.hold_sync():
            self.run_button.disabled, self.cancel_button.disabled = True, False
            self.cancel_help.layout.display = ""
            self.progress.value, self.progress.bar_style = 0.0, ""
            self.stage_view.value = ""
            self.state.value = help_html("starting")
        try:
            job = wb.Job(request["model"], request.get("device") or "local",
                         request.get("backend") or "onnxruntime", request.get("options"),
                         settings=settings, on_event=self._on_event)
            self.job = job
            job.add_done_callback(self._ended)
            job.start()
        except BaseException:
            self._settled.set()
            self._idle_buttons()
            raise
        return job

    def _idle_buttons(self) -> None:
        """Run enabled, Cancel disabled and its help hidden: no job runs."""
        self.run_button.disabled, self.cancel_button.disabled = False, True
        self.cancel_help.layout.display = "none"

    def cancel(self) -> None:
        """Cancel the running job (it ends in whatever stage it is)."""
        if self.job is not None:
            self.job.cancel()
            self.state.value = help_html("cancelling…")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the last job ended and the panel showed its end; False on timeout."""
        return self._settled.wait(timeout)

    # --- events (the job's thread) --------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") != "stage":
            return
        with self._fold_lock:
            self.stages[str(event["stage"])] = event
        self.throttle.request()

    def _ended(self, job: Job) -> None:
        try:
            # The buttons and the results first, as soon as the job ended; the final stage
            # line then waits out the progress interval like every other.
            with self.hold_sync():
                self._idle_buttons()
                if job.error is not None and job.state != "cancelled":
                    self.errors.show(job.error)
            for listener in self._listeners:
                try:
                    listener(job)
                except Exception as exc:  # a callback's error is shown, not lost in a log
                    self.errors.show(exc)
            self.throttle.flush()
        finally:
            self._settled.set()

    def _draw(self) -> None:
        with self._fold_lock:
            stages = dict(self.stages)
        job = self.job
        final = next((s for s in ("done", "failed", "cancelled") if s in stages), None)
        shown = [s for s in STAGE_LABELS if s in stages]
        current = stages.get(shown[-1]) if shown else None
        rows = []
        for stage in shown:
            finished = final == "done" or stage != shown[-1]
            mark = "✓" if finished else ("✗" if final else "…")
            event = stages[stage]
            if finished and isinstance(event.get("total"), int):
                # a stage that ended did all its units, whether or not it said so last
                event = {**event, "done": event["total"]}
            rows.append(f"<tr><td>{mark}</td><td>{esc(STAGE_LABELS[stage])}</td>"
                        f"<td>{esc(stage_detail(event))}</td></tr>")
        state = final or (job.state if job is not None else "idle")
        with self.hold_sync():
            self.stage_view.value = f"<table class='workbench-stages'>{''.join(rows)}</table>"
            self.state.value = f"<b>{esc(state)}</b>"
            fraction = _fraction(current) if current else None
            if final == "done":
                self.progress.value, self.progress.bar_style = 1.0, "success"
            elif final:
                self.progress.bar_style = "danger" if final == "failed" else "warning"
            elif fraction is not None:
                self.progress.value = fraction
        if shown and self.first_stage_shown_at is None:
            self.first_stage_shown_at = time.monotonic()
