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
the model. This module holds the data only: the text and HTML views are in
:mod:`workbench.views.delegation`, the figure is ``workbench.plots.delegation``;
pandas loads in the function that needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from workbench.errors import ProfileError
from workbench.profiling import _text as fmt

if TYPE_CHECKING:
    import pandas as pd

#: names (lower case) that mean the runtime's own CPU kernels, not a provider or delegate
CPU_NAMES = frozenset({"cpu", "cpuexecutionprovider", "builtin", "tflite", "litert", "none",
                       "default", "reference", "cpuref"})
#: backend option keys that name requested providers or delegates
_REQUEST_KEYS = ("providers", "ep", "delegate", "delegates", "external_delegate", "backends")
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
    ``delegates``, ``external_delegate``, Arm NN's ``backends``); a value may be a name or a list of
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


def as_section(value: Any) -> dict[str, Any] | None:
    """The section when it has the per-provider form; None for a missing or older one."""
    if isinstance(value, Mapping) and isinstance(value.get("per_provider"), list):
        return dict(value)
    return None


def placed_rows(section: Any) -> list[dict[str, Any]]:
    """One entry per provider or delegate, then a ``not seen`` entry when nodes were not seen.

    Every entry has ``name``, ``seen``, ``accelerator``, ``node_count``,
    ``nodes``, ``macs`` and ``mac_share``; the list is empty without a
    section. Tables, the text summary and the figure all read these, so the
    ``not seen`` row is built in one place.
    """
    found = as_section(section)
    if found is None:
        return []
    rows = [{"name": str(entry["name"]), "seen": True,
             "accelerator": bool(entry.get("accelerator")),
             "node_count": int(entry.get("node_count", 0)),
             "nodes": list(entry.get("nodes") or []), "macs": entry.get("macs"),
             "mac_share": entry.get("mac_share")} for entry in found["per_provider"]]
    unseen = list(found.get("unseen_nodes") or [])
    if unseen:
        rows.append({"name": UNSEEN_LABEL, "seen": False, "accelerator": False,
                     "node_count": len(unseen), "nodes": unseen,
                     "macs": found.get("unseen_macs"), "mac_share": found.get("unseen_mac_share")})
    return rows


def delegation_dataframe(section: Any) -> pd.DataFrame:
    """One row per provider or delegate, then a ``not seen`` row when nodes were not seen.

    Columns are :data:`COLUMNS`; ``fallback`` marks CPU rows when an
    accelerator was requested. ``attrs`` holds ``source``, ``requested``,
    ``node_count`` and ``model_macs``. A profile without the section (older
    documents, estimates) gives an empty frame with the same columns.
    """
    import pandas as pd

    found = as_section(section)
    requested = bool((found or {}).get("requested"))
    rows = [{"provider": row["name"], "accelerator": row["accelerator"],
             "fallback": requested and row["seen"] and not row["accelerator"],
             "nodes": row["node_count"], "node_names": row["nodes"], "macs": row["macs"],
             "mac_share": row["mac_share"]} for row in placed_rows(found)]
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
    found = as_section(section)
    if found is None or not found.get("per_provider"):
        return None
    rows = placed_rows(found)
    model_macs = found.get("model_macs")
    basis, key = (("MACs", "macs") if fmt.is_number(model_macs) and model_macs > 0
                  else ("nodes", "node_count"))
    total = sum(float(row[key]) for row in rows if fmt.is_number(row[key]))
    if total <= 0:
        return None
    return [(row["name"], float(row[key]) / total if fmt.is_number(row[key]) else 0.0)
            for row in rows], basis
