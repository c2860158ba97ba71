"""The results store: every profile a job returns is kept, listed and filtered later.

Profiles are JSON files in ``<data dir>/history/`` (``WORKBENCH_DATA_DIR``
moves it); an SQLite index beside them (``index.sqlite``) holds one row per
profile with what a listing filters on (time, model, device, backend, kind,
median latency), so listing a thousand profiles does not read a thousand
documents. The files are the truth: the index is rebuilt from them when it is
missing, unreadable, or out of step (:func:`rebuild`).

Each file is written atomically before its row is added, so an interrupted
save leaves either nothing or a whole profile. An id is the file's stem:
``20261125T081500Z-mobilenetv2-1a2b3c4d`` (time, model, a hash of the
document), so ids sort by time and say what they are.

Saving is on by default (:func:`enabled`); ``WORKBENCH_HISTORY=off`` turns it
off for a process, e.g. on a shared lab machine.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench._paths import data_dir
from workbench.errors import HistoryError, InvalidOptionValue, WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.profiling import Profile
    from workbench.profiling.comparison import Comparison
    from workbench.targets.observations import Observations

#: the columns of the index, in listing order
COLUMNS = ("id", "created", "kind", "model", "model_sha256", "device", "backend", "label",
           "median_ms", "runs", "peak_rss_mib")
_SCHEMA = f"CREATE TABLE IF NOT EXISTS profiles ({', '.join(COLUMNS)}, PRIMARY KEY (id))"
_INSERT = f"INSERT OR REPLACE INTO profiles VALUES ({', '.join('?' * len(COLUMNS))})"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def folder() -> Path:
    """The history folder (created on first save)."""
    return data_dir() / "history"


def enabled() -> bool:
    """Whether jobs save their profiles here (``WORKBENCH_HISTORY=off`` turns it off)."""
    return os.environ.get("WORKBENCH_HISTORY", "on").strip().lower() not in {"off", "0", "no",
                                                                              "false"}


@dataclass(frozen=True)
class Entry:
    """One saved profile as the index knows it."""

    id: str
    created: str
    kind: str
    model: str
    model_sha256: str
    device: str
    backend: str
    label: str
    median_ms: float | None
    runs: int
    #: the process's peak memory after the runs (None for an estimate)
    peak_rss_mib: float | None

    @property
    def path(self) -> Path:
        """The profile's JSON file."""
        return folder() / f"{self.id}.json"

    def load(self) -> Profile:
        """The saved profile."""
        return load(self.id)


def _part(document: dict[str, Any], key: str) -> dict[str, Any]:
    """A section of the document, or {} when it is missing or not an object (a hand edit)."""
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _row(entry_id: str, document: dict[str, Any]) -> tuple[Any, ...]:
    latency = _part(document, "latency")
    stats = latency.get("stats") or latency
    samples = latency.get("samples_ms") or []
    median = stats.get("median") if isinstance(stats, dict) else None
    peak = _part(document, "memory").get("peak_rss_after_runs_bytes")
    return (entry_id, str(document.get("created", "")), str(document.get("kind", "measured")),
            str(_part(document, "model").get("name", "")),
            str(_part(document, "model").get("sha256", "")),
            str(_part(document, "device").get("name", "")),
            str(_part(document, "backend").get("name", "")),
            str(document.get("label") or ""),
            float(median) if isinstance(median, (int, float)) else None,
            len(samples) if isinstance(samples, list) else 0,
            float(peak) / 2**20 if isinstance(peak, (int, float)) else None)


def _open(path: Path | str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute(_SCHEMA)
        connection.execute(f"SELECT {', '.join(COLUMNS)} FROM profiles LIMIT 1").fetchall()
    except sqlite3.Error:
        connection.close()
        raise
    return connection


@contextmanager
def _index() -> Iterator[sqlite3.Connection]:
    """The index, rebuilt from the files when it cannot be read.

    Where it can be neither read nor rebuilt (a read-only history folder), an
    index in memory is filled from the files, so listing and loading still work.
    """
    path = folder() / "index.sqlite"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = _open(path)
    except (OSError, sqlite3.DatabaseError):  # damaged or of another shape: the files hold all
        try:
            path.unlink(missing_ok=True)
            connection = _open(path)
        except (OSError, sqlite3.DatabaseError):
            connection = _open(":memory:")
        _fill(connection)
    try:
        with connection:
            yield connection
    except sqlite3.Error as exc:
        raise HistoryError(f"The history index cannot be updated: {exc}", where=str(path),
                           hint="Make the history folder and index.sqlite writable, or delete "
                           "index.sqlite (it is rebuilt from the saved files)") from exc
    finally:
        connection.close()


def _fill(connection: sqlite3.Connection) -> int:
    import json

    connection.execute("DELETE FROM profiles")
    count = 0
    for file in sorted(folder().glob("*.json")):
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a profile we wrote whole: left alone, not listed
        if isinstance(document, dict) and str(document.get("schema", "")).startswith(
                "workbench.profile/"):
            connection.execute(_INSERT, _row(file.stem, document))
            count += 1
    return count


def rebuild() -> int:
    """Rebuild the index from the saved files; returns how many profiles it lists."""
    wait_saved()
    with _index() as connection:
        return _fill(connection)


#: saves of finished jobs not done yet, in order (see :func:`save_later`)
_unsaved: list[tuple[Profile, Callable[[Exception], None]]] = []
#: how many saves were asked for and are not done (the one under way included)
_saves_left = 0
_saves = threading.Condition()
_saver: threading.Thread | None = None


def save_later(profile: Profile, on_failure: Callable[[Exception], None]) -> None:
    """Keep ``profile`` from the history's saving thread, so the job that made it returns
    first.

    The thread is started by the first save of a process and then waits for the next
    ones: a job hands its profile over without waiting for a thread to start. Every
    reading of the history waits for these saves, and so does the interpreter at exit;
    ``on_failure`` gets a save's WorkbenchError or OSError.
    """
    global _saver, _saves_left

    with _saves:
        _unsaved.append((profile, on_failure))
        _saves_left += 1
        _saves.notify_all()
        if _saver is not None and _saver.is_alive():
            return
        if _saver is None:
            import atexit

            atexit.register(wait_saved)  # the thread is a daemon: exit waits here instead
        _saver = threading.Thread(target=_save_pending, name="history-save", daemon=True)
        _saver.start()


def _save_pending() -> None:
    """The saving thread: save what jobs hand over, one profile after another."""
    global _saves_left

    while True:
        with _saves:
            while not _unsaved:
                _saves.wait()
            profile, on_failure = _unsaved.pop(0)
        try:
            save(profile)
        except (WorkbenchError, OSError) as exc:
            on_failure(exc)
        finally:
            with _saves:
                _saves_left -= 1
                _saves.notify_all()


def wait_saved() -> None:
    """Wait until the profiles of finished jobs are saved (readers call this first)."""
    with _saves:
        while _saves_left:
            _saves.wait()


def save(profile: Profile) -> Entry:
    """Keep ``profile`` in the history and return its entry."""
    from workbench._atomic import write_atomic

    document = profile.document
    text = profile.to_json() + "\n"
    # the creation time's digits only: no offset, no "+" in an id the shell and URLs carry
    digits = re.sub(r"\D", "", str(document.get("created", ""))[:19])
    stamp = f"{digits[:8]}T{digits[8:14]}" if len(digits) >= 14 else "undated"
    model = _SAFE.sub("_", str((document.get("model") or {}).get("name", "model")))[:40]
    entry_id = f"{stamp}-{model}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    write_atomic(folder() / f"{entry_id}.json", text, error=HistoryError, make_parents=True)
    row = _row(entry_id, document)
    with _index() as connection:
        connection.execute(_INSERT, row)
    return Entry(*row)


def entries(*, model: str | None = None, device: str | None = None, backend: str | None = None,
            kind: str | None = None, since: str | None = None,
            limit: int | None = None) -> list[Entry]:
    """Saved profiles, newest first, filtered.

    ``model`` matches the model's name or a prefix of its sha256, ``device``
    and ``backend`` their names, ``kind`` measured/estimate/emulated;
    ``since`` is an ISO date or time (``"2026-11-01"``) compared with the
    profile's creation time.
    """
    if limit is not None and limit < 0:
        raise InvalidOptionValue(f"limit={limit} is negative", where="history entries",
                                 hint="Give 0 or more rows, or no limit")
    wait_saved()
    if since:
        try:  # compared as text with the creation time: it must start with a date
            _dt.date.fromisoformat(since[:10])
        except ValueError:
            raise InvalidOptionValue(f"since={since!r} is not an ISO date or time",
                                     where="history entries",
                                     hint="e.g. 2026-11-01 or 2026-11-01T08:00") from None
    clauses: list[str] = []
    values: list[Any] = []
    if model:
        clauses.append("(model = ? OR model_sha256 LIKE ?)")
        values += [model, f"{model.lower()}%"]
    for column, value in (("device", device), ("backend", backend), ("kind", kind)):
        if value:
            clauses.append(f"{column} = ?")
            values.append(value)
    if since:
        clauses.append("created >= ?")
        values.append(since)
    query = "SELECT * FROM profiles"
    if clauses:
        query += " WHERE " + " AND ".join(clauses)
    query += " ORDER BY created DESC, id DESC"
    if limit is not None:
        query += " LIMIT ?"
        values.append(int(limit))
    with _index() as connection:
        rows = connection.execute(query, values).fetchall()
        if not rows and not clauses and any(folder().glob("*.json")):
            _fill(connection)  # files copied in by hand, or an index from elsewhere
            rows = connection.execute(query, values).fetchall()
    return [Entry(*row) for row in rows]


def dataframe(**filters: Any) -> pd.DataFrame:
    """:func:`entries` as a DataFrame (one row per profile)."""
    import pandas as pd

    return pd.DataFrame([e.__dict__ for e in entries(**filters)], columns=list(COLUMNS))


def _resolve(entry_id: str) -> Path:
    wait_saved()
    exact = folder() / f"{entry_id}.json"
    if exact.is_file():
        return exact
    found = sorted(p for p in folder().glob("*.json") if p.stem.startswith(entry_id)
                   or p.stem.endswith(entry_id)) if entry_id else []
    if len(found) == 1:
        return found[0]
    if found:
        raise HistoryError(f"{len(found)} saved profiles match {entry_id!r}",
                           where=str(folder()), hint="Give more of the id (workbench history)")
    raise HistoryError(f"No saved profile has the id {entry_id!r}", where=str(folder()),
                       hint="List them with `workbench history`")


def load(entry_id: str) -> Profile:
    """The saved profile with this id (or an unambiguous start or end of it)."""
    from workbench.profiling import Profile

    return Profile.load(_resolve(entry_id))


def load_profile(reference: str | os.PathLike[str]) -> Profile:
    """A profile from a saved file or from the history, whichever ``reference`` names.

    A path that exists, or any name ending in ``.json``, is read as a file (so a
    mistyped file name says there is no such file instead of looking for an
    id); anything else is a history id, or an unambiguous start of one, or its
    end: the document hash after the last ``-``. This lets a CI job compare the
    file a run just wrote against a baseline kept in the history, or the
    other way round.
    """
    from workbench.profiling import Profile

    text = os.fspath(reference)
    if not isinstance(reference, str) or text.endswith(".json") or Path(text).exists():
        return Profile.load(text)
    return load(text)


def compare(profiles: Sequence[Profile | str | os.PathLike[str]], *, baseline: int = 0,
            allow_different_models: bool = True) -> Comparison:
    """:func:`workbench.profiling.compare` of profiles given as objects, saved files or
    history ids (each read by :func:`load_profile`): ``wb.compare(["a.json", "b.json"])``."""
    from workbench.profiling import Profile
    from workbench.profiling.compare import compare as compare_profiles

    loaded = []
    for item in profiles:
        if not isinstance(item, (Profile, str, os.PathLike)):
            raise InvalidOptionValue(
                f"{item!r} is not a profile, a profile file or a history id", where="compare",
                hint="Give Profile objects, paths of saved profiles or ids `workbench history` "
                     "lists")
        loaded.append(item if isinstance(item, Profile) else load_profile(item))
    return compare_profiles(loaded, baseline=baseline,
                            allow_different_models=allow_different_models)


def observations(device: str, *, backend: str | None = "onnxruntime",
                 limit: int = 50, exclude_model: str | None = None) -> Observations:
    """What ``device`` achieved, layer by layer, in its newest ``limit`` measured profiles.

    An estimate given these (``target.estimate(m, observations=...)``) costs each
    layer at the rate the device reached on layers of its kernel class and
    shapes. ``exclude_model`` leaves out one model's profiles (by name or
    sha256 prefix), e.g. to see how well the others predict it. Profiles that
    no longer read are skipped.
    """
    import json

    from workbench.targets.observations import Observations

    documents = []
    for entry in entries(device=device, backend=backend, kind="measured", limit=limit):
        if exclude_model and (entry.model == exclude_model
                              or entry.model_sha256.startswith(exclude_model.lower())):
            continue
        try:
            documents.append(json.loads(entry.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return Observations.of(device, documents)


def remove(entry_id: str) -> None:
    """Delete a saved profile and its index row."""
    path = _resolve(entry_id)
    try:
        path.unlink()
    except OSError as exc:
        raise HistoryError(f"Cannot remove the saved profile: {exc.strerror or exc}",
                           where=str(path), hint="Check that the history folder is "
                           "writable") from exc
    with _index() as connection:
        connection.execute("DELETE FROM profiles WHERE id = ?", (path.stem,))
