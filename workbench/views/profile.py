"""HTML views of a profile: the self-contained report page and the notebook bundle.

* :func:`html_report`: one HTML file (``Profile.to_html``), its figures inline
  SVG drawn without matplotlib (:mod:`workbench.views.figures`), nothing
  fetched from elsewhere;
* :func:`profile_mimebundle`: what a notebook front end shows
  (``Profile._repr_mimebundle_``): the lab extension's MIME type, with HTML,
  PNG and plain-text fallbacks.

The bundle's PNG comes from :mod:`workbench.plots`, which loads matplotlib
only when a figure is drawn; the plain-text part of the bundle draws none.
"""

from __future__ import annotations

import json
from collections.abc import Container
from html import escape
from typing import TYPE_CHECKING, Any

from workbench import plots
from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us
from workbench.views import parts
from workbench.views.delegation import delegation_html
from workbench.views.figures import report_figures
from workbench.views.layers import layer_html, layers_total_ms, layers_total_text
from workbench.views.summary import CLASS_COLUMNS, class_cells, profile_summary

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile

#: the lab extension's MIME type for a profile
PROFILE_MIME = "application/vnd.workbench.profile+json"

#: layers in the notebook view (the report page shows them all)
NOTEBOOK_LAYERS = 10

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.15em .6em;text-align:left;
vertical-align:top}
th{background:#f0f0f0}tr:nth-child(even) td{background:#fafafa}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
img{max-width:100%}figure{margin:1em 0}.facts th{background:none;font-weight:600}
details{display:inline}summary{cursor:pointer;color:#555}
""".strip()


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
    expected = fmt.estimate_line(profile.document)
    if profile.kind == "estimate" and expected:  # nothing ran: no runs or spread to show
        return [("estimate", expected), ("source", str(latency.get("source") or "–"))]
    rows = [("runs", str(stats.get("count", 0)))]
    if expected:
        rows.append(("estimate", expected))
    rows += [(key, f"{fmt.fmt_number(stats.get(key))} ms")
             for key in ("median", "p90", "p99", "mean", "std", "min", "max")]
    total = layers_total_text(profile.layers)
    if total:
        rows.append(("all layers", total))
    rows += [("cold (first run)", f"{fmt.fmt_number(latency.get('cold_ms'))} ms"),
             ("session create", f"{fmt.fmt_number(latency.get('session_create_ms'))} ms")]
    if latency.get("source"):
        rows.append(("source", str(latency["source"])))
    return rows


def html_report(profile: Profile) -> str:
    """One self-contained HTML page: header, latency, delegation, figures and every layer."""
    doc = profile.document
    html = [f"<h1>{escape(profile.label)}</h1>", parts.caveat_banner(profile.caveat),
            parts.facts_table(_header_rows(profile)),
            "<h2>Latency</h2>", parts.facts_table(_latency_rows(profile))]
    memory = doc.get("memory") or {}
    if memory:
        html += ["<h2>Memory</h2>", parts.facts_table(
            [(key.replace("_bytes", "").replace("_", " "), fmt.fmt_bytes(value))
             for key, value in memory.items()])]
    for title, key in (("Notes", "notes"), ("Warnings", "warnings")):
        if doc.get(key):
            items = "".join(f"<li>{escape(str(w))}</li>" for w in doc[key])
            html += [f"<h2>{title}</h2>", f"<ul>{items}</ul>"]
    classes = class_cells(profile)
    if classes:
        html += ["<h2>Kernel classes</h2>", parts.table(
            CLASS_COLUMNS, parts.text_rows(classes, [n for _, n in CLASS_COLUMNS]))]
    html.append(delegation_html(profile))
    figures = report_figures(profile)
    if figures:
        html.append("<h2>Figures</h2>")
        html += [f'<figure aria-label="{escape(alt)}">{svg}</figure>' for alt, svg in figures]
    html.append(f"<h2>Layers ({len(profile.layers)})</h2>")
    if doc.get("layer_source"):
        html.append(f"<p>{escape(str(doc['layer_source']))}</p>")
    html.append(layer_html(profile.layers) if profile.layers else "<p>No per-layer rows.</p>")
    title = escape(profile.label + (f" — {profile.caveat}" if profile.caveat else ""))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(part for part in html if part)
            + f"\n<footer><p>Edge Workbench profile ({escape(doc['schema'])})</p></footer>"
            "\n</body></html>\n")


#: the version of the payload's compact ``view`` section (extensions/src/data.ts, expandView)
VIEW_FORMAT = 2


def _significant(value: Any, digits: int = 4) -> Any:
    """A float to the digits the renderer can show (three), not to seventeen."""
    return float(f"{value:.{digits}g}") if isinstance(value, float) else value


def _compact_view(layers: list[dict[str, Any]], topology: Any) -> dict[str, Any]:
    """The layer rows and the model graph as columns, which is what the renderer reads.

    Column per field instead of an object per row; repeated strings (op types,
    kinds, providers) as indices into ``strings``; a layer's original nodes and
    the graph's edges as indices into ``nodes`` (a node name not in the graph
    stays a name). A notebook front end copies an output's data several times
    on the way to the renderer, at a cost that grows with its objects: a
    1,000-node profile's rows and graph were 7,000 of them, and are now a few
    dozen arrays.
    """
    strings: list[str] = []
    interned: dict[str, int] = {}

    def intern(value: Any) -> int:
        if value is None:
            return -1
        text = str(value)
        if text not in interned:
            interned[text] = len(strings)
            strings.append(text)
        return interned[text]

    nodes = None
    edges: list[int] = []
    position: dict[str, int] = {}
    if isinstance(topology, dict):
        graph_nodes = topology.get("nodes") or []
        position = {str(node["name"]): i for i, node in enumerate(graph_nodes)}
        nodes = {"name": [str(node["name"]) for node in graph_nodes],
                 "op_type": [intern(node.get("op_type")) for node in graph_nodes],
                 "macs": [node.get("macs") for node in graph_nodes]}
        for edge in topology.get("edges") or []:
            start, end = position.get(str(edge["from"])), position.get(str(edge["to"]))
            if start is not None and end is not None:  # the renderer draws node to node only
                edges += [start, end]
    rows = {"name": [layer.get("name") for layer in layers],
            "op_type": [intern(layer.get("op_type")) for layer in layers],
            "kind": [intern(layer.get("kind")) for layer in layers],
            "provider": [intern(layer.get("provider")) for layer in layers],
            "nodes": [[position.get(str(name), str(name)) for name in
                       layer.get("original_nodes") or []] for layer in layers],
            "median_us": [_significant((layer.get("duration_us") or {}).get("median"), 6)
                          for layer in layers],
            "share": [_significant(layer.get("share")) for layer in layers],
            "macs": [layer.get("macs") for layer in layers]}
    graph = None if nodes is None else {**nodes, "edges": edges,
                                        "inputs": topology.get("inputs") or [],
                                        "outputs": topology.get("outputs") or []}
    return {"format": VIEW_FORMAT, "strings": strings, "layers": rows, "graph": graph}


def _json_part(profile: Profile) -> dict[str, Any]:
    """What the lab extension draws: the document, slimmed where it is bulky.

    The raw trace events give way to a compact, bounded timeline of the run,
    and the layer rows and the model graph to their compact ``view`` (what
    the renderer shows of them, as columns). A 1,000-node model's part is
    then about a third of the size, and the notebook keeps less. The whole
    document stays in the Profile (``save``, ``to_json``).
    """
    from workbench.profiling.timeline import run_timeline

    document = dict(profile.document)
    if isinstance(document.get("trace"), dict):
        document["trace"] = {k: v for k, v in document["trace"].items() if k != "events"}
    document["view"] = _compact_view(profile.layers, document.pop("topology", None))
    del document["layers"]
    document["timeline"] = run_timeline(profile)
    return document


def _preview_png(profile: Profile) -> bytes | None:
    if any(layer_time_us(layer) is not None for layer in profile.layers):
        return plots.figure_png(plots.top_layers(profile, n=NOTEBOOK_LAYERS))
    if profile.latency_samples:
        return plots.figure_png(plots.latency_distribution(profile))
    return None


def _notebook_html(profile: Profile, png: bytes | None) -> str:
    stats = profile.latency
    expected = fmt.estimate_line(profile.document)
    latency = (f"estimate {expected}" if profile.kind == "estimate" and expected else
               f"median {fmt.fmt_number(stats.get('median'))} ms · "
               f"p90 {fmt.fmt_number(stats.get('p90'))} ms · "
               f"mean {fmt.fmt_number(stats.get('mean'))} ± "
               f"{fmt.fmt_number(stats.get('std'))} ms · {stats.get('count', 0)} runs")
    total = layers_total_ms(profile.layers)
    if total is not None and profile.kind != "estimate":
        latency += f" · all layers {fmt.fmt_number(total)} ms (what the shares are of)"
    html = [f"<div class=\"workbench-profile\"><strong>{escape(profile.label)}</strong>"
            f" <em>({escape(profile.kind)})</em>", parts.caveat_banner(profile.caveat),
            f"<p>{escape(latency)}</p>"]
    if profile.layers:
        top = profile.top_layers(NOTEBOOK_LAYERS)
        html += [f"<p>Top {len(top)} of {len(profile.layers)} layers</p>", layer_html(top)]
    if png is not None:
        html.append(parts.png_img(png, "top layers by time"))
    return "\n".join(part for part in html if part) + "</div>"


def profile_mimebundle(profile: Profile, include: Container[str] | None = None,
                       exclude: Container[str] | None = None) -> dict[str, Any]:
    """The notebook display bundle, honouring IPython's ``include`` / ``exclude``."""
    bundle: dict[str, Any] = {}
    if parts.wanted(PROFILE_MIME, include, exclude):
        bundle[PROFILE_MIME] = _json_part(profile)
    html, image = (parts.wanted(key, include, exclude) for key in ("text/html", "image/png"))
    png = _preview_png(profile) if html or image else None
    if html:
        bundle["text/html"] = _notebook_html(profile, png)
    if image and png is not None:
        bundle["image/png"] = parts.png_base64(png)
    if parts.wanted("text/plain", include, exclude):
        bundle["text/plain"] = profile_summary(profile)
    return bundle
