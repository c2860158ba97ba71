"""The job handle: a profile running in the background, with stages, state, cancel and callbacks.

    job = wb.submit(model, device="pi5", runs=100)   # returns at once
    job.state                                         # "uploading", "waiting", "running", ...
    job.add_done_callback(lambda job: print(job.state))
    job.cancel()                                      # works in every stage
    profile = job.result(timeout=60)                  # or: profile = await job

Callbacks (``on_event`` and done callbacks) run on the job's own thread, not
the caller's: a notebook widget that updates from them must only set state.
Progress events are merged to at most ten a second per stage; the first and
the last event of a stage always come through. An exception raised by a
callback becomes a warning and never stops the job.

``profile()`` is ``submit()`` waited for: Ctrl-C, or a kernel interrupt in a
notebook, cancels the job (the agent stops and the board's lock is freed)
before the KeyboardInterrupt goes on.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.jobs.build import Prepared, execute, prepare, stage_event
from workbench.jobs.settings import RunSettings

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from workbench.backends.base import Backend
    from workbench.devices.base import Device, EventCallback
    from workbench.jobs.settings import RunKeywords
    from workbench.models import Model
    from workbench.profiling import Profile

#: the job's state after each stage
STATES = {"connect": "connecting", "probe": "connecting", "upload": "uploading",
          "queue": "waiting", "load": "running", "create": "running", "warmup": "running",
          "timed": "running", "profile": "running", "aggregate": "running", "point": "running",
          "download": "finishing", "done": "done", "failed": "failed", "cancelled": "cancelled"}
#: states a job never leaves
FINAL_STATES = ("done", "failed", "cancelled")
#: at most this many progress events a second reach callbacks, per stage
MAX_PROGRESS_PER_S = 10
#: how long a cancelled blocking ``profile()`` waits for the job to stop (seconds)
STOP_WAIT_S = 30.0


class Job:
    """One job: ``start()``, ``state``, ``events``, ``cancel()``, ``result()``, ``await job``.

    Built with the same arguments as :func:`profile`; ``submit()`` builds and
    starts one. If the link to a board drops, ``reattach()`` collects the job's
    outcome from its folder on the board once the link is back.
    """

    POLL_S = 0.5

    def __init__(self, model: Model | str | Path, device: Device | str = "local",
                 backend: str | Backend = "onnxruntime", options: dict[str, Any] | None = None,
                 *, inputs: dict[str, Any] | str | Path | None = None,
                 settings: RunSettings | None = None,
                 label: str | None = None, on_event: EventCallback | None = None,
                 cancel: threading.Event | None = None, **run: Unpack[RunKeywords]) -> None:
        self.settings = RunSettings.of(settings, **run)
        self._request = (model, device, backend, options, inputs, label)
        self._on_event = on_event
        #: every event of the job so far (progress merged), oldest first
        self.events: list[dict[str, Any]] = []
        #: host times of the steps the events do not show (see :meth:`steps`)
        self.marks: dict[str, float] = {}
        #: what ``prepare`` made of the request, once the job reached the device
        self.prepared: Prepared | None = None
        self.state = "queued"
        self._cancel = cancel or threading.Event()
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._done_callbacks: list[Callable[[Job], object]] = []
        self._profile: Profile | None = None
        self._error: BaseException | None = None
        self._last_progress: dict[str, float] = {}
        self._warned: set[str] = set()
        self._thread: threading.Thread | None = None

    # --- running ------------------------------------------------------------

    def start(self) -> Job:
        """Run the job on a thread of its own; returns the job."""
        if self._thread is not None:
            raise errors.InvalidOptionValue("The job was started already", where="Job.start",
                                            hint="Submit a new job to run it again")
        self._thread = threading.Thread(target=self._work, name="workbench-job", daemon=True)
        self._thread.start()
        return self

    def _work(self) -> None:
        from workbench.devices import connect
        from workbench.devices._cancel import cancel_scope
        from workbench.devices._job_events import reporting
        from workbench.devices.kinds import kind_of

        model, device, backend, options, inputs, label = self._request
        try:
            with cancel_scope(self._cancel):
                the_device = connect(device)
                # A kind may reserve the board first (a farm's place); released whatever happens.
                kind = kind_of(the_device)
                with reporting(self._emit):  # a farm reports its queue while it waits
                    kind.acquire(the_device)
                try:
                    self.prepared = prepare(model, the_device, backend, options, inputs=inputs,
                                            settings=self.settings, label=label,
                                            on_event=self._emit, marks=self.marks)
                    self.marks["prepared"] = time.time()
                    profile = execute(self.prepared, self._emit, self._cancel, self.marks)
                finally:
                    kind.release(the_device)
        except BaseException as exc:  # handed to the caller of result()
            if self._cancel.is_set() and not isinstance(exc, errors.JobCancelled):
                exc = errors.JobCancelled(f"The job was cancelled ({type(exc).__name__}: "
                                          f"{exc})", where=self._where())
            self._settle(None, exc)
        else:
            self._settle(profile, None)

    def _where(self) -> str:
        device = self.prepared.device.name if self.prepared else self._request[1]
        return f"job on {device if isinstance(device, str) else device.name}"

    def _settle(self, profile: Profile | None, error: BaseException | None) -> None:
        if error is None:
            final = stage_event("done")
        elif isinstance(error, errors.JobCancelled):
            final = stage_event("cancelled")
        else:
            described = error.to_dict() if isinstance(error, errors.WorkbenchError) else {
                "type": type(error).__name__, "what": str(error)}
            final = stage_event("failed", error=described)
        self._profile, self._error = profile, error
        self._emit(final)
        with self._lock:
            self._finished.set()
            callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            self._call(callback, self, "done callback")

    # --- events and callbacks ------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        if event.get("event") == "stage":
            if self._merged(event):
                return
            self.state = STATES.get(str(event.get("stage")), self.state)
        self.events.append(event)
        if self._on_event is not None:
            self._call(self._on_event, event, "on_event callback")

    def _merged(self, event: dict[str, Any]) -> bool:
        """True when a progress event comes too soon after the last one of its stage."""
        done, total = event.get("done"), event.get("total")
        if not isinstance(done, int) or not isinstance(total, int) or not 0 < done < total:
            return False  # a stage's first and last event always come through
        stage = str(event["stage"])
        now = time.monotonic()
        if now - self._last_progress.get(stage, -1.0) < 1.0 / MAX_PROGRESS_PER_S:
            return True
        self._last_progress[stage] = now
        return False

    def _call(self, callback: Callable[[Any], object], argument: Any, what: str) -> None:
        try:
            callback(argument)
        except Exception as exc:  # a user's callback never stops the job
            if what not in self._warned:
                self._warned.add(what)
                warnings.warn(f"A job's {what} raised {type(exc).__name__}: {exc}; the job "
                              "goes on (further errors of this callback are not shown)",
                              RuntimeWarning, stacklevel=2)

    def add_done_callback(self, callback: Callable[[Job], object]) -> None:
        """Call ``callback(job)`` when the job ends (done, failed or cancelled).

        It runs on the job's thread; on the caller's thread at once when the job
        has ended already. Exceptions it raises become warnings.
        """
        with self._lock:
            if not self._finished.is_set():
                self._done_callbacks.append(callback)
                return
        self._call(callback, self, "done callback")

    # --- the caller's side ---------------------------------------------------

    def steps(self) -> dict[str, float]:
        """Where the job's time went, in seconds per step (connect, probe, upload, agent
        start, ..., timed, ..., host assembly); see :mod:`workbench.jobs.steps`."""
        from workbench.jobs.steps import job_steps

        return job_steps(self.events, self.marks)

    @property
    def done(self) -> bool:
        """True once the job ended: done, failed or cancelled."""
        return self._finished.is_set()

    @property
    def error(self) -> BaseException | None:
        """Why the job failed or was cancelled (None while it runs or when it succeeded)."""
        return self._error

    def cancel(self) -> None:
        """Stop the job in whatever stage it is; ``result()`` then raises JobCancelled.

        A job waiting for a board leaves the queue; a running agent is stopped and
        the board's lock freed. Cancelling an ended job does nothing.
        """
        if not self._finished.is_set():
            self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job ends; False when ``timeout`` passed first."""
        return self._finished.wait(timeout)

    def result(self, timeout: float | None = None) -> Profile:
        """The profile, or the job's error; TimeoutError when it is still running after
        ``timeout`` seconds (the job goes on)."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"The job is still running after {timeout:g} s (state: "
                               f"{self.state}); wait longer, or cancel it")
        if self._error is not None:
            raise self._error
        if self._profile is None:
            raise errors.DeviceError("The job ended without a profile", where=self._where(),
                                     hint="Run the job again; its events say how far it got")
        return self._profile

    async def _result_async(self) -> Profile:
        import asyncio

        loop = asyncio.get_running_loop()
        ended = asyncio.Event()
        self.add_done_callback(lambda _job: loop.call_soon_threadsafe(ended.set))
        try:
            await ended.wait()
        except asyncio.CancelledError:
            self.cancel()
            raise
        return self.result(0)

    def __await__(self) -> Generator[Any, None, Profile]:
        """``await job`` in notebook code: the profile, without blocking the event loop."""
        return self._result_async().__await__()

    def __repr__(self) -> str:
        return f"<Job {self._where()}: {self.state}>"

    def reattach(self, timeout: float = 600.0) -> Profile:
        """Collect the outcome of a job whose link dropped, from its folder on the device."""
        self._finished.wait()
        if self._profile is not None:
            return self._profile
        if self.prepared is None:
            raise errors.DeviceError("The job never reached the device", where="Job.reattach",
                                     hint="Run it again")
        from workbench.jobs.pending import settle

        device, workdir = self.prepared.device, self.prepared.job["workdir"]
        deadline = time.monotonic() + timeout
        while True:
            status = device.collect(workdir)
            if status.get("state") != "running" or time.monotonic() > deadline:
                break
            time.sleep(self.POLL_S)
        self._profile = settle(self.prepared, status)
        self._error = None
        self.state = "done"
        return self._profile


def submit(model: Model | str | Path, device: Device | str = "local",
           backend: str | Backend = "onnxruntime", options: dict[str, Any] | None = None, *,
           inputs: dict[str, Any] | str | Path | None = None, settings: RunSettings | None = None,
           label: str | None = None, on_event: EventCallback | None = None,
           cancel: threading.Event | None = None, **run: Unpack[RunKeywords]) -> Job:
    """Start :func:`profile` in the background and return its :class:`Job` handle at once."""
    return Job(model, device, backend, options, inputs=inputs, settings=settings, label=label,
               on_event=on_event, cancel=cancel, **run).start()


def profile(model: Model | str | Path, device: Device | str = "local",
            backend: str | Backend = "onnxruntime", options: dict[str, Any] | None = None, *,
            inputs: dict[str, Any] | str | Path | None = None, settings: RunSettings | None = None,
            label: str | None = None, on_event: EventCallback | None = None,
            cancel: threading.Event | None = None, **run: Unpack[RunKeywords]) -> Profile:
    """Run ``model`` on ``device`` with ``backend`` and return its Profile.

    ``settings`` (a :class:`RunSettings`) and keyword run settings (``runs=``,
    ``warmup=``, ``cluster=``, ...; see RunSettings) say how it runs; keywords
    win. ``options`` are the backend's. ``on_event`` receives the job's stage
    events on the job's thread. ``cancel`` (a threading.Event) stops the job
    when set. ``inputs`` maps input names to what to feed them (a number, an
    array, a .npy or image path, a spec dict; see :mod:`workbench.inputs`), or
    is the path of an input-spec JSON file. Ctrl-C or a kernel interrupt
    cancels the job, then goes on.
    """
    job = submit(model, device, backend, options, inputs=inputs, settings=settings, label=label,
                 on_event=on_event, cancel=cancel, **run)
    return wait_for(job)


def wait_for(job: Job) -> Profile:
    """``job.result()``; Ctrl-C or a kernel interrupt cancels the job, then goes on."""
    try:
        return job.result()
    except KeyboardInterrupt:
        job.cancel()
        job.wait(STOP_WAIT_S)
        raise
