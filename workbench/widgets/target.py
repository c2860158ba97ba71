"""The target picker: a board of the catalog (searchable) or the one detected on a device,
its key figures, and a roofline estimate of the model on it (a Profile of kind estimate)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from workbench import errors
from workbench.widgets._base import (
    ErrorView,
    esc,
    heading,
    help_html,
    help_text,
    in_background,
    shown_errors,
    zero_means,
)

if TYPE_CHECKING:
    from workbench.devices import Device
    from workbench.models import Model
    from workbench.profiling import Profile
    from workbench.targets import Target

__all__ = ["TargetPicker"]


class TargetPicker(w.VBox):  # type: ignore[misc]
    """Choose a catalog board, or detect it on a device; estimate a model on it.

    ``model`` and ``device`` say what Estimate and Detect use (callables, so a
    composed UI hands over its current choice). ``picker.target`` is the
    board shown, ``picker.estimate`` the last estimate; ``on_estimate(callback)``
    receives each new one.
    """

    def __init__(self, target: str | None = None, *,
                 model: Callable[[], Model | None] = lambda: None,
                 device: Callable[[], Device | str] = lambda: "local") -> None:
        from workbench.targets import catalog

        self.errors = ErrorView()
        self._model, self._device = model, device
        boards = catalog()
        self._boards = [(f"{t.title} ({t.name})", t.name) for t in boards]
        # what the search box matches, made once: a keystroke must not rebuild the catalog
        self._haystack = {t.name: f"{t.title} {t.name} {t.cluster_text()}".lower()
                          for t in boards}
        self.search = w.Text(description="search", placeholder="pi, jetson, a76, ...",
                             continuous_update=True)
        self.choice = w.Dropdown(options=self._boards, description="target",
                                 value=target, layout=w.Layout(width="32em"))
        self.detect_button = w.Button(description="Detect on device", icon="microchip")
        self.estimate_button = w.Button(description="Estimate", icon="calculator")
        self.threads = w.BoundedIntText(value=0, min=0, max=256, description="threads",
                                        tooltip="0: every core of the cluster")
        self.threads_note = zero_means(self.threads, "0 = all cores of the cluster",
                                       lambda n: f"{n} core{'s' if n > 1 else ''}")
        self.figures = w.HTML()
        self.estimate_view = w.HTML()
        self.detected = w.HTML()
        #: the board shown, the last estimate, the last background detection
        self.target: Target | None = None
        self.estimate: Profile | None = None
        self.task: concurrent.futures.Future[Any] | None = None
        self._listeners: list[Callable[[Profile], object]] = []
        guard = shown_errors(self.errors)
        self.search.observe(guard(self._filter), names="value")
        self.choice.observe(guard(lambda change: self.show(change["new"])), names="value")
        self.detect_button.on_click(guard(lambda _b: self.detect()))
        self.estimate_button.on_click(guard(lambda _b: self.run_estimate()))
        super().__init__([
            heading("Target"), w.HBox([self.search, self.choice]),
            w.HBox([self.detect_button, self.threads, self.threads_note,
                                          self.estimate_button]), self.errors.widget,
            self.detected, self.figures, self.estimate_view,
            help_text("An estimate is a roofline from the catalog's figures, not a measurement")])
        if target is not None:
            guard(self.show)(target)

    def _filter(self, change: dict[str, Any]) -> None:
        needle = change["new"].strip().lower()
        if not needle:
            options = self._boards
        else:
            matching = {name for name, text in self._haystack.items() if needle in text}
            options = [(label, name) for label, name in self._boards if name in matching]
        current = self.choice.value
        self.choice.options = options
        self.choice.value = current if current in [n for _l, n in options] else None

    def on_estimate(self, callback: Callable[[Profile], object]) -> None:
        """Call ``callback(profile)`` with each new estimate."""
        self._listeners.append(callback)

    def show(self, name: str | None) -> None:
        """Show the catalog board ``name`` and its key figures."""
        from workbench.targets.target import board

        if not name:
            self.target, self.figures.value = None, ""
            return
        self.target = board(name)
        self.figures.value = self.target._repr_html_()

    def detect(self) -> concurrent.futures.Future[Any]:
        """Detect the board of the chosen device (on a thread) and show it."""
        from workbench.jobs import detect_target

        device = self._device()
        self.errors.clear()
        self.detected.value = help_html("detecting…")

        def work() -> Any:
            detection = detect_target(device)
            target = detection.target
            name = getattr(device, "name", device)
            if target is None:
                self.detected.value = (f"<b>{esc(name)}</b>: no catalog board "
                                       f"({esc(detection.model_name or 'not an Arm CPU')})")
                return detection
            with self.hold_sync():
                self.search.value = ""
                self.choice.value = target.name
                self.detected.value = f"detected on <b>{esc(name)}</b>: {esc(target.title)}"
            return detection

        def finished(future: concurrent.futures.Future[Any]) -> None:
            if future.exception() is not None:
                self.detected.value = ""
                self.errors.show(future.exception())  # type: ignore[arg-type]

        self.task = in_background(work, "detect")
        self.task.add_done_callback(finished)
        return self.task

    def run_estimate(self) -> Profile:
        """Estimate the model on the board shown; the estimate goes to the listeners."""
        model = self._model()
        if model is None:
            raise errors.ModelNotFound("No model chosen", where="target picker",
                                       hint="Load a model first")
        if self.target is None:
            raise errors.UnknownTarget("No target chosen", where="target picker",
                                       hint="Pick a board, or detect it on the device")
        estimate = self.target.estimate(model, threads=self.threads.value or None)
        self.estimate = estimate
        from workbench.profiling._text import fmt_number

        median = fmt_number(estimate.latency.get("median"))
        self.estimate_view.value = (
            f"estimate of <b>{esc(model.name)}</b> on {esc(self.target.title)}: "
            f"<b>{esc(median)} ms</b> ({esc(len(estimate.layers))} layers)")
        for listener in self._listeners:
            listener(estimate)
        return estimate
