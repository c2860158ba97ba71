"""Run settings: one typed object that ``profile``, ``prepare``, ``submit`` and ``sweep`` share.

    wb.profile(m, runs=100, warmup=5)                       # keywords, checked by name
    fast = wb.RunSettings(runs=20, profile_runs=0)
    wb.profile(m, settings=fast, cluster="little")          # a shared object, one change

Keywords are the fields of :class:`RunSettings`; :class:`RunKeywords` spells
them for type checkers, so ``submit()`` and ``profile()`` keep one typed
signature without repeating the list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from workbench import errors

if TYPE_CHECKING:
    from workbench.devices.base import DeviceInfo
    from workbench.targets import Target

#: below this many timed runs the median is flagged as unstable
MIN_STABLE_RUNS = 10
#: warm-up, timed and profiled runs on an emulated board when the caller set none: qemu-user
#: runs a model tens of times slower than hardware, and its times are not hardware times
EMULATED_COUNTS = {"warmup": 2, "runs": 5, "profile_runs": 1}
#: the clusters a job or an estimate can name in words (an index names one cluster)
CLUSTER_WORDS = ("big", "little", "all")


def parse_cluster(value: str | int) -> str | int:
    """A cluster as jobs and estimates take it: "big", "little", "all" or an index.

    Text as a user types it (``"Big"``, ``" 1"``) is accepted, so the command
    line, the widgets and the server read a cluster the same way; anything else
    is InvalidOptionValue. Whether an index exists is known only on the device
    (or the target), which checks it there.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in CLUSTER_WORDS:
            return text
        if text.isdecimal():  # digits only: "-1" and "1.5" are not indices
            return int(text)
    raise errors.InvalidOptionValue(
        f"cluster={value!r} is not big, little, all or a cluster index", where="run settings",
        hint="e.g. cluster='big', 'little', 'all' or 0 (`--cluster big` on the command line)")


def cluster_choices(source: Target | DeviceInfo | None = None,
                    keep: str | int | None = None) -> list[tuple[str, str | int]]:
    """The clusters a run can name, as (label, value) pairs for a picker.

    ``source`` is a probed device's info or a catalog target: its clusters are
    offered by index with their cores, after "big" and "little" (when it has
    two kinds of core) and before "all cores". Without a source only the
    words are offered. ``keep`` (read by :func:`parse_cluster`) is offered
    too when the source does not list it, so a value set from code stays.
    """
    described: list[str] = []
    if source is not None and hasattr(source, "clusters"):  # a catalog target
        described = [f"{c.count}× {c.core.name}" + (f" @ {c.max_ghz:g} GHz" if c.max_ghz else "")
                     for c in source.clusters]
    elif source is not None:  # a device's probe
        described = [f"{len(c.get('cores') or []) or '?'}× "
                     f"{c.get('model') or c.get('part') or 'unknown core'}"
                     + (f" @ {c['max_mhz']:g} MHz" if c.get("max_mhz") else "")
                     for c in (source.cpu or {}).get("clusters") or []]
    choices: list[tuple[str, str | int]] = [("big (the fastest cores)", "big")]
    if len(set(described)) > 1 or not described:
        choices.append(("little (the slowest cores)", "little"))
    if len(described) > 1:
        choices += [(f"cluster {index}: {text}", index) for index, text in enumerate(described)]
    choices.append(("all cores", "all"))
    if keep is not None:
        wanted = parse_cluster(keep)
        if wanted not in [value for _label, value in choices]:
            name = f"cluster {wanted}" if isinstance(wanted, int) else wanted
            choices.append((f"{name} (set from code)", wanted))
    return choices


class _DefaultCount(int):
    """A run count nobody set: the default, which an emulated device lowers."""


class _LoweredCount(_DefaultCount):
    """A run count nobody set that the workbench lowered for an emulated device."""


class RunKeywords(TypedDict, total=False):
    """The keyword form of :class:`RunSettings` (``**run`` in ``profile`` and ``submit``)."""

    warmup: int
    runs: int | Literal["auto"]
    profile_runs: int
    timeout: float | None
    keep_outputs: bool
    max_output_values: int | None
    diff: bool
    cluster: str | int
    cores: list[int] | tuple[int, ...] | None
    governor: str | None
    cooldown_c: float | None
    auto_ci_pct: float
    time_budget_s: float
    flush_cache: bool
    lock_wait_s: float | None


@dataclass(frozen=True)
class RunSettings:
    """How a job runs: counts, time limits, cores and board conditions.

    Latency comes from ``runs`` timed runs with profiling off (after a cold run
    and ``warmup`` runs); per-layer times from ``profile_runs`` further runs with
    the runtime's profiler on (0 skips them). ``runs="auto"`` runs until the 95%
    bootstrap interval of the median is within ``auto_ci_pct`` percent, or
    ``time_budget_s`` ends. ``timeout`` stops a job that runs longer (seconds).
    ``keep_outputs`` brings output values back for numerical checks: those of
    the first (cold) run, with a flag saying whether a run after the timed runs
    gave the same bytes. Every output's statistics (NaN and Inf counted) and
    hash come back always; an output with more than ``max_output_values``
    values comes back as those only, with a warning (None keeps every value).
    ``diff`` also brings back the tensors between layers, from one more run of
    the graph the timed runs executed, for :func:`workbench.diff_layers`
    (tensors over ``max_output_values`` come back as statistics and hash).

    Threads run on ``cluster`` ("big", "little", "all" or an index, also as text:
    see :func:`parse_cluster`) or on explicit ``cores``. ``governor`` (e.g.
    "performance") is set for the run and restored after, where the device
    allows; ``cooldown_c`` waits until the device is cooler than that;
    ``flush_cache`` evicts the caches between timed runs (outside the timed
    region). ``lock_wait_s`` gives up with DeviceBusy after
    waiting that long for a board another job holds (None waits).
    """

    warmup: int = _DefaultCount(10)
    runs: int | Literal["auto"] = _DefaultCount(50)
    profile_runs: int = _DefaultCount(10)
    timeout: float | None = None
    keep_outputs: bool = False
    max_output_values: int | None = 1 << 16
    diff: bool = False
    cluster: str | int = "big"
    cores: tuple[int, ...] | None = None
    governor: str | None = None
    cooldown_c: float | None = None
    auto_ci_pct: float = 2.0
    time_budget_s: float = 30.0
    flush_cache: bool = False
    lock_wait_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cluster", parse_cluster(self.cluster))
        if self.cores is not None and not isinstance(self.cores, tuple):
            object.__setattr__(self, "cores", tuple(self.cores))
        counts = (("warmup", self.warmup, 0), ("profile_runs", self.profile_runs, 0),
                  ("runs", self.runs, 1))
        for name, value, least in counts:
            if name == "runs" and value == "auto":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise errors.InvalidOptionValue(
                    f"{name}={value!r} is not allowed", where="run settings",
                    hint="runs >= 1 or 'auto', warmup and profile_runs >= 0")
        limit = self.max_output_values
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):
            raise errors.InvalidOptionValue(
                f"max_output_values={limit!r} is not allowed", where="run settings",
                hint="a number of values >= 0, or None to keep every value")
        for name in ("timeout", "lock_wait_s", "cooldown_c"):
            value = getattr(self, name)
            # a job needs a time limit it can meet: refused here, before anything is uploaded
            least_open = name == "timeout"
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float)) or value < 0
                                      or (least_open and value == 0)):
                raise errors.InvalidOptionValue(
                    f"{name}={value!r} is not allowed", where="run settings",
                    hint="timeout is a number of seconds > 0 (e.g. --timeout 600), or None"
                    if least_open else f"{name} is a number of seconds (or degrees) >= 0, "
                    "or None")

    @classmethod
    def names(cls) -> list[str]:
        """The settings' names, as keywords take them."""
        return [f.name for f in dataclasses.fields(cls)]

    def updated(self, **changes: Any) -> RunSettings:
        """A copy with ``changes``; an unknown name is an UnknownOption error."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise errors.UnknownOption(
                f"{', '.join(map(repr, unknown))} is not a run setting", where="run settings",
                hint=f"Run settings: {', '.join(self.names())}; backend options go in "
                "options={...}")
        return dataclasses.replace(self, **changes) if changes else self

    @classmethod
    def of(cls, settings: RunSettings | None = None, /, **changes: Any) -> RunSettings:
        """``settings`` (or the defaults) with keyword ``changes`` applied."""
        return (settings or cls()).updated(**changes)

    def for_device(self, emulated: bool) -> tuple[RunSettings, str | None]:
        """The settings a job on a device runs with, and a line saying why they changed.

        On an emulated device, each count nobody set becomes its value in
        :data:`EMULATED_COUNTS` (the defaults ran a mid-sized model for more than
        ten minutes there); counts set by the caller, even to the defaults' values, stay.
        """
        names = {"warmup": "warm-up", "runs": "timed", "profile_runs": "profiled"}
        lowered = {name: count for name, count in EMULATED_COUNTS.items()
                   if isinstance(getattr(self, name), _DefaultCount)}
        if not emulated or not lowered:
            return self, None
        said = ", ".join(f"{count} {names[name]}" for name, count in lowered.items())
        line = (f"emulated board: {said} run{'s' if sum(lowered.values()) != 1 else ''} "
                "where none was set; set runs (--runs, --warmup, --profile-runs) for more")
        return self.updated(**{name: _LoweredCount(count) for name, count in lowered.items()}
                            ), line

    def job_section(self) -> dict[str, Any]:
        """The job document's ``run`` section (workbench.job/1)."""
        section: dict[str, Any] = {
            "warmup": int(self.warmup), "profile_runs": int(self.profile_runs),
            "runs": self.runs if self.runs == "auto" else int(self.runs),
            "timeout_s": self.timeout, "keep_outputs": self.keep_outputs,
            "max_output_values": self.max_output_values,
            "cluster": self.cluster, "cores": list(self.cores) if self.cores else None,
            "governor": self.governor, "cooldown_c": self.cooldown_c,
            "flush_cache": self.flush_cache}
        if self.diff:
            section["diff"] = True
        if isinstance(self.runs, _LoweredCount):
            # the profile then says the few runs were the workbench's choice, not the user's
            section["runs_lowered"] = True
        if self.runs == "auto":
            section.update(auto_ci_pct=self.auto_ci_pct, time_budget_s=self.time_budget_s)
        return section
