"""The :class:`Comparison`: several profiles side by side, against a baseline.

:func:`workbench.compare` returns one. It holds the profiles, readable labels
that tell them apart, and their layers matched by the model nodes they cover
(:func:`workbench.profiling.compare.match_layers`); from these it derives
speed-ups against the baseline, the fastest profile per layer, and how many
layers (and how much time) each profile wins.

This is the data side: tables come as pandas DataFrames built on first use,
the document for other programs from :meth:`Comparison.to_dict`, and the
HTML and text renderings from :mod:`workbench.views.comparison`, imported only when a
rendering is asked for.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench._atomic import write_atomic
from workbench.errors import InvalidOptionValue, ProfileError
from workbench.formats import COMPARISON
from workbench.profiling import _text as fmt
from workbench.profiling.compare import (
    LayerGroup,
    compare_latency,
    latency_rows,
    match_layers,
    share_column,
    speedup_column,
    time_column,
    unique_labels,
)
from workbench.profiling.profile import Profile

if TYPE_CHECKING:
    import pandas as pd

#: columns of :meth:`Comparison.layers_won`
WINS_COLUMNS = ("label", "layers_won", "time_us", "margin_us")


def speedup(baseline: float | None, other: float | None) -> float | None:
    """``baseline / other``: above 1 when ``other`` is faster; None without both times."""
    if not fmt.is_number(baseline) or not fmt.is_number(other) or other <= 0:
        return None
    return float(baseline) / float(other)


def fastest(times: Sequence[float | None]) -> int | None:
    """The index of the shortest time (the first one on a tie), or None without any time."""
    timed = [(time, index) for index, time in enumerate(times) if time is not None]
    return min(timed)[1] if timed else None


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _finite(value: Any) -> Any:
    # JSON has no NaN: a missing figure is null in the document.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class PlacesDifferWarning(UserWarning):
    """Profiles from one farm that ran on different places (boards) are compared."""


def places_differ(profiles: Sequence[Profile], labels: Sequence[str]) -> list[str]:
    """A warning when profiles reserved from a farm ran on more than one place: two boards
    of one kind still differ (cooling, clock, firmware)."""
    places = {}
    for label, profile in zip(labels, profiles, strict=True):
        place = (profile.document.get("device") or {}).get("place") or {}
        if place.get("name"):
            places[label] = f"{place['name']} ({place.get('coordinator', '?')})"
    if len(set(places.values())) < 2:
        return []
    listed = "; ".join(f"{label}: {place}" for label, place in places.items())
    return [f"These profiles ran on different farm places, so board-to-board differences "
            f"are part of what is compared ({listed}). Hold one place across the jobs with "
            "`with wb.reserve(...)` to compare on one board"]


class Comparison:
    """Profiles compared layer by layer and end to end, against a baseline profile.

    Build one with :func:`workbench.compare`. ``labels`` name the profiles
    (see :func:`~workbench.profiling.compare.unique_labels`), ``baseline`` is
    the index of the profile speed-ups are measured against, ``groups`` the
    matched layers, slowest first. In a notebook it shows itself: the
    latency per profile, speed-ups, layers won and the slowest layers.
    """

    def __init__(self, profiles: Sequence[Profile], *, baseline: int = 0) -> None:
        self._profiles = tuple(profiles)
        for item in self._profiles:
            if not isinstance(item, Profile):
                raise InvalidOptionValue(
                    f"{item!r} is not a profile", where="compare",
                    hint="Give Profile objects, or compare files and history ids with "
                         "wb.compare(['a.json', 'b.json']), which loads them")
        count = len(self._profiles)
        if not count:
            raise InvalidOptionValue("There are no profiles to compare", where="compare",
                                     hint="Give one profile or more: wb.compare([p1, p2])")
        if isinstance(baseline, bool) or not isinstance(baseline, int) \
                or not -count <= baseline < count:
            raise InvalidOptionValue(
                f"baseline={baseline!r} is not the index of one of the {count} profiles",
                where="compare", hint=f"Give an index from 0 to {count - 1}")
        self._baseline = baseline % count
        self._labels = tuple(unique_labels(self._profiles))
        self._groups = tuple(match_layers(self._profiles))
        self._layer_errors: list[list[float | None]] | bool | None = False  # False: not yet
        self.warnings = places_differ(self._profiles, self._labels)
        for message in self.warnings:
            warnings.warn(message, PlacesDifferWarning, stacklevel=3)

    # --- what is compared -------------------------------------------------------------

    @property
    def profiles(self) -> tuple[Profile, ...]:
        """The compared profiles, in the order given."""
        return self._profiles

    @property
    def labels(self) -> tuple[str, ...]:
        """One readable, unique label per profile, in the profiles' order."""
        return self._labels

    @property
    def baseline(self) -> int:
        """The index of the baseline profile."""
        return self._baseline

    @property
    def baseline_label(self) -> str:
        """The baseline profile's label."""
        return self._labels[self._baseline]

    @property
    def groups(self) -> tuple[LayerGroup, ...]:
        """The matched layers, slowest first: one per row of :meth:`to_dataframe`."""
        return self._groups

    def index(self, profile: int | str) -> int:
        """The position of a profile given by index or label; InvalidOptionValue if none."""
        if isinstance(profile, str):
            if profile in self._labels:
                return self._labels.index(profile)
        elif not isinstance(profile, bool) and -len(self._labels) <= profile < len(self._labels):
            return profile % len(self._labels)
        raise InvalidOptionValue(f"{profile!r} is not one of the compared profiles",
                                 where="Comparison",
                                 hint=f"Give an index from 0 to {len(self._labels) - 1} "
                                      f"or one of the labels: {', '.join(self._labels)}")

    # --- column names -------------------------------------------------------------------

    def time_column(self, profile: int | str) -> str:
        """The column of a profile's median time per run (µs) in :meth:`to_dataframe`."""
        return time_column(self._labels[self.index(profile)])

    def share_column(self, profile: int | str) -> str:
        """The column of a profile's share (0..1) of its layer time in :meth:`to_dataframe`."""
        return share_column(self._labels[self.index(profile)])

    def speedup_column(self, profile: int | str) -> str:
        """The column of a profile's speed-up over the baseline in :meth:`to_dataframe`.

        The baseline itself has no such column; asking for it raises
        InvalidOptionValue.
        """
        index = self.index(profile)
        if index == self._baseline:
            raise InvalidOptionValue("The baseline has no speed-up column",
                                     where=self._labels[index],
                                     hint="Speed-ups are of the other profiles over it")
        return speedup_column(self._labels[index])

    # --- derived figures ------------------------------------------------------------

    def layer_speedups(self, group: LayerGroup) -> list[float | None]:
        """Per profile, the baseline's time in ``group`` over its own (1.0 for the baseline)."""
        base = group.time_us[self._baseline]
        return [speedup(base, time) for time in group.time_us]

    def winner(self, group: LayerGroup) -> int | None:
        """The index of the profile fastest in ``group``, or None when none has a time."""
        return fastest(group.time_us)

    def latency_speedups(self) -> list[float | None]:
        """Per profile, the baseline's median latency over its own (1.0 for the baseline)."""
        medians = [p.latency.get("median") for p in self._profiles]
        numbers = [float(m) if fmt.is_number(m) else None for m in medians]
        return [speedup(numbers[self._baseline], median) for median in numbers]

    def wins(self) -> list[dict[str, Any]]:
        """Per profile: ``layers_won``, ``time_us`` it spends in them, ``margin_us``.

        A profile wins a layer when it is the fastest there (the first one on
        a tie). ``margin_us`` sums, over the layers it wins, how much faster it
        is than the next fastest profile; layers no other profile has a time
        for add nothing to it.
        """
        rows: list[dict[str, Any]] = [
            {"label": label, "layers_won": 0, "time_us": 0.0, "margin_us": 0.0}
            for label in self._labels]
        for group in self._groups:
            best = self.winner(group)
            mine = None if best is None else group.time_us[best]
            if best is None or mine is None:
                continue
            rows[best]["layers_won"] += 1
            rows[best]["time_us"] += mine
            others = [t for i, t in enumerate(group.time_us) if i != best and t is not None]
            if others:
                rows[best]["margin_us"] += min(others) - mine
        return rows

    def layer_errors(self) -> list[list[float | None]] | None:
        """Per group (as :attr:`groups`), per profile: the relative error of its tensors
        against the baseline's, from ``diff=True`` runs; None without two such runs (see
        :mod:`workbench.profiling.comparison_accuracy`)."""
        from workbench.profiling.comparison_accuracy import layer_errors

        if self._layer_errors is False:
            self._layer_errors = layer_errors(self._profiles, self._groups, self._baseline)
        return self._layer_errors  # type: ignore[return-value]

    def accuracy_records(self) -> list[dict[str, Any]] | None:
        """Per profile but the baseline: its output against the baseline's and the layer
        where its error first jumps; None when no profile kept outputs or ran a diff."""
        from workbench.profiling.comparison_accuracy import output_accuracy

        return output_accuracy(self._profiles, self._labels, self._baseline, self._groups)

    def delegation(self) -> dict[str, Any] | None:
        """Providers per profile and the model nodes placed differently across profiles;
        None when no profile records its providers."""
        from workbench.profiling.comparison_accuracy import delegation_summary

        return delegation_summary(self._profiles, self._labels)

    # --- tables ---------------------------------------------------------------------

    def accuracy(self) -> pd.DataFrame:
        """:meth:`accuracy_records` as a table (no rows when there is nothing to compare)."""
        import pandas as pd

        from workbench.profiling.comparison_accuracy import ACCURACY_KEYS

        return pd.DataFrame(self.accuracy_records() or [], columns=list(ACCURACY_KEYS))

    def to_dataframe(self) -> pd.DataFrame:
        """One row per matched layer group, slowest first, with flat column names.

        Columns: ``layer`` (row names in the first profile that has the
        group, joined by " + "), ``op_type``, ``original_nodes`` ("a, b");
        then per profile, in order, ``"{label}: time_us_median"`` (median
        time per run, µs), ``"{label}: share"`` (0..1 of that profile's layer
        time) and, for every profile but the baseline, ``"{label}: speedup"``
        (baseline time / its time: above 1 is faster); last ``winner``, the
        label of the fastest profile in the row; with ``diff=True`` runs,
        ``"{label}: rel_error"`` (see :meth:`layer_errors`). Get the names from
        :meth:`time_column`, :meth:`share_column` and :meth:`speedup_column`
        rather than spelling them out. A profile without the group, or
        without times for it (estimates may lack some), shows NaN.
        """
        import pandas as pd

        columns = ["layer", "op_type", "original_nodes"]
        for index, label in enumerate(self._labels):
            columns += [time_column(label), share_column(label)]
            if index != self._baseline:
                columns.append(speedup_column(label))
        columns.append("winner")
        errors = self.layer_errors()
        if errors is not None:
            columns += [f"{label}: rel_error" for index, label in enumerate(self._labels)
                        if index != self._baseline]
        rows = []
        for number, group in enumerate(self._groups):
            row: dict[str, Any] = {"layer": group.layer, "op_type": group.op_type,
                                   "original_nodes": fmt.join_nodes(group.original_nodes)}
            speedups = self.layer_speedups(group)
            for index, label in enumerate(self._labels):
                row[time_column(label)] = _nan(group.time_us[index])
                row[share_column(label)] = _nan(group.share[index])
                if index != self._baseline:
                    row[speedup_column(label)] = _nan(speedups[index])
            best = self.winner(group)
            row["winner"] = None if best is None else self._labels[best]
            if errors is not None:
                for index, label in enumerate(self._labels):
                    if index != self._baseline:
                        row[f"{label}: rel_error"] = _nan(errors[number][index])
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)

    def latency(self) -> pd.DataFrame:
        """End-to-end latency per profile (see :func:`compare_latency`) with ``speedup``.

        ``speedup`` is the baseline's median latency over the profile's: 1.0
        for the baseline, above 1 for a faster profile, NaN without medians.
        """
        frame = compare_latency(self._profiles)
        frame["speedup"] = [_nan(value) for value in self.latency_speedups()]
        return frame

    def layers_won(self) -> pd.DataFrame:
        """Per profile, the layers where it is fastest: columns as in :meth:`wins`."""
        import pandas as pd

        return pd.DataFrame(self.wins(), columns=list(WINS_COLUMNS))

    # --- documents ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The comparison as a JSON-able ``workbench.comparison/1`` document (NaN is null).

        ``latency`` has one record per profile (the :meth:`latency` columns
        plus the profile's ``caveat``); ``layers`` one per matched group, with
        ``time_us``, ``share`` and ``speedup`` as lists in the labels' order
        and ``winner`` as an index into ``labels``; ``wins`` one record per
        profile (see :meth:`wins`); ``topology``, only when the profiles
        share their model, the graph from :meth:`shared_topology`. Optional,
        when the profiles hold them: ``layers[].rel_error`` (per profile, see
        :meth:`layer_errors`), ``accuracy`` (:meth:`accuracy_records`) and
        ``delegation`` (:meth:`delegation`).
        """
        latency = []
        for row, profile, ratio in zip(latency_rows(self._profiles), self._profiles,
                                       self.latency_speedups(), strict=True):
            latency.append({**{key: _finite(value) for key, value in row.items()},
                            "speedup": ratio, "caveat": profile.caveat})
        errors = self.layer_errors()
        layers = [{"layer": group.layer, "op_type": group.op_type,
                   "original_nodes": list(group.original_nodes),
                   "time_us": list(group.time_us), "share": list(group.share),
                   "speedup": self.layer_speedups(group), "winner": self.winner(group),
                   **({"rel_error": [_finite(e) for e in errors[number]]} if errors else {})}
                  for number, group in enumerate(self._groups)]
        document: dict[str, Any] = {
            "schema": COMPARISON, "labels": list(self._labels), "baseline": self._baseline,
            "latency": latency, "layers": layers, "wins": self.wins()}
        accuracy = self.accuracy_records()
        if accuracy is not None:
            document["accuracy"] = [{k: _finite(v) for k, v in r.items()} for r in accuracy]
        delegation = self.delegation()
        if delegation is not None:
            document["delegation"] = delegation
        topology = self.shared_topology()
        if topology is not None:
            document["topology"] = topology
        return document

    def shared_topology(self) -> dict[str, Any] | None:
        """The model graph when every profile ran the same model, else None.

        Nodes keep their name and op type, edges their ends: enough for a
        front end to draw the graph and colour each node by the speed-up of
        the layer group that covers it (``original_nodes``). Profiles of
        different models (other sha256), or none with a topology, give None.
        """
        if len({p.document["model"].get("sha256") for p in self._profiles}) != 1:
            return None
        topology = next((p.document.get("topology") for p in self._profiles
                         if p.document.get("topology")), None)
        if not topology:
            return None
        return {"nodes": [{"name": node["name"], "op_type": node["op_type"]}
                          for node in topology.get("nodes", [])],
                "edges": [{"from": edge["from"], "to": edge["to"]}
                          for edge in topology.get("edges", [])]}

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A self-contained HTML page of the comparison; also written atomically to ``path``."""
        from workbench.views.comparison import comparison_page

        text = comparison_page(self)
        if path is not None:
            write_atomic(path, text, error=ProfileError)
        return text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> dict[str, Any]:
        """Notebook display: the lab extension's MIME type, with HTML and text fallbacks."""
        from workbench.views.comparison import comparison_mimebundle

        return comparison_mimebundle(self, include=include, exclude=exclude)

    def __str__(self) -> str:
        from workbench.views.comparison import comparison_text

        return comparison_text(self)

    def __repr__(self) -> str:
        return self.__str__()
