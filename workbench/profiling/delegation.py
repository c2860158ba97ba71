"""Delegation: which of the model's nodes ran on which execution provider or delegate.

A profile's ``delegation`` section answers, for every backend alike: how many
of the model's nodes (and which, and what share of its MACs) ran on each
execution provider or delegate, which nodes fell back to the runtime's own CPU
kernels although an accelerator was asked for, and which nodes were not seen
at all (folded away by the runtime, or not reported).

It is built on the host from what the runner reported, in this order:

* ``"runtime"``: the runner result's ``placement`` object, original node name
  -> where it ran, as the runtime itself reports it (LiteRT's delegated ops);
* ``"trace"``: the layer rows' ``provider`` and ``original_nodes``, from the
  runtime's per-node profiler events (onnxruntime gives each node event its
  provider).

Node names are the original model's; names a runner reports that are not
nodes of the model are left out, so counts and shares always add up against
the model. This module imports nothing heavy; pandas and matplotlib load in
the functions that need them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from workbench.errors import ProfileError
from workbench.profiling import _text as fmt

if TYPE_CHECKING:
    import pandas as pd

    from workbench.profiling.profile import Profile

#: names (lower case) that mean the runtime's own CPU kernels, not a provider or delegate
CPU_NAMES = frozenset({"cpu", "cpuexecutionprovider", "builtin", "tflite", "litert", "none",
                       "default", "reference"})
#: backend option keys that name requested providers or delegates
_REQUEST_KEYS = ("providers", "ep", "delegate", "delegates", "external_delegate")
#: the label of the nodes that were not seen, in tables and plots
UNSEEN_LABEL = "not seen"
#: columns of :func:`delegation_dataframe`, in order
COLUMNS = ("provider", "accelerator", "fallback", "nodes", "node_names", "macs", "mac_share")

SOURCES = {"runtime": "as the runtime reported its placement of the nodes",
           "trace": "from the runtime's per-node profiler events"}


def is_cpu(name: str) -> bool:
    """True when ``name`` means the runtime's own CPU kernels rather than an accelerator."""
    return name.strip().lower() in CPU_NAMES


def requested_accelerators(options: Mapping[str, Any] | None) -> list[str]:
    """The non-CPU providers or delegates a backend's options ask for, in the order given.

    Reads the usual option names (``providers``, ``ep``, ``delegate``,
    ``delegates``, ``external_delegate``); a value may be a name or a list of
    names. An external delegate given by path counts by its path.
    """
    found: list[str] = []
    for key in _REQUEST_KEYS:
        value = (options or {}).get(key)
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        found += [str(n) for n in names if isinstance(n, str) and n and not is_cpu(n)]
    return list(dict.fromkeys(found))


def _from_layers(layers: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Original node -> provider, from layer rows that carry both (first row wins)."""
    placed: dict[str, str] = {}
    for layer in layers:
        provider = layer.get("provider")
        if not isinstance(provider, str) or not provider:
            continue
        for node in layer.get("original_nodes") or []:
            placed.setdefault(str(node), provider)
    return placed


def _check_placement(placement: Any) -> dict[str, str]:
    if not isinstance(placement, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in placement.items()):
        raise ProfileError("The runner's placement is not an object of node name -> provider "
                           "or delegate name", where="runner result 'placement'",
                           hint="Report placement as {\"node name\": \"delegate name\"}, "
                                "strings only")
    return dict(placement)


def delegation_section(nodes: Iterable[tuple[str, int | None]], *,
                       placement: Mapping[str, str] | None = None,
                       layers: Iterable[Mapping[str, Any]] = (),
                       requested: Sequence[str] = ()) -> dict[str, Any]:
    """The profile's ``delegation`` section.

    ``nodes`` are the model's nodes as (name, MACs) in graph order;
    ``placement`` is the runner's own node -> provider report, used when given
    (source ``"runtime"``), else the layer rows' providers (source
    ``"trace"``); ``requested`` names the accelerators the job asked for, so
    that nodes left on the CPU are listed as fallbacks.
    """
    model_nodes = [(str(name), int(macs) if fmt.is_number(macs) else 0) for name, macs in nodes]
    macs_of = dict(model_nodes)
    source: str | None
    if placement:
        placed, source = _check_placement(placement), "runtime"
    else:
        placed = _from_layers(layers)
        source = "trace" if placed else None
    model_macs = sum(macs_of.values())
    groups: dict[str, list[str]] = {}
    for name, _ in model_nodes:
        if name in placed:
            groups.setdefault(placed[name], []).append(name)
    wanted = [str(r) for r in requested if not is_cpu(str(r))]

    def share(macs: int) -> float | None:
        return macs / model_macs if model_macs > 0 else None

    entries: list[dict[str, Any]] = []
    for provider, names in groups.items():
        macs = sum(macs_of[n] for n in names)
        entries.append({"name": provider, "accelerator": not is_cpu(provider),
                        "node_count": len(names), "nodes": names, "macs": macs,
                        "mac_share": share(macs)})
    # Accelerators first (largest MACs first), then the CPU kernels.
    entries.sort(key=lambda e: (not e["accelerator"], -e["macs"], -e["node_count"], e["name"]))
    fallback = [n for e in entries if not e["accelerator"] for n in e["nodes"]] if wanted else []
    unseen = [name for name, _ in model_nodes if name not in placed]
    unseen_macs = sum(macs_of[n] for n in unseen)
    return {"source": source, "requested": wanted,
            "providers": [e["name"] for e in entries], "per_provider": entries,
            "fallback_nodes": fallback, "unseen_nodes": unseen, "unseen_macs": unseen_macs,
            "unseen_mac_share": share(unseen_macs), "node_count": len(model_nodes),
            "model_macs": model_macs}


def _section(value: Any) -> dict[str, Any] | None:
    """The section when it has the per-provider form; None for a missing or older one."""
    if isinstance(value, Mapping) and isinstance(value.get("per_provider"), list):
        return dict(value)
    return None


def delegation_dataframe(section: Any) -> pd.DataFrame:
    """One row per provider or delegate, then a ``not seen`` row when nodes were not seen.

    Columns are :data:`COLUMNS`; ``fallback`` marks CPU rows when an
    accelerator was requested. ``attrs`` holds ``source``, ``requested``,
    ``node_count`` and ``model_macs``. A profile without the section (older
    documents, estimates) gives an empty frame with the same columns.
    """
    import pandas as pd

    found = _section(section)
    rows: list[dict[str, Any]] = []
    if found is not None:
        requested = bool(found.get("requested"))
        for entry in found["per_provider"]:
            accelerator = bool(entry.get("accelerator"))
            rows.append({"provider": entry["name"], "accelerator": accelerator,
                         "fallback": requested and not accelerator,
                         "nodes": int(entry.get("node_count", 0)),
                         "node_names": list(entry.get("nodes") or []),
                         "macs": entry.get("macs"), "mac_share": entry.get("mac_share")})
        unseen = list(found.get("unseen_nodes") or [])
        if unseen:
            rows.append({"provider": UNSEEN_LABEL, "accelerator": False, "fallback": False,
                         "nodes": len(unseen), "node_names": unseen,
                         "macs": found.get("unseen_macs"),
                         "mac_share": found.get("unseen_mac_share")})
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["macs"] = pd.array([m if fmt.is_number(m) else None for m in frame["macs"]],
                             dtype="Int64")
    frame["mac_share"] = [float(s) if fmt.is_number(s) else float("nan")
                          for s in frame["mac_share"]]
    frame.attrs.update({key: (found or {}).get(key) for key in
                        ("source", "requested", "node_count", "model_macs")})
    return frame


def shares(section: Any) -> tuple[list[tuple[str, float]], str] | None:
    """(provider, share) pairs adding up to 1, ``not seen`` last, and what they share.

    The basis is the model's MACs; for a model without MACs it is the node
    count (the second element says ``"MACs"`` or ``"nodes"``). None when the
    section is missing or nothing was placed.
    """
    found = _section(section)
    if found is None or not found.get("per_provider"):
        return None
    entries = [(str(e["name"]), e.get("macs"), e.get("node_count"))
               for e in found["per_provider"]]
    unseen = found.get("unseen_nodes") or []
    if unseen:
        entries.append((UNSEEN_LABEL, found.get("unseen_macs"), len(unseen)))
    model_macs = found.get("model_macs")
    basis, index = ("MACs", 1) if fmt.is_number(model_macs) and model_macs > 0 else ("nodes", 2)
    total = sum(float(e[index]) for e in entries if fmt.is_number(e[index]))
    if total <= 0:
        return None
    return [(e[0], float(e[index]) / total if fmt.is_number(e[index]) else 0.0)
            for e in entries], basis


def _share_text(entry: Mapping[str, Any], share_key: str = "mac_share") -> str:
    share = entry.get(share_key)
    return f"{fmt.fmt_share(share)} of MACs" if fmt.is_number(share) else "MACs –"


def summary_lines(section: Any, width: int = 60) -> list[str]:
    """The text summary's delegation block: one line per provider, then fallbacks."""
    found = _section(section)
    if found is None:
        return []
    total = int(found.get("node_count") or 0)
    if not found.get("source"):
        return ["", "Delegation: not reported (no per-node placement; profile_runs was 0 "
                    "or the runner reports none)"]
    lines = ["", f"Delegation ({SOURCES.get(found['source'], found['source'])}):"]
    rows = [(str(e["name"]), f"{e['node_count']} of {total} nodes", _share_text(e))
            for e in found["per_provider"]]
    if found.get("unseen_nodes"):
        rows.append((UNSEEN_LABEL, f"{len(found['unseen_nodes'])} of {total} nodes",
                     _share_text(found, "unseen_mac_share")))
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
    lines += [f"  {name.ljust(widths[0])}  {count.rjust(widths[1])}  {share.rjust(widths[2])}"
              for name, count, share in rows]
    if found.get("requested"):
        fallback = found.get("fallback_nodes") or []
        lines.append(f"  requested {', '.join(found['requested'])}: "
                     + (f"{len(fallback)} nodes fell back to CPU: "
                        f"{fmt.join_nodes(fallback, width)}" if fallback
                        else "no node fell back to CPU"))
    return lines


def _node_list(names: Sequence[str]) -> str:
    return escape(", ".join(str(n) for n in names)) or "–"


def html_section(profile: Profile) -> str:
    """The HTML report's delegation section (table, fallbacks, figure), or "" without one."""
    found = _section(profile.document.get("delegation"))
    if found is None:
        return ""
    parts = ["<h2>Delegation</h2>"]
    if not found.get("source"):
        parts.append("<p>Not reported: no per-node placement (profile_runs was 0 or the "
                     "runner reports none).</p>")
        return "\n".join(parts)
    total = int(found.get("node_count") or 0)
    parts.append(f"<p>Where the model's {total} nodes ran, "
                 f"{escape(SOURCES.get(found['source'], str(found['source'])))}.</p>")
    head = ("<tr><th>provider / delegate</th><th class=n>nodes</th><th class=n>MACs</th>"
            "<th class=n>share of MACs</th><th>node names</th></tr>")
    body = []
    unseen = {"name": UNSEEN_LABEL, "node_count": len(found.get("unseen_nodes") or []),
              "nodes": found.get("unseen_nodes") or [], "macs": found.get("unseen_macs"),
              "mac_share": found.get("unseen_mac_share")}
    for entry in [*found["per_provider"], *([unseen] if unseen["node_count"] else [])]:
        body.append(f"<tr><td>{escape(str(entry['name']))}</td>"
                    f"<td class=n>{entry['node_count']}</td>"
                    f"<td class=n>{escape(fmt.fmt_si(entry.get('macs')))}</td>"
                    f"<td class=n>{escape(fmt.fmt_share(entry.get('mac_share')))}</td>"
                    f"<td>{_node_list(entry['nodes'])}</td></tr>")
    parts.append(f'<table class="delegation"><thead>{head}</thead>'
                 f"<tbody>{''.join(body)}</tbody></table>")
    if found.get("requested"):
        fallback = found.get("fallback_nodes") or []
        parts.append(f"<p>Requested: {escape(', '.join(found['requested']))}. "
                     + (f"Fell back to CPU ({len(fallback)}): {_node_list(fallback)}.</p>"
                        if fallback else "No node fell back to CPU.</p>"))
    if found["per_provider"]:
        from workbench import plots
        from workbench.profiling.export import _img

        png = plots.figure_png(plots.delegation(profile))
        parts.append(f"<figure>{_img(png, 'share of MACs per provider or delegate')}</figure>")
    return "\n".join(parts)
