"""The catalog: Arm cores and boards from the JSON data files, as objects that show themselves.

``data/cores.json`` holds the cores (MIDR, architecture level, ISA features,
FP32/INT8 throughput per cycle, caches) and ``data/boards.json`` the boards
(SoC, clusters, memory, RAM, accelerators). Every figure group names its
source; a derived figure says from what. Plain JSON keeps the catalog
readable on every Python the project supports, without a TOML reader.
"""

from __future__ import annotations

import difflib
import html
import json
import numbers
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    from workbench.models import Model
    from workbench.profiling import Profile
    from workbench.targets.calibration import Calibration
    from workbench.targets.observations import Observations

#: ISA features that matter for inference, in display order
ISA_FEATURES = ("asimd", "fp16", "dotprod", "i8mm", "bf16", "sve", "sve2")
DTYPES = ("fp32", "int8")


@cache
def _data(name: str) -> dict[str, Any]:
    text = resources.files("workbench.targets").joinpath("data").joinpath(name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def core_data() -> dict[str, Any]:
    """The parsed ``cores.json`` (units, sources, cores); shared, treat as read-only."""
    return _data("cores.json")


def board_data() -> dict[str, Any]:
    """The parsed ``boards.json`` (units, sources, boards); shared, treat as read-only."""
    return _data("boards.json")


@dataclass(frozen=True)
class Core:
    """One core type of the catalog: identity, ISA features, throughput per cycle, caches."""

    key: str
    name: str
    designer: str
    implementer: int
    part: int
    arch: str
    features: dict[str, Any]
    fp32_flops_per_cycle: float
    int8_ops_per_cycle: float
    cache: dict[str, Any]
    qemu_cpu: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    note: str | None = None

    @classmethod
    def from_entry(cls, key: str, entry: dict[str, Any]) -> Core:
        """Build from one entry of ``cores.json``."""
        return cls(key=key, name=entry["name"], designer=entry["designer"],
                   implementer=int(entry["implementer"], 16), part=int(entry["part"], 16),
                   arch=entry["arch"], features=dict(entry["features"]),
                   fp32_flops_per_cycle=float(entry["fp32_flops_per_cycle"]),
                   int8_ops_per_cycle=float(entry["int8_ops_per_cycle"]),
                   cache=dict(entry["cache"]), qemu_cpu=entry.get("qemu_cpu"),
                   sources=dict(entry["sources"]), note=entry.get("note"))

    @property
    def midr(self) -> str:
        """Implementer and part as ``0x41:0xd0b``."""
        return f"{self.implementer:#04x}:{self.part:#05x}"

    def with_features(self, found: dict[str, Any]) -> Core:
        """This core with features as a Features line reported them (absent ones off)."""
        merged = {k: bool(found.get(k)) if k in found else v for k, v in self.features.items()}
        return replace(self, features=merged)

    def ops_per_cycle(self, dtype: str = "fp32") -> float:
        """FP32 FLOPs or INT8 ops (MAC = 2) per cycle per core.

        Without dotprod (a core that has it on paper but not in its Features
        line) INT8 falls back to widening multiply-accumulates: twice the FP32 rate.
        """
        if dtype == "fp32":
            return self.fp32_flops_per_cycle
        if dtype == "int8":
            if not self.features.get("dotprod"):
                return min(self.int8_ops_per_cycle, 2 * self.fp32_flops_per_cycle)
            return self.int8_ops_per_cycle
        raise errors.InvalidOptionValue(f"dtype={dtype!r} is not one of {', '.join(DTYPES)}",
                                        where=self.name, hint="Give dtype='fp32' or 'int8'")

    def isa(self) -> str:
        """The ISA features present, e.g. ``asimd fp16 dotprod``; SVE with its vector length."""
        names = [n for n in ISA_FEATURES if self.features.get(n)]
        if self.features.get("sve") and self.features.get("sve_bits"):
            names = [f"sve({self.features['sve_bits']}b)" if n == "sve" else n for n in names]
        return " ".join(names)

    def __repr__(self) -> str:
        return (f"<Core {self.key!r} {self.name} ({self.designer}, {self.midr}), "
                f"Armv{self.arch[1:]}, {self.isa()}; {self.fp32_flops_per_cycle:g} FP32 FLOPs and "
                f"{self.int8_ops_per_cycle:g} INT8 ops per cycle>")

    def _repr_html_(self) -> str:
        rows = [("core", f"{self.name} ({self.designer})"), ("MIDR", self.midr),
                ("architecture", f"Armv{self.arch[1:]}"), ("ISA", self.isa()),
                ("FP32 FLOPs / cycle", f"{self.fp32_flops_per_cycle:g}"),
                ("INT8 ops / cycle (MAC = 2)", f"{self.int8_ops_per_cycle:g}"),
                ("caches (KiB)", json.dumps(self.cache)),
                ("sources", ", ".join(f"{k}: {v}" for k, v in self.sources.items()))]
        return _html_table(rows)


@dataclass(frozen=True)
class Cluster:
    """Cores of one type at one clock."""

    core: Core
    count: int
    max_ghz: float | None

    def peak_gops(self, dtype: str = "fp32", threads: int | None = None) -> float | None:
        """Peak GFLOP/s (fp32) or GOP/s (int8) of ``threads`` of its cores (default all)."""
        if self.max_ghz is None:
            return None
        used = self.count if threads is None else min(threads, self.count)
        return used * self.core.ops_per_cycle(dtype) * self.max_ghz


def _html_table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                    f"<td style='text-align:left'>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


class Target:
    """A board of the catalog (or one detected): clusters, memory, peaks, estimates."""

    def __init__(self, name: str, entry: dict[str, Any], clusters: list[Cluster], *,
                 detected: bool = False) -> None:
        self.name = name
        self.entry = entry
        self.clusters = clusters
        self.detected = detected

    # --- figures ------------------------------------------------------------------

    @property
    def title(self) -> str:
        """The board's full name."""
        return str(self.entry.get("title", self.name))

    @property
    def bandwidth_gbs(self) -> float | None:
        """Theoretical peak DRAM bandwidth in GB/s, or None when unknown."""
        value = (self.entry.get("memory") or {}).get("bandwidth_gbs")
        return float(value) if value is not None else None

    @property
    def ram_bytes(self) -> list[int]:
        """The RAM sizes the board is sold with, in bytes, smallest first."""
        return sorted(int(gb * 2**30) for gb in self.entry.get("ram_gb") or [])

    @property
    def cores(self) -> int:
        """Number of CPU cores over all clusters."""
        return sum(c.count for c in self.clusters)

    def choose(self, cluster: str | int = "big") -> list[Cluster]:
        """The clusters ``cluster`` names: big (fastest per core), little, all, or an index."""
        if not self.clusters:
            raise errors.EstimateError("The target has no known CPU clusters", where=self.name)

        def speed(c: Cluster) -> float:
            return c.core.ops_per_cycle("fp32") * (c.max_ghz or 0.0)

        if cluster == "all":
            return sorted(self.clusters, key=speed, reverse=True)
        if cluster in ("big", "little"):
            fastest = max(speed(c) for c in self.clusters) if cluster == "big" else \
                min(speed(c) for c in self.clusters)
            return [c for c in self.clusters if speed(c) == fastest]
        if isinstance(cluster, int) and 0 <= cluster < len(self.clusters):
            return [self.clusters[cluster]]
        raise errors.InvalidOptionValue(
            f"cluster={cluster!r} is not big, little, all or an index below {len(self.clusters)}",
            where=self.name, hint="e.g. cluster='big'")

    def peak_gops(self, dtype: str = "fp32", threads: int | None = None,
                  cluster: str | int = "big") -> float:
        """Peak GFLOP/s (fp32) or GOP/s (int8, MAC = 2) of ``threads`` threads on ``cluster``.

        Threads fill the fastest cores of the chosen clusters first; the default
        is one thread per core of them.
        """
        chosen = self.choose(cluster)
        available = sum(c.count for c in chosen)
        wanted = available if threads is None else threads
        if (isinstance(wanted, bool) or not isinstance(wanted, numbers.Integral)
                or not 1 <= wanted <= available):
            raise errors.InvalidOptionValue(
                f"threads={threads!r} does not fit cluster {cluster!r} of {available} cores",
                where=self.name, hint=f"Give 1 to {available} threads, or cluster='all'")
        total, left = 0.0, wanted
        for group in chosen:
            peak = group.peak_gops(dtype, min(left, group.count))
            if peak is None:
                raise errors.EstimateError(
                    f"The clock of the {group.core.name} cluster is unknown", where=self.name,
                    hint="Give the cpufreq maxima to detect(), or estimate on a catalog board")
            total += peak
            left -= min(left, group.count)
            if left == 0:
                break
        return total

    # --- estimates ----------------------------------------------------------------

    def estimate(self, model: Model | str, *, threads: int | None = None, dtype: str = "fp32",
                 cluster: str | int = "big", ceilings: Calibration | None = None,
                 observations: Observations | None = None,
                 overhead_bytes: int | None = None, fuse: bool = True) -> Profile:
        """A per-layer roofline estimate of ``model`` here, as a Profile of ``kind: estimate``.

        Each layer takes the longer of its compute time (operations over the
        peak of ``threads`` cores of ``cluster``) and its memory time (bytes
        over the DRAM bandwidth) and says which bound it. ``ceilings`` (from
        :func:`workbench.jobs.calibrate`) replace the datasheet peaks with
        measured ones, per kernel class; ``observations`` (from
        :func:`workbench.history.observations`) cost each layer at the rate a
        device reached on layers of its class and shapes. Every layer says which
        class and ceiling it used and carries an error bar (``error_pct``); the
        document's ``estimate`` section has the whole estimate's. With ``fuse``
        (the default) activations and BatchNormalization count inside the
        Conv/Gemm before them, as runtimes fuse them; ``fuse=False`` costs
        every node alone.
        """
        from workbench.targets.roofline import estimate

        return estimate(self, model, threads=threads, dtype=dtype, cluster=cluster,
                        ceilings=ceilings, observations=observations,
                        overhead_bytes=overhead_bytes, fuse=fuse)

    def to_dict(self) -> dict[str, Any]:
        """The target as plain data: name, catalog entry, clusters with peaks."""
        return {"name": self.name, "title": self.title, "detected": self.detected,
                "clusters": [{"core": c.core.key, "count": c.count, "max_ghz": c.max_ghz,
                              "isa": c.core.isa(), "peak_fp32_gflops": c.peak_gops("fp32"),
                              "peak_int8_gops": c.peak_gops("int8")} for c in self.clusters],
                "bandwidth_gbs": self.bandwidth_gbs, "ram_gb": self.entry.get("ram_gb"),
                "soc": self.entry.get("soc"), "memory": self.entry.get("memory"),
                "accelerators": self.entry.get("accelerators", [])}

    # --- display ------------------------------------------------------------------

    def cluster_text(self) -> str:
        """Clusters as ``4x Cortex-A55 @ 1.8 GHz + 4x Cortex-A76 @ 2.4 GHz``."""
        return " + ".join(f"{c.count}x {c.core.name}"
                          + (f" @ {c.max_ghz:g} GHz" if c.max_ghz else "") for c in self.clusters)

    def __repr__(self) -> str:
        bandwidth = f"{self.bandwidth_gbs:g} GB/s" if self.bandwidth_gbs else "bandwidth unknown"
        tag = " detected" if self.detected else ""
        return f"<Target {self.name!r}{tag}: {self.cluster_text()}, {bandwidth}>"

    def _repr_html_(self) -> str:
        rows = [("target", f"{self.title} ({self.name})"), ("SoC", str(self.entry.get("soc"))),
                ("clusters", self.cluster_text())]
        for c in self.clusters:
            fp32, int8 = c.peak_gops("fp32"), c.peak_gops("int8")
            rows.append((f"{c.core.name}", f"{c.core.isa()}; peak "
                         + (f"{fp32:.1f} GFLOP/s FP32, {int8:.1f} GOP/s INT8" if fp32 and int8
                            else "unknown (no clock)")))
        memory = self.entry.get("memory") or {}
        accelerators = "; ".join(f"{a['name']} ({a['runtime']})"
                                 for a in self.entry.get("accelerators") or [])
        rows += [("memory", f"{memory.get('type')}, {self.bandwidth_gbs} GB/s"),
                 ("RAM (GiB)", ", ".join(f"{g:g}" for g in self.entry.get("ram_gb") or [])),
                 ("accelerators", accelerators or "none")]
        if self.entry.get("note"):
            rows.append(("note", str(self.entry["note"])))
        return _html_table(rows)


@cache
def cores() -> dict[str, Core]:
    """Every core of the catalog by key (e.g. ``cortex-a76``)."""
    return {key: Core.from_entry(key, entry) for key, entry in core_data()["cores"].items()}


def core_by_midr(implementer: int, part: int) -> Core | None:
    """The catalog core with that MIDR implementer and part, or None."""
    for core in cores().values():
        if core.implementer == implementer and core.part == part:
            return core
    return None


def board(name: str) -> Target:
    """The catalog board called ``name``; UnknownTarget (with close names) otherwise."""
    entries = board_data()["boards"]
    key = name.strip().lower()
    if key not in entries:
        if key in core_data()["cores"]:
            raise errors.UnknownTarget(f"{name!r} is a core, not a board", where="target catalog",
                                       hint="Give a board: `workbench targets` lists them")
        raise _unknown(name)
    name, entry = key, entries[key]
    known = cores()
    clusters = [Cluster(known[c["core"]], int(c["count"]), float(c["max_ghz"]))
                for c in entry["clusters"]]
    return Target(name, entry, clusters)


def _unknown(name: str) -> errors.UnknownTarget:
    names = [*board_data()["boards"], *core_data()["cores"]]
    close = difflib.get_close_matches(name.lower(), names, n=4, cutoff=0.5)
    hint = (f"Did you mean {', '.join(close)}? `workbench targets` lists them all" if close
            else None)
    return errors.UnknownTarget(f"No board or core called {name!r} in the catalog",
                                where="target catalog", hint=hint)


def get(name: str) -> Target | Core:
    """A catalog board (as a :class:`Target`) or core (as a :class:`Core`) by name."""
    key = name.strip().lower()
    if key in board_data()["boards"]:
        return board(key)
    if key in cores():
        return cores()[key]
    raise _unknown(name)


def names(kind: str = "boards") -> list[str]:
    """The catalog's board names (``kind="boards"``) or core names (``kind="cores"``)."""
    return list(board_data()["boards"] if kind == "boards" else core_data()["cores"])


def catalog() -> list[Target]:
    """Every board of the catalog, in catalog order."""
    return [board(name) for name in board_data()["boards"]]
