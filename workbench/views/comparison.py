"""Renderings for people: HTML and text views of a comparison, and its notebook bundle.

* :func:`comparison_text`: a short text table (latency, speed-up, layers won);
* :func:`comparison_html`: an HTML fragment for a notebook cell;
* :func:`comparison_page`: a self-contained HTML page (``Comparison.to_html``);
* :func:`comparison_mimebundle`: what a notebook front end shows.

A view holds no logic of its own: every figure comes from the comparison's
``workbench.comparison/1`` document (``Comparison.to_dict``), the same one
the lab extension renders, so all front ends show the same numbers. Every
string taken from a profile is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt
from workbench.views.parts import cell, table, wanted

if TYPE_CHECKING:
    from workbench.profiling.comparison import Comparison

#: the lab extension's MIME type for a comparison
COMPARISON_MIME = "application/vnd.workbench.comparison+json"

#: layers shown in the notebook view (the page shows them all)
NOTEBOOK_LAYERS = 15

_CSS = """
.workbench-comparison{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#222}
.workbench-comparison table{border-collapse:collapse;font-size:.9em;margin:.3em 0 .8em}
.workbench-comparison td,.workbench-comparison th{padding:.15em .6em;text-align:left;
vertical-align:top}
.workbench-comparison th{background:#f0f0f0}
.workbench-comparison td.n,.workbench-comparison th.n{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
.workbench-comparison .faster{color:#1a7f37}.workbench-comparison .slower{color:#b00020}
.workbench-comparison .caveat{background:#b00020;color:#fff;font-weight:bold;
padding:.3em .8em;display:inline-block;margin:.2em 0}
""".strip()

_PAGE_CSS = """
body{margin:1.5em}h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.2em 0 .4em}
""".strip()


# --- figures as text ----------------------------------------------------------------


def _ratio(value: Any) -> str:
    return f"{float(value):.2f}×" if fmt.is_number(value) else "–"


def _speedup_class(value: Any) -> str:
    if not fmt.is_number(value) or value == 1:
        return ""
    return "faster" if value > 1 else "slower"


def _won(wins: dict[str, Any], layers: int) -> str:
    return f"{wins['layers_won']} of {layers}"


def _heading(document: dict[str, Any]) -> str:
    count = len(document["labels"])
    noun = "profile" if count == 1 else "profiles"
    return f"Comparison of {count} {noun}"


def _caveats(document: dict[str, Any]) -> list[str]:
    return [f"{row['label']}: {row['caveat']}" for row in document["latency"] if row["caveat"]]


# --- text ---------------------------------------------------------------------------


def comparison_text(comparison: Comparison,
                    rows_at: str = ".to_dataframe() has them") -> str:
    """A short text table: latency per profile, speed-up over the baseline, layers won.
    ``rows_at`` ends the footer: where the matched layers are, in the reader's front end
    (the method in Python, the command's option on the command line)."""
    document = comparison.to_dict()
    baseline = document["baseline"]
    layers = len(document["layers"])
    lines = [f"{_heading(document)}, baseline: {document['labels'][baseline]}"]
    lines += [f"*** {caveat} ***" for caveat in _caveats(document)]
    headers = ["#", "profile", "kind", "median ms", "speed-up", "layers won", "won by µs"]
    rows = []
    for index, (row, wins) in enumerate(zip(document["latency"], document["wins"],
                                            strict=True)):
        rows.append([str(index), row["label"], row["kind"], fmt.fmt_number(row["median_ms"]),
                     "baseline" if index == baseline else _ratio(row["speedup"]),
                     _won(wins, layers), fmt.fmt_number(wins["margin_us"])])
    lines += ["", *fmt.text_table(headers, rows, [True, False, False, True, True, True, True])]
    for record in document.get("accuracy") or []:
        lines.append(f"{record['label']} against the baseline: max |err| "
                     f"{fmt.fmt_number(record.get('max_abs_error'))}, cosine "
                     f"{fmt.fmt_number(record.get('cosine'))}"
                     + (f"; error jumps at {record['first_jump']}"
                        if record.get("first_jump") else ""))
    differing = (document.get("delegation") or {}).get("differing_nodes") or []
    if differing:
        lines.append(f"{len(differing)} model nodes ran on different providers")
    lines += ["", f"{layers} matched layers; {rows_at}, slowest first"
              if layers else "No per-layer rows to match."]
    return "\n".join(lines)


# --- HTML ---------------------------------------------------------------------------


def _caveats_html(document: dict[str, Any]) -> str:
    return "".join(f'<p class="caveat">{escape(caveat)}</p>' for caveat in _caveats(document))


def _latency_table(document: dict[str, Any]) -> str:
    baseline, layers = document["baseline"], len(document["layers"])
    headers = [("#", True), ("profile", False), ("kind", False), ("runs", True),
               ("median ms", True), ("p90 ms", True), ("speed-up", True),
               ("peak RSS MiB", True), ("layers won", True), ("won by µs", True)]
    rows = []
    for index, (row, wins) in enumerate(zip(document["latency"], document["wins"],
                                            strict=True)):
        ratio = row["speedup"]
        cells = [cell(str(index), True), cell(row["label"]), cell(row["kind"]),
                 cell(str(row["count"]), True), cell(fmt.fmt_number(row["median_ms"]), True),
                 cell(fmt.fmt_number(row.get("p90_ms")), True),
                 cell("baseline", True) if index == baseline
                 else cell(_ratio(ratio), True, _speedup_class(ratio)),
                 cell(fmt.fmt_number(row.get("peak_rss_mib")), True),
                 cell(_won(wins, layers), True), cell(fmt.fmt_number(wins["margin_us"]), True)]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return table(headers, rows)


def _layer_table(document: dict[str, Any], layers: Sequence[dict[str, Any]],
                 nodes_width: int | None) -> str:
    labels, baseline = document["labels"], document["baseline"]
    headers = [("#", True), ("layer", False), ("op type", False), ("original nodes", False)]
    for index, label in enumerate(labels):
        headers.append((f"{label}: median µs", True))
        if index != baseline:
            headers.append((f"{label}: speed-up", True))
    headers.append(("fastest", False))
    rows = []
    for number, layer in enumerate(layers, 1):
        cells = [cell(str(number), True), cell(layer["layer"]), cell(layer["op_type"]),
                 cell(fmt.join_nodes(layer["original_nodes"], nodes_width))]
        winner = layer["winner"]
        for index in range(len(labels)):
            time = fmt.fmt_number(layer["time_us"][index])
            cells.append(f"<td class=\"n\"><strong>{escape(time)}</strong></td>"
                         if index == winner and len(labels) > 1 else cell(time, True))
            if index != baseline:
                ratio = layer["speedup"][index]
                cells.append(cell(_ratio(ratio), True, _speedup_class(ratio)))
        cells.append(cell("–" if winner is None else labels[winner]))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return table(headers, rows)


def _accuracy_table(document: dict[str, Any]) -> str:
    """Each profile's output against the baseline's, and where its layer error jumps."""
    records = document.get("accuracy") or []
    if not records:
        return ""
    headers = [("profile", False), ("against", False), ("output", False),
               ("max |err|", True), ("cosine", True), ("SNR dB", True), ("top-1", True),
               ("error jumps at", False)]
    rows = []
    for record in records:
        top1 = record.get("top1_agreement")
        cells = [cell(record["label"]), cell(record["against"]), cell(record.get("output") or "–"),
                 cell(fmt.fmt_number(record.get("max_abs_error")), True),
                 cell(fmt.fmt_number(record.get("cosine")), True),
                 cell(fmt.fmt_number(record.get("snr_db")), True),
                 cell("–" if top1 is None else f"{top1:.1%}", True),
                 cell(record.get("first_jump") or "–")]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return "<p>Accuracy against the baseline</p>" + table(headers, rows)


def _delegation_table(document: dict[str, Any]) -> str:
    """The model nodes that ran on different providers in different profiles."""
    delegation = document.get("delegation") or {}
    differing = delegation.get("differing_nodes") or []
    if not differing:
        return ""
    headers = [("model node", False)] + [(label, False) for label in document["labels"]]
    rows = [f"<tr>{cell(item['node'])}"
            + "".join(cell(p or "–") for p in item["providers"]) + "</tr>"
            for item in differing]
    return (f"<p>{len(differing)} model nodes ran on different providers</p>"
            + table(headers, rows))


def _layers_intro(shown: int, total: int) -> str:
    if not total:
        return "<p>No per-layer rows to match.</p>"
    if shown < total:
        return (f"<p>The {shown} slowest of {total} matched layers "
                "(<code>.to_dataframe()</code> has them all)</p>")
    return f"<p>{total} matched layers, slowest first</p>"


def comparison_html(comparison: Comparison, top: int | None = NOTEBOOK_LAYERS) -> str:
    """An HTML fragment for a notebook: latency, speed-ups, layers won, the ``top`` layers."""
    document = comparison.to_dict()
    layers = document["layers"] if top is None else document["layers"][:top]
    baseline = document["labels"][document["baseline"]]
    parts = [f"<div class=\"workbench-comparison\"><style>{_CSS}</style>",
             f"<p><strong>{escape(_heading(document))}</strong>, baseline: "
             f"<em>{escape(baseline)}</em></p>",
             _caveats_html(document), _latency_table(document), _accuracy_table(document),
             _delegation_table(document), _layers_intro(len(layers), len(document["layers"]))]
    if layers:
        parts.append(_layer_table(document, layers, nodes_width=32))
    return "\n".join(p for p in parts if p) + "</div>"


def comparison_page(comparison: Comparison) -> str:
    """A self-contained HTML page: latency, speed-ups, layers won and every matched layer."""
    document = comparison.to_dict()
    baseline = document["labels"][document["baseline"]]
    title = f"{_heading(document)}: {', '.join(document['labels'])}"
    parts = [f"<h1>{escape(_heading(document))}</h1>",
             f"<p>baseline: <em>{escape(baseline)}</em></p>", _caveats_html(document),
             "<h2>Latency</h2>", _latency_table(document),
             *(["<h2>Accuracy</h2>", _accuracy_table(document)] if document.get("accuracy")
               else []),
             *(["<h2>Delegation</h2>", _delegation_table(document)]
               if _delegation_table(document) else []),
             f"<h2>Layers ({len(document['layers'])})</h2>",
             _layers_intro(len(document["layers"]), len(document["layers"]))]
    if document["layers"]:
        parts.append(_layer_table(document, document["layers"], nodes_width=None))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_PAGE_CSS}\n{_CSS}</style></head>\n"
            "<body><div class=\"workbench-comparison\">\n"
            + "\n".join(p for p in parts if p)
            + f"\n<footer><p>Edge Workbench comparison ({escape(document['schema'])})</p>"
            "</footer>\n</div></body></html>\n")


# --- notebook -----------------------------------------------------------------------


def comparison_mimebundle(comparison: Comparison, include: Container[str] | None = None,
                          exclude: Container[str] | None = None) -> dict[str, Any]:
    """The notebook display bundle, honouring IPython's ``include`` / ``exclude``."""
    bundle: dict[str, Any] = {}
    if wanted(COMPARISON_MIME, include, exclude):
        bundle[COMPARISON_MIME] = comparison.to_dict()
    if wanted("text/html", include, exclude):
        bundle["text/html"] = comparison_html(comparison)
    if wanted("text/plain", include, exclude):
        bundle["text/plain"] = comparison_text(comparison)
    return bundle
