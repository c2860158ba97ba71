"""The text summary of a profile (``Profile.summary``): what the CLI prints and what a
notebook shows as plain text.

Header (model, device, target, backend, latency, memory), the slowest
layers, where the nodes ran, and the warnings; a profile whose times are not
hardware times says so on its second line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt
from workbench.views.delegation import delegation_text
from workbench.views.kernels import kernel_text
from workbench.views.layers import STATISTIC, layer_text, layers_total_text

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile


def _model_line(profile: Profile) -> str:
    model = profile.document["model"]
    bits = [str(model["name"]), f"sha256 {str(model['sha256'])[:12]}"]
    if fmt.is_number(model.get("params")):
        bits.append(f"{fmt.fmt_si(model['params'])} params")
    if fmt.is_number(model.get("macs")):
        bits.append(f"{fmt.fmt_si(model['macs'])} MACs")
    return "model     " + "  ".join(bits)


def _device_line(profile: Profile) -> str:
    device = profile.document["device"]
    bits = [str(device.get("kind")), str(device.get("arch"))]
    if fmt.is_number(device.get("cores")):
        bits.append(f"{device['cores']} cores")
    return f"device    {device['name']} ({', '.join(bits)})"


def _backend_line(profile: Profile) -> str:
    backend = profile.document["backend"]
    line = f"backend   {backend['name']}"
    if backend.get("version"):
        line += f" {backend['version']}"
    if backend.get("providers"):
        line += f"  [{', '.join(backend['providers'])}]"
    if backend.get("options"):
        line += "  options: " + ", ".join(f"{k}={v}" for k, v in backend["options"].items())
    return line


def _latency_lines(profile: Profile) -> list[str]:
    stats, latency = profile.latency, profile.document["latency"]
    expected = fmt.estimate_line(profile.document)
    lines = []
    # an estimate ran nothing: no runs, spread or p90 to show, only its total and error bar
    if profile.kind != "estimate" or not expected:
        lines.append(f"latency   median {fmt.fmt_number(stats.get('median'))} ms  "
                     f"p90 {fmt.fmt_number(stats.get('p90'))} ms  "
                     f"mean {fmt.fmt_number(stats.get('mean'))} ± "
                     f"{fmt.fmt_number(stats.get('std'))} ms  ({stats.get('count', 0)} runs)")
    if expected:
        lines.append(f"estimate  {expected}")
    total = layers_total_text(profile.layers) if profile.kind != "estimate" else None
    if total:
        lines.append(f"layers    all {total}")
    if stats.get("median_ci"):
        low, high = stats["median_ci"]
        lines.append(f"          median 95% CI {fmt.fmt_number(low)}-{fmt.fmt_number(high)} ms")
    if fmt.is_number(latency.get("cold_ms")) or fmt.is_number(latency.get("session_create_ms")):
        lines.append(f"          cold {fmt.fmt_number(latency.get('cold_ms'))} ms  session "
                     f"create {fmt.fmt_number(latency.get('session_create_ms'))} ms")
    return lines


#: the kernel-class table of an estimate: (header, numeric) columns
CLASS_COLUMNS = (("kernel class", False), ("layers", True), ("share", True), ("error bar", True),
                 ("rates from", False), ("calibrated ceiling", False))


def class_cells(profile: Profile) -> list[list[str]]:
    """An estimate's kernel classes as table cells (none for a measured profile)."""
    section = profile.document.get("estimate") or {}
    # a class costed at datasheet peaks alone is a lower bound, not a symmetric error bar
    return [[str(c["kernel_class"]), str(c["layers"]), fmt.fmt_share(c["share"]),
             f"± {c['error_pct']:.0f} %" if any(
                 count for source, count in c["sources"].items() if source != "datasheet")
             else "lower bound",
             ", ".join(f"{source} {count}" for source, count in c["sources"].items()),
             str(c.get("calibrated") or "–")]
            for c in section.get("classes") or []]


def header_lines(profile: Profile) -> list[str]:
    """The summary's header: label, caveat, model, device, target, backend, latency, memory."""
    doc = profile.document
    lines = [profile.label]
    if profile.caveat:
        lines.append(f"*** {profile.caveat} ***")
    lines += [_model_line(profile), _device_line(profile)]
    target = doc.get("target") or {}
    if target.get("summary"):
        lines.append(f"target    {target['summary']}")
    lines += [_backend_line(profile),
              f"kind      {profile.kind}  created {doc.get('created', '?')}",
              *_latency_lines(profile)]
    memory = doc.get("memory") or {}
    if memory.get("peak_rss_after_runs_bytes"):
        arena = memory.get("arena_bytes")
        lines.append(f"memory    peak RSS {fmt.fmt_bytes(memory['peak_rss_after_runs_bytes'])}"
                     + (f"  arena {fmt.fmt_bytes(arena)}" if arena else ""))
    cores = (doc.get("environment") or {}).get("cores_used")
    if cores:
        lines.append(f"cores     {', '.join(map(str, cores))}")
    return lines


def _no_layers(doc: dict[str, Any]) -> str:
    """Why a profile has no per-layer rows: no profiled runs asked for, or the reason the
    runner gave in the warnings (a LiteRT device without ``benchmark_model``)."""
    runs = (doc.get("run") or {}).get("profile_runs")
    if not runs:
        return "No per-layer rows (profile_runs was 0)."
    why = next((str(w) for w in doc.get("warnings") or []
                if "per-op" in str(w) or "per-layer" in str(w)), None)
    if why:
        return f"No per-layer rows: {why}"
    return (f"No per-layer rows: the backend reported none in {runs} profiled runs "
            "(see the warnings).")


def profile_summary(profile: Profile, top: int = 10) -> str:
    """The plain-text summary: header, the ``top`` slowest layers, delegation, warnings."""
    doc = profile.document
    lines = header_lines(profile)
    layers = profile.top_layers(top)
    if layers:
        runs = doc["run"].get("profile_runs")
        per = f" ({runs} profiled runs)" if runs else ""
        lines += ["", f"Top {len(layers)} of {len(profile.layers)} layers by {STATISTIC} time "
                      f"per run{per}:", *layer_text(layers)]
        kernels = kernel_text(layers)
        if kernels:
            lines += ["", "Kernels of these layers (median per run):", *kernels]
    else:
        lines += ["", _no_layers(doc)]
    classes = class_cells(profile)
    if classes:
        lines += ["", "Kernel classes (each layer costed at its class's rate):",
                  *fmt.text_table([h for h, _ in CLASS_COLUMNS], classes,
                                  [n for _, n in CLASS_COLUMNS])]
    lines += delegation_text(doc.get("delegation"))
    if doc.get("notes"):
        lines += ["", "Notes:", *(f"- {n}" for n in doc["notes"])]
    if doc.get("warnings"):
        lines += ["", "Warnings:", *(f"- {w}" for w in doc["warnings"])]
    return "\n".join(lines)
