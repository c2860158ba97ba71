"""Renderings of a :class:`~workbench.profiling.profile.Profile` for other tools and people.

* :func:`chrome_trace`: the Chrome trace object format (Perfetto, chrome://tracing);
* :func:`html_report`: one self-contained HTML file, figures embedded as data URIs;
* :func:`mimebundle`: what a notebook front end shows (lab MIME type, HTML, PNG, text).

Figures come from :mod:`workbench.plots`, imported on first use only: plots
sit above profiling in the layering, and matplotlib is slow to import.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Container
from html import escape
from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from workbench.profiling.profile import Profile

#: the lab extension's MIME type for a profile
PROFILE_MIME = "application/vnd.workbench.profile+json"

_RUN_PID = 1


# --- Chrome trace -----------------------------------------------------------------


def _meta(name: str, pid: int, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "ts": 0, "pid": pid, "tid": tid, "args": args}


def _number(value: Any, default: float = 0.0) -> float:
    return float(value) if fmt.is_number(value) else default


def _run_events(profile: Profile) -> tuple[list[dict[str, Any]], dict[int, dict[int, str]]]:
    """The stored run's events with ph/pid/tid/ts/dur filled in; thread names per pid."""
    raw = profile.trace_events
    int_tids = [e["tid"] for e in raw if isinstance(e.get("tid"), int)]
    next_tid = max(int_tids, default=0) + 1
    string_tids: dict[str, int] = {}
    threads: dict[int, dict[int, str]] = {}
    events = []
    for source in raw:
        event = dict(source)
        event.setdefault("ph", "X")
        event["name"] = str(event.get("name", ""))
        pid = event.get("pid")
        event["pid"] = pid if isinstance(pid, int) and not isinstance(pid, bool) else _RUN_PID
        tid = event.get("tid", 0)
        if isinstance(tid, int) and not isinstance(tid, bool):
            thread_name = f"thread {tid}"
        else:  # Perfetto wants integer thread ids: number the named ones, keep the name
            thread_name = str(tid)
            if thread_name not in string_tids:
                string_tids[thread_name] = next_tid
                next_tid += 1
            tid = string_tids[thread_name]
        event["tid"] = tid
        event["ts"] = _number(event.get("ts"))
        if event["ph"] == "X":
            event["dur"] = max(0.0, _number(event.get("dur")))
        threads.setdefault(event["pid"], {}).setdefault(tid, thread_name)
        events.append(event)
    return events, threads


def _boxes(names: list[str], durations_us: list[float], pid: int, cat: str,
           args: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete events laid end to end on one track."""
    events, ts = [], 0.0
    for name, dur, extra in zip(names, durations_us, args, strict=True):
        events.append({"name": name, "cat": cat, "ph": "X", "ts": ts, "dur": max(0.0, dur),
                       "pid": pid, "tid": 0, "args": extra})
        ts += max(0.0, dur)
    return events


def chrome_trace(profile: Profile) -> dict[str, Any]:
    """The profile as a Chrome trace object: ``traceEvents``, ``displayTimeUnit``, ``metadata``.

    Tracks: the stored run's raw events (or, without a trace, the layers'
    median times laid end to end, marked synthetic), and one box per timed
    run laid end to end so the latency distribution shows as well.
    """
    doc = profile.document
    backend = doc["backend"]
    caveat = f" [{profile.caveat}]" if profile.caveat else ""
    backend_text = f"{backend['name']} {backend.get('version') or ''}".strip()
    events, threads = _run_events(profile)
    trace = doc.get("trace") or {}
    out: list[dict[str, Any]] = []
    if events:
        run_name = f"{profile.device_name}: {backend_text}, run {trace.get('run_index', 0)}"
    else:
        layers = [layer for layer in profile.layers if layer_time_us(layer) is not None]
        events = _boxes([str(layer["name"]) for layer in layers],
                        [layer_time_us(layer) or 0.0 for layer in layers], _RUN_PID, "layer",
                        [{"op_type": layer["op_type"], "original_nodes": layer.get(
                            "original_nodes", [])} for layer in layers])
        threads = {_RUN_PID: {0: "layers"}} if events else {}
        run_name = f"{profile.device_name}: {backend_text}, layer medians (synthetic, no raw trace)"
    for order, (pid, tids) in enumerate(sorted(threads.items())):
        out.append(_meta("process_name", pid, 0, {"name": run_name + caveat}))
        out.append(_meta("process_sort_index", pid, 0, {"sort_index": order}))
        out += [_meta("thread_name", pid, tid, {"name": name}) for tid, name in tids.items()]
    out += events

    latency_pid = max([_RUN_PID, *threads]) + 1
    samples = profile.latency_samples
    if samples:
        boxes = _boxes([f"run {i}" for i in range(len(samples))], [s * 1000 for s in samples],
                       latency_pid, "latency", [{"latency_ms": s} for s in samples])
        track = "timed runs end to end (profiling off)"
    else:
        median = profile.latency.get("median")
        boxes = [] if not fmt.is_number(median) else _boxes(
            ["median latency"], [float(median) * 1000], latency_pid, "latency",
            [{"latency_ms": median}])
        track = "median latency"
    if boxes:
        out.append(_meta("process_name", latency_pid, 0,
                         {"name": f"{profile.label}: latency{caveat}"}))
        out.append(_meta("process_sort_index", latency_pid, 0, {"sort_index": len(threads)}))
        out.append(_meta("thread_name", latency_pid, 0, {"name": track}))
        out += boxes
    metadata = {"schema": doc["schema"], "label": profile.label, "kind": profile.kind,
                "model": profile.model_name, "model_sha256": doc["model"]["sha256"],
                "device": profile.device_name, "backend": backend_text,
                "created": doc.get("created"), "caveat": profile.caveat}
    return {"traceEvents": out, "displayTimeUnit": "ms", "metadata": metadata}


# --- HTML ---------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.15em .6em;text-align:left}
th{background:#f0f0f0}tr:nth-child(even) td{background:#fafafa}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%}.facts th{background:none;font-weight:600}
""".strip()


def _facts_table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{cells}</table>'


def _caveat_html(profile: Profile) -> str:
    # Styled inline: the notebook view has no stylesheet of its own.
    style = "background:#b00020;color:#fff;font-weight:bold;padding:.4em .8em;display:inline-block"
    if not profile.caveat:
        return ""
    return f'<p class="caveat" style="{style}">{escape(profile.caveat)}</p>'


def _layer_table(profile: Profile, layers: list[dict[str, Any]]) -> str:
    headers = ["layer", "op type", "original nodes", "median µs", "share", "MACs", "GMAC/s"]
    numeric = [False, False, False, True, True, True, True]
    head = "".join(f'<th{" class=n" if n else ""}>{escape(h)}</th>'
                   for h, n in zip(headers, numeric, strict=True))
    body = []
    for cells in profile.layer_table_rows(layers, nodes_width=None):
        body.append("<tr>" + "".join(f'<td{" class=n" if n else ""}>{escape(c)}</td>'
                                      for c, n in zip(cells, numeric, strict=True)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def _header_rows(profile: Profile) -> list[tuple[str, str]]:
    doc = profile.document
    model, device, backend = doc["model"], doc["device"], doc["backend"]
    cpu = device.get("cpu") or {}
    target = doc.get("target") or {}
    rows = [("model", f"{model['name']} (sha256 {model['sha256']})"),
            ("device", ", ".join(str(v) for v in (
                device["name"], device.get("kind"), device.get("arch"), device.get("os"),
                cpu.get("model_name") if isinstance(cpu, dict) else None,
                f"{device['cores']} cores" if device.get("cores") else None,
                fmt.fmt_bytes(device["memory_bytes"]) if device.get("memory_bytes") else None)
                if v))]
    if target.get("name"):
        rows.append(("target", str(target["name"])))
    rows.append(("backend", f"{backend['name']} {backend.get('version') or ''}".strip()))
    if backend.get("providers"):
        rows.append(("providers", ", ".join(backend["providers"])))
    rows.append(("options", json.dumps(backend.get("options", {}), ensure_ascii=False)))
    rows.append(("kind", profile.kind))
    run = doc.get("run") or {}
    rows.append(("run", ", ".join(f"{k} {v}" for k, v in run.items())))
    for key, value in (doc.get("versions") or {}).items():
        rows.append((f"version: {key}", str(value)))
    rows.append(("created", str(doc.get("created", ""))))
    return rows


def _latency_rows(profile: Profile) -> list[tuple[str, str]]:
    stats, latency = profile.latency, profile.document["latency"]
    rows = [("runs", str(stats.get("count", 0)))]
    rows += [(key, f"{fmt.fmt_number(stats.get(key))} ms")
             for key in ("median", "p90", "p99", "mean", "std", "min", "max")]
    rows += [("cold (first run)", f"{fmt.fmt_number(latency.get('cold_ms'))} ms"),
             ("session create", f"{fmt.fmt_number(latency.get('session_create_ms'))} ms")]
    if latency.get("source"):
        rows.append(("source", str(latency["source"])))
    return rows


def _figures(profile: Profile) -> list[tuple[str, Callable[[Profile], Figure]]]:
    """The figures that have data to show, as (alt text, plot function)."""
    from workbench import plots

    timed = [layer for layer in profile.layers if layer_time_us(layer) is not None]
    chosen: list[tuple[str, Callable[[Profile], Figure]]] = []
    if profile.latency_samples:
        chosen.append(("latency distribution", plots.latency_distribution))
    if timed:
        chosen += [("top layers by time", plots.top_layers),
                   ("time by op type", plots.time_by_op_type)]
    if any(fmt.is_number(layer.get("macs")) and layer["macs"] > 0 for layer in timed):
        chosen.append(("time vs MACs", plots.time_vs_macs))
    return chosen


def html_report(profile: Profile) -> str:
    """One self-contained HTML page: header, latency, memory, warnings, figures, layers."""
    from workbench.plots import figure_png

    doc = profile.document
    parts = [f"<h1>{escape(profile.label)}</h1>", _caveat_html(profile),
             _facts_table(_header_rows(profile)),
             "<h2>Latency</h2>", _facts_table(_latency_rows(profile))]
    memory = doc.get("memory") or {}
    if memory:
        parts += ["<h2>Memory</h2>", _facts_table(
            [(key.replace("_bytes", "").replace("_", " "), fmt.fmt_bytes(value))
             for key, value in memory.items()])]
    if doc.get("warnings"):
        items = "".join(f"<li>{escape(str(w))}</li>" for w in doc["warnings"])
        parts += ["<h2>Warnings</h2>", f"<ul>{items}</ul>"]
    from workbench.profiling.delegation import html_section

    parts.append(html_section(profile))
    figures = _figures(profile)
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [f"<figure>{_img(figure_png(plot(profile)), alt)}</figure>"
                  for alt, plot in figures]
    parts.append(f"<h2>Layers ({len(profile.layers)})</h2>")
    if doc.get("layer_source"):
        parts.append(f"<p>{escape(str(doc['layer_source']))}</p>")
    parts.append(_layer_table(profile, profile.layers) if profile.layers
                 else "<p>No per-layer rows.</p>")
    title = escape(profile.label + (f" — {profile.caveat}" if profile.caveat else ""))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(p for p in parts if p)
            + f"\n<footer><p>Edge Workbench profile ({escape(doc['schema'])})</p></footer>"
            "\n</body></html>\n")


# --- notebook -----------------------------------------------------------------------


def _json_part(profile: Profile) -> dict[str, Any]:
    """The document without the bulky raw events; everything else kept, in order."""
    from workbench.profiling.timeline import run_timeline

    document = dict(profile.document)
    if isinstance(document.get("trace"), dict):
        document["trace"] = {k: v for k, v in document["trace"].items() if k != "events"}
    # the raw events stay out; a compact, bounded timeline of the run goes in instead
    document["timeline"] = run_timeline(profile)
    return document


def _preview_png(profile: Profile) -> bytes | None:
    from workbench import plots

    if any(layer_time_us(layer) is not None for layer in profile.layers):
        return plots.figure_png(plots.top_layers(profile, n=10))
    if profile.latency_samples:
        return plots.figure_png(plots.latency_distribution(profile))
    return None


def mimebundle(profile: Profile, include: Container[str] | None = None,
               exclude: Container[str] | None = None) -> dict[str, Any]:
    """The notebook display bundle, honouring IPython's ``include`` / ``exclude``."""

    def wanted(key: str) -> bool:
        return (include is None or key in include) and (exclude is None or key not in exclude)

    bundle: dict[str, Any] = {}
    if wanted(PROFILE_MIME):
        bundle[PROFILE_MIME] = _json_part(profile)
    png = _preview_png(profile) if wanted("image/png") or wanted("text/html") else None
    if wanted("text/html"):
        stats = profile.latency
        latency = (f"median {fmt.fmt_number(stats.get('median'))} ms · "
                   f"p90 {fmt.fmt_number(stats.get('p90'))} ms · "
                   f"mean {fmt.fmt_number(stats.get('mean'))} ± "
                   f"{fmt.fmt_number(stats.get('std'))} ms · {stats.get('count', 0)} runs")
        parts = [f"<div class=\"workbench-profile\"><strong>{escape(profile.label)}</strong>"
                 f" <em>({escape(profile.kind)})</em>", _caveat_html(profile),
                 f"<p>{escape(latency)}</p>"]
        if profile.layers:
            top = profile.top_layers(10)
            parts += [f"<p>Top {len(top)} of {len(profile.layers)} layers</p>",
                      _layer_table(profile, top)]
        if png is not None:
            parts.append(_img(png, "top layers by time"))
        bundle["text/html"] = "\n".join(p for p in parts if p) + "</div>"
    if wanted("image/png") and png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    if wanted("text/plain"):
        bundle["text/plain"] = profile.summary()
    return bundle
