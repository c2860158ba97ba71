"""Detection: what a /proc/cpuinfo (and, when given, cpufreq and the device tree) says a machine is.

Cores are grouped into clusters by cpufreq policy when known, else by
identity (implementer, part) wherever their blocks appear; core types come
from the MIDR, features from each cluster's own Features line (never from the
catalog: an early Cortex-A55 may lack dotprod). Parts the catalog does not
know are reported as unknown with their MIDR, and a non-Arm machine is
reported as what it is (vendor, model name), never mapped to an Arm board.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import errors
from workbench.targets import target as catalog

#: Features-line names -> the catalog's feature names (aarch64 and aarch32 spellings)
_FEATURE_NAMES = {"asimd": "asimd", "neon": "asimd", "asimdhp": "fp16", "asimddp": "dotprod",
                  "i8mm": "i8mm", "bf16": "bf16", "sve": "sve", "sve2": "sve2"}
_MODEL_FILES = ("firmware/devicetree/base/model", "proc/device-tree/model",
                "sys/firmware/devicetree/base/model")


def parse_cpuinfo(text: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Per-core blocks and the global fields of a /proc/cpuinfo text.

    A block starts at ``processor : N`` and ends at a blank line; fields
    outside blocks (``Hardware``, ``Model``, an old kernel's single
    ``CPU part`` after the blocks, Android's leading ``Processor`` line) are
    global, and cores lacking a field take the global one.
    """
    blocks: list[dict[str, str]] = []
    shared: dict[str, str] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.strip():
            current = None
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "processor" and value.isdigit():
            current = {"processor": value}
            blocks.append(current)
        elif current is not None:
            current.setdefault(key, value)
        else:
            shared.setdefault(key, value)
    for block in blocks:
        for key, value in shared.items():
            block.setdefault(key, value)
    return blocks, shared


def _int(value: str | None) -> int | None:
    try:
        return int(value, 0) if value else None
    except ValueError:
        return None


def features_of(line: str | None) -> dict[str, bool]:
    """The catalog's ISA features from a Features line (absent ones False)."""
    words = set((line or "").split())
    found = dict.fromkeys(catalog.ISA_FEATURES, False)
    for word in words:
        if word in _FEATURE_NAMES:
            found[_FEATURE_NAMES[word]] = True
    return found


@dataclass
class DetectedCluster:
    """Cores that share a core type (and a cpufreq policy, when known)."""

    cores: list[int]
    implementer: int | None
    part: int | None
    variant: int | None
    revision: int | None
    core: catalog.Core | None
    max_mhz: float | None
    features: dict[str, bool]
    flags: list[str]

    @property
    def midr(self) -> str:
        """MIDR fields as ``0x41:0xd0b r4p1``."""
        imp = f"{self.implementer:#04x}" if self.implementer is not None else "?"
        part = f"{self.part:#05x}" if self.part is not None else "?"
        return f"{imp}:{part} r{self.variant if self.variant is not None else '?'}" \
               f"p{self.revision if self.revision is not None else '?'}"

    @property
    def name(self) -> str:
        """The core's catalog name, or ``unknown (MIDR)``."""
        return self.core.name if self.core else f"unknown ({self.midr})"

    def to_dict(self) -> dict[str, Any]:
        """The cluster as plain data."""
        return {"cores": self.cores, "midr": self.midr,
                "core": self.core.key if self.core else None, "name": self.name,
                "max_mhz": self.max_mhz,
                "features": [k for k, v in self.features.items() if v]}


@dataclass
class Detection:
    """What detection found: Arm or not, clusters, features and the closest catalog board."""

    is_arm: bool
    vendor: str | None
    model_name: str | None
    clusters: list[DetectedCluster] = field(default_factory=list)
    userspace: str | None = None
    board: str | None = None
    candidates: list[tuple[str, int]] = field(default_factory=list)
    model: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def unknown(self) -> list[DetectedCluster]:
        """Clusters whose part the catalog does not know."""
        return [c for c in self.clusters if c.core is None]

    @property
    def ambiguous(self) -> list[str]:
        """Boards that match as well as the chosen one (empty when the match is clear)."""
        if not self.candidates:
            return []
        best = self.candidates[0][1]
        return [name for name, score in self.candidates[1:] if score == best]

    @property
    def target(self) -> catalog.Target | None:
        """The matched catalog board, with the detected clusters where they differ; or None.

        An Arm machine without a matching board still gets a target from its
        known cores (clock from cpufreq when given); a non-Arm one never does.
        """
        if not self.is_arm or not self.clusters or self.unknown:
            return None
        clusters = [catalog.Cluster(c.core.with_features(c.features), len(c.cores),
                                    c.max_mhz / 1000 if c.max_mhz else None)
                    for c in self.clusters if c.core is not None]
        if self.board is None:
            return catalog.Target("detected", {"title": "detected Arm machine"}, clusters,
                                  detected=True)
        reference = catalog.board(self.board)
        clocks = {c.core.key: c.max_ghz for c in reference.clusters}
        clusters = [catalog.Cluster(c.core, c.count, c.max_ghz or clocks.get(c.core.key))
                    for c in clusters]
        return catalog.Target(self.board, reference.entry, clusters, detected=True)

    def summary(self) -> str:
        """One line: what the machine is."""
        if not self.is_arm:
            return f"not an Arm machine: {self.vendor or 'unknown vendor'}, " \
                   f"{self.model_name or 'unknown model'}"
        parts = " + ".join(f"{len(c.cores)}x {c.name}"
                           + (f" @ {c.max_mhz:g} MHz" if c.max_mhz else "") for c in self.clusters)
        board = self.board or "no catalog board"
        if self.ambiguous:
            board += f" (as close: {', '.join(self.ambiguous)})"
        mode = f", {self.userspace} user space" if self.userspace == "aarch32" else ""
        return f"Arm: {parts or 'no cores found'}{mode}; closest board: {board}"

    def to_dict(self) -> dict[str, Any]:
        """The detection as plain data."""
        return {"is_arm": self.is_arm, "vendor": self.vendor, "model_name": self.model_name,
                "model": self.model, "userspace": self.userspace, "board": self.board,
                "ambiguous": self.ambiguous, "clusters": [c.to_dict() for c in self.clusters],
                "warnings": self.warnings}

    def __repr__(self) -> str:
        return f"<Detection {self.summary()}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(','.join(map(str, c.cores)))}</td><td>{html.escape(c.name)}</td>"
            f"<td>{html.escape(c.midr)}</td><td>{c.max_mhz or '?'}</td>"
            f"<td>{html.escape(' '.join(k for k, v in c.features.items() if v))}</td></tr>"
            for c in self.clusters)
        warnings = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<p>{html.escape(self.summary())}</p>"
                + (f"<table><tr><th>cores</th><th>core</th><th>MIDR</th><th>max MHz</th>"
                   f"<th>features</th></tr>{rows}</table>" if rows else "")
                + (f"<ul>{warnings}</ul>" if warnings else ""))


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip().rstrip("\x00").strip()
    except OSError:
        return None


def read_sysfs(root: str | os.PathLike[str]) -> dict[str, Any]:
    """cpufreq maxima, policies and the device-tree model from a sysfs-like folder.

    ``root`` is a folder holding ``devices/system/cpu/...`` (a copy of /sys),
    or one holding ``sys/...`` and ``proc/...`` (a copy of /).
    """
    base = Path(root)
    cpu = base / "devices/system/cpu"
    if not cpu.is_dir():
        cpu = base / "sys/devices/system/cpu"
    max_khz: dict[int, int] = {}
    for entry in sorted(cpu.glob("cpu[0-9]*")):
        value = _read(entry / "cpufreq/cpuinfo_max_freq")
        if value and value.isdigit():
            max_khz[int(entry.name[3:])] = int(value)
    policies = []
    for policy in sorted(cpu.glob("cpufreq/policy*")):
        related = _read(policy / "related_cpus") or ""
        cores = [int(c) for c in related.split() if c.isdigit()]
        if cores:
            policies.append(cores)
    model = next((m for m in (_read(base / f) for f in _MODEL_FILES) if m), None)
    return {"max_khz": max_khz, "policies": policies, "model": model}


def _sysfs(sysfs: dict[str, Any] | str | os.PathLike[str] | None
           ) -> tuple[dict[int, float], list[list[int]], str | None]:
    if sysfs is None:
        return {}, [], None
    data = read_sysfs(sysfs) if isinstance(sysfs, (str, os.PathLike)) else sysfs
    try:
        mhz = {int(k): float(v) for k, v in (data.get("max_mhz") or {}).items()}
        mhz.update({int(k): float(v) / 1000 for k, v in (data.get("max_khz") or {}).items()})
        policies = [[int(c) for c in group] for group in data.get("policies") or []]
    except (AttributeError, TypeError, ValueError) as exc:
        raise errors.InvalidOptionValue(
            f"The sysfs readings hold a value that is not a core number or clock: {exc}",
            where="detect(sysfs=...)",
            hint="Give max_khz or max_mhz as {core: number} and policies as lists of core "
            "numbers, or the path of a sysfs-like folder") from None
    return mhz, policies, data.get("model")


def _group(blocks: list[dict[str, str]], policies: list[list[int]],
           mhz: dict[int, float]) -> list[list[int]]:
    by_core = {int(b["processor"]): b for b in blocks}
    if policies:
        groups = [[c for c in group if c in by_core] for group in policies]
        return [g for g in groups if g]
    keyed: dict[Any, list[int]] = {}
    for core in sorted(by_core):
        block = by_core[core]
        key = (_int(block.get("CPU implementer")), _int(block.get("CPU part")), mhz.get(core))
        keyed.setdefault(key, []).append(core)
    return list(keyed.values())


def _score(detection: Detection, shared: dict[str, str], name: str, entry: dict[str, Any]
           ) -> int:
    match = entry.get("match") or {}
    score = 0
    model = detection.model or shared.get("Model")
    for text, patterns, points in ((model, match.get("model"), 100),
                                   (shared.get("Hardware"), match.get("hardware"), 20)):
        if text and any(p.lower() in text.lower() for p in patterns or []):
            score += points
    found: dict[str, int] = {}
    for cluster in detection.clusters:
        if cluster.core:
            found[cluster.core.key] = found.get(cluster.core.key, 0) + len(cluster.cores)
    wanted: dict[str, int] = {}
    for cluster in entry["clusters"]:
        wanted[cluster["core"]] = wanted.get(cluster["core"], 0) + int(cluster["count"])
    if found and found == wanted:
        score += 50
    elif found and set(found) == set(wanted):
        score += 30
    elif score < 100:
        return 0  # other core types: a name alone does not make the board
    clocks = {c["core"]: float(c["max_ghz"]) * 1000 for c in entry["clusters"]}
    measured = [(clocks[c.core.key], c.max_mhz) for c in detection.clusters
                if c.core and c.max_mhz and c.core.key in clocks]
    if measured:
        off = max(abs(a - b) / a for a, b in measured)
        score += max(0, round(10 * (1 - 5 * off)))
    return score


def detect(cpuinfo_text: str, sysfs: dict[str, Any] | str | os.PathLike[str] | None = None
           ) -> Detection:
    """What the machine that printed ``cpuinfo_text`` is.

    ``sysfs`` adds what /proc/cpuinfo lacks: a dict with ``max_khz`` or
    ``max_mhz`` (core -> cpufreq maximum), ``policies`` (lists of cores that
    share a clock) and ``model`` (the device-tree model), or the path of a
    sysfs-like folder (:func:`read_sysfs`).
    """
    blocks, shared = parse_cpuinfo(cpuinfo_text)
    mhz, policies, model = _sysfs(sysfs)
    first = blocks[0] if blocks else shared
    vendor = first.get("vendor_id") or first.get("CPU implementer")
    model_name = first.get("model name") or first.get("Processor") or shared.get("Processor")
    if not any("CPU implementer" in b for b in blocks) and "CPU implementer" not in shared:
        return Detection(is_arm=False, vendor=first.get("vendor_id"), model_name=model_name,
                         model=model, warnings=[] if blocks else ["no processor blocks found"])
    detection = Detection(is_arm=True, vendor=vendor, model_name=model_name,
                          model=model or shared.get("Model"))
    by_core = {int(b["processor"]): b for b in blocks}
    for cores in _group(blocks, policies, mhz):
        block = by_core[cores[0]]
        implementer, part = _int(block.get("CPU implementer")), _int(block.get("CPU part"))
        core = catalog.core_by_midr(implementer, part) if implementer is not None and \
            part is not None else None
        flags = (block.get("Features") or "").split()
        cluster = DetectedCluster(cores=cores, implementer=implementer, part=part,
                                  variant=_int(block.get("CPU variant")),
                                  revision=_int(block.get("CPU revision")), core=core,
                                  max_mhz=max((mhz[c] for c in cores if c in mhz), default=None),
                                  features=features_of(block.get("Features")), flags=flags)
        detection.clusters.append(cluster)
        if core is None:
            detection.warnings.append(
                f"cores {cores}: part {cluster.midr} is not in the catalog; reported as unknown")
    # A 32-bit view prints 'CPU architecture: 7' and aarch32 hwcaps (half, thumb, vfp...);
    # a 'v8l' model name alone is not enough (some arm64 kernels print it with aarch64 hwcaps).
    words = set((first.get("Features") or "").split())
    if first.get("CPU architecture", "") == "7" or words & {"half", "thumb", "vfp"}:
        detection.userspace = "aarch32"
        if any(c.core for c in detection.clusters):  # every catalog core is Armv8 or later
            detection.warnings.append(
                "32-bit (aarch32) user space on an Armv8 core: the Features line is the 32-bit "
                "view, and aarch64 runtime wheels will not run there")
    else:
        detection.userspace = "aarch64"
    entries = catalog.board_data()["boards"]
    scored = sorted(((name, _score(detection, shared, name, entry))
                     for name, entry in entries.items()), key=lambda pair: -pair[1])
    detection.candidates = [(name, score) for name, score in scored if score > 0]
    if detection.candidates:
        detection.board = detection.candidates[0][0]
    return detection


def _probe_sysfs(cpu: Mapping[str, Any]) -> dict[str, Any]:
    mhz: dict[int, float] = {}
    policies: list[list[int]] = []
    for cluster in cpu.get("clusters") or []:
        cores = [int(c) for c in cluster.get("cores") or []]
        if cores:
            policies.append(cores)
        if cluster.get("max_mhz"):
            mhz.update(dict.fromkeys(cores, float(cluster["max_mhz"])))
    return {"max_mhz": mhz, "policies": policies, "model": cpu.get("board_model")}


def from_probe(cpu: Mapping[str, Any] | None, name: str = "the device") -> Detection:
    """Detection from a device probe's ``cpu`` section: its /proc/cpuinfo text and clusters.

    A pure function of what the probe carried; :func:`workbench.jobs.detect_target`
    probes a live device first. ``.target`` of the result is the catalog target
    (None for a non-Arm machine).
    """
    found = dict(cpu or {})
    text = str(found.get("cpuinfo") or "")
    detection = detect(text, _probe_sysfs(found))
    if not text:
        detection.warnings.append(f"the probe of {name} carried no /proc/cpuinfo text")
    return detection
