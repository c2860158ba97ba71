"""What every widget of the workbench shares: errors shown in place, throttled updates, tasks.

Three rules hold the notebook UI together:

* an exception in a widget callback is shown in the UI (what, where, hint), never
  left to the kernel's log, where ipywidgets would put it;
* a background thread changes widgets only by setting traits, at most ten
  times a second (:class:`Throttle`), never by writing into an Output widget:
  output from a thread lands in whichever cell runs at that moment;
* every text that came from a model, a device or a profile is HTML-escaped.
"""

from __future__ import annotations

import concurrent.futures
import functools
import html
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as w

from workbench import errors

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: the front end's updates from a background thread, at most this many a second
MAX_UPDATES_PER_S = 10

# Colours of the widgets' own HTML: JupyterLab's theme variables, so the text stays readable
# in a dark theme, each with a fallback for front ends without them (VS Code, an HTML export).
#: text of lesser weight (help lines, a profile's kind)
MUTED = "var(--jp-ui-font-color2, #666)"
#: warnings kept in a profile
WARN = "var(--jp-warn-color0, #8a5a00)"
#: a refused option's message
ERROR_TEXT = "var(--jp-error-color1, #b00020)"
#: an error's box: JupyterLab's own error output background under the theme's text colour
ERROR_BOX = ("border-left:4px solid #b00020;padding:.3em .6em;"
             "background:var(--jp-rendermime-error-background, #fdecee);"
             "color:var(--jp-ui-font-color1, #222)")


def esc(value: Any) -> str:
    """``value`` as text that HTML shows literally (quotes included)."""
    return html.escape(str(value), quote=True)


def error_parts(exc: BaseException) -> dict[str, str]:
    """What, where and hint of an error; an unexpected one says it is a bug and where."""
    if isinstance(exc, errors.WorkbenchError):
        return {"type": type(exc).__name__, "what": exc.what, "where": exc.where or "",
                "hint": exc.hint or ""}
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return {"type": type(exc).__name__, "what": str(exc) or type(exc).__name__, "where": where,
            "hint": "This is not an error the workbench expected: please report it with the "
                    "notebook cell that led to it"}


def error_html(exc: BaseException) -> str:
    """An error as a block of escaped HTML: its type and what, then where, then hint."""
    parts = error_parts(exc)
    lines = [f"<b>{esc(parts['type'])}</b>: {esc(parts['what'])}"]
    if parts["where"]:
        lines.append(f"<span class='workbench-where'>where: {esc(parts['where'])}</span>")
    if parts["hint"]:
        lines.append(f"<span class='workbench-hint'>hint: {esc(parts['hint'])}</span>")
    return f"<div class='workbench-error' style='{ERROR_BOX}'>" + "<br>".join(lines) + "</div>"


class ErrorView:
    """Shows the last error of a part of the UI as what / where / hint; empty when none."""

    def __init__(self) -> None:
        self.widget = w.HTML(value="", layout=w.Layout(width="100%"))
        #: the error shown, for code and tests
        self.error: BaseException | None = None

    def show(self, exc: BaseException) -> None:
        """Show ``exc`` (escaped)."""
        self.error = exc
        self.widget.value = error_html(exc)

    def clear(self) -> None:
        """Remove the error shown."""
        self.error = None
        self.widget.value = ""


def shown_errors(view: ErrorView) -> Callable[[F], F]:
    """Decorate a widget callback so that any exception it raises is shown in ``view``."""
    def decorate(callback: F) -> F:
        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except Exception as exc:  # ipywidgets would swallow it into the log
                view.show(exc)
                return None
        return guarded  # type: ignore[return-value]
    return decorate


class Throttle:
    """Calls ``apply`` at most :data:`MAX_UPDATES_PER_S` times a second, the last request always.

    ``request()`` from any thread asks for an update: it applies now when the
    last one is old enough, otherwise once on a timer (several requests in
    between fold into that one). ``flush()`` waits out the interval and applies
    at once, for a final state that must be shown before anyone is told it ended.
    """

    def __init__(self, apply: Callable[[], None], per_second: float = MAX_UPDATES_PER_S) -> None:
        self._apply = apply
        self._interval = 1.0 / per_second
        self._lock = threading.Lock()
        self._last = -1e9
        self._timer: threading.Timer | None = None
        #: when each update was applied (time.monotonic()), for tests and benchmarks
        self.applied: list[float] = []

    def _run(self) -> None:
        self._last = time.monotonic()
        self.applied.append(self._last)
        self._apply()

    def request(self) -> None:
        """Ask for an update; it happens now or within one interval."""
        with self._lock:
            if self._timer is not None:
                return
            wait = self._last + self._interval - time.monotonic()
            if wait <= 0:
                self._run()
                return
            self._timer = threading.Timer(wait, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._run()

    def flush(self) -> None:
        """Apply now (after the rest of the interval, if the last update was too recent)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            wait = self._last + self._interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._run()


def in_background(work: Callable[[], T], name: str) -> concurrent.futures.Future[T]:
    """Run ``work`` on a thread of its own; the future holds its result or its exception."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever reads the future
            future.set_exception(exc)

    threading.Thread(target=run, name=f"workbench-{name}", daemon=True).start()
    return future


def heading(text: str) -> w.HTML:
    """A small section heading."""
    return w.HTML(f"<b>{esc(text)}</b>")


def help_html(text: str) -> str:
    """A line of help in a muted colour, as HTML (for a widget that exists already)."""
    return f"<span style='color:{MUTED};font-size:.9em'>{esc(text)}</span>"


def help_text(text: str) -> w.HTML:
    """A line of help in a muted colour, as a widget of its own."""
    return w.HTML(help_html(text))


def zero_means(field: w.BoundedIntText, zero: str, some: Callable[[int], str]) -> w.HTML:
    """A note beside ``field`` saying what its value means, kept up to date: ``zero`` for 0
    (a bare 0 reads as "none" where it means "all"), ``some(value)`` otherwise."""
    note = w.HTML()

    def say(_change: object = None) -> None:
        value = int(field.value)
        note.value = help_html(zero if value == 0 else some(value))

    field.observe(say, names="value")
    say()
    return note
