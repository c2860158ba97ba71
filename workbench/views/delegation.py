"""The delegation section of a profile's views: where the model's nodes ran.

* :func:`delegation_text`: the text summary's block, one line per provider;
* :func:`delegation_html`: the HTML report's section: a table whose long
  node lists fold away, the fallbacks, and a figure when there is more than
  one provider or delegate to compare (one 100 % bar would say nothing).

Both read the ``delegation`` section through
:mod:`workbench.profiling.delegation`; the figure is
:func:`workbench.plots.delegation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt
from workbench.profiling.delegation import SOURCES, as_section, placed_rows
from workbench.views import parts

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile

_NOT_REPORTED = "no per-node placement; profile_runs was 0 or the runner reports none"

#: the delegation figure's alt text
FIGURE_ALT = "share of MACs per provider or delegate"


def _source_text(section: Mapping[str, Any]) -> str:
    return SOURCES.get(section["source"], str(section["source"]))


def _share_text(row: Mapping[str, Any]) -> str:
    share = row.get("mac_share")
    return f"{fmt.fmt_share(share)} of MACs" if fmt.is_number(share) else "MACs –"


def delegation_text(section: Any, width: int = 60) -> list[str]:
    """The text summary's delegation block (empty without a section): providers, then fallbacks.

    ``width`` shortens the list of nodes that fell back to the CPU.
    """
    found = as_section(section)
    if found is None:
        return []
    if not found.get("source"):
        return ["", f"Delegation: not reported ({_NOT_REPORTED})"]
    total = int(found.get("node_count") or 0)
    rows = [(row["name"], f"{row['node_count']} of {total} nodes", _share_text(row))
            for row in placed_rows(found)]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    lines = ["", f"Delegation ({_source_text(found)}):"]
    lines += [f"  {name.ljust(widths[0])}  {count.rjust(widths[1])}  {share.rjust(widths[2])}"
              for name, count, share in rows]
    if found.get("requested"):
        fallback = found.get("fallback_nodes") or []
        lines.append(f"  requested {', '.join(found['requested'])}: "
                     + (f"{len(fallback)} nodes fell back to CPU: "
                        f"{fmt.join_nodes(fallback, width)}" if fallback
                        else "no node fell back to CPU"))
    return lines


def _figure(profile: Profile) -> str:
    from workbench import plots

    png = plots.figure_png(plots.delegation(profile))
    return f"<figure>{parts.png_img(png, FIGURE_ALT)}</figure>"


def delegation_html(profile: Profile) -> str:
    """The HTML report's delegation section, or "" when the profile has none."""
    found = as_section(profile.document.get("delegation"))
    if found is None:
        return ""
    html = ["<h2>Delegation</h2>"]
    if not found.get("source"):
        html.append(f"<p>Not reported: {escape(_NOT_REPORTED)}.</p>")
        return "\n".join(html)
    html.append(f"<p>Where the model's {int(found.get('node_count') or 0)} nodes ran, "
                f"{escape(_source_text(found))}.</p>")
    headers = [("provider / delegate", False), ("nodes", True), ("MACs", True),
               ("share of MACs", True), ("node names", False)]
    rows = [f"<tr>{parts.cell(row['name'])}{parts.cell(str(row['node_count']), True)}"
            f"{parts.cell(fmt.fmt_si(row['macs']), True)}"
            f"{parts.cell(fmt.fmt_share(row['mac_share']), True)}"
            f"<td>{parts.name_list(row['nodes'])}</td></tr>" for row in placed_rows(found)]
    html.append(parts.table(headers, rows, css="delegation"))
    if found.get("requested"):
        fallback = found.get("fallback_nodes") or []
        # A <div>, not a <p>: a long list folds into a <details>, which a <p> cannot hold.
        html.append(f"<div>Requested: {escape(', '.join(found['requested']))}. "
                    + (f"Fell back to CPU ({len(fallback)}): {parts.name_list(fallback)}"
                       if fallback else "No node fell back to CPU.") + "</div>")
    if len(found["per_provider"]) > 1:
        html.append(_figure(profile))
    return "\n".join(html)
