"""A profile's numbers as Google Model Explorer's per-node data, to overlay on its graph.

Model Explorer (``ai-edge-model-explorer``, with the ``model-explorer-onnx``
adapter for ONNX files) draws a model's graph and colours its nodes from a
"node data" JSON file: ``{"name", "results": {node id: {"value": number}},
"gradient": [...]}``. The ONNX adapter's node ids are the ONNX node names, so
the per-layer rows of a profile map onto them through ``original_nodes``.

:func:`node_data` builds that document; ``Profile.to_model_explorer`` writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.errors import InvalidOptionValue, ProfileError
from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile

#: what a node's value can be, and how the overlay names it
VALUES = {"time": "median µs of the layer that ran the node",
          "share": "share of all layers: the layer's median over the sum of the layers' medians",
          "macs": "MACs of the node"}

#: light to dark: cheap nodes pale, expensive ones dark red (as the lab extension's heat scale)
_GRADIENT = [{"stop": 0, "bgColor": "#ffeda0"}, {"stop": 0.5, "bgColor": "#feb24c"},
             {"stop": 1, "bgColor": "#b4161e"}]


def _layer_values(profile: Profile, value: str) -> dict[str, float]:
    """Node name -> the value of the first layer row (execution order) that covers it."""
    values: dict[str, float] = {}
    for layer in profile.layers:
        number = layer_time_us(layer) if value == "time" else layer.get("share")
        if not fmt.is_number(number):
            continue
        for node in layer.get("original_nodes") or []:
            values.setdefault(str(node), float(number))
    return values


def node_data(profile: Profile, value: str = "time") -> dict[str, Any]:
    """The profile's per-node figures as a Model Explorer node data document.

    ``value`` is one of :data:`VALUES`. A layer the runtime fused from
    several nodes gives each of them its time (or share). Nodes the model
    graph does not have (a runtime's own copies and layout changes) are left
    out when the profile has its topology. Raises InvalidOptionValue for an
    unknown ``value`` and ProfileError when no node gets a number.
    """
    if value not in VALUES:
        raise InvalidOptionValue(f"value={value!r} is not a figure Model Explorer can overlay",
                                 where="to_model_explorer",
                                 hint=f"Use one of: {', '.join(VALUES)}")
    topology = profile.document.get("topology") or {}
    graph_nodes = [node for node in topology.get("nodes") or [] if node.get("name")]
    if value == "macs":
        numbers = {str(node["name"]): float(node["macs"]) for node in graph_nodes
                   if fmt.is_number(node.get("macs"))}
    else:
        numbers = _layer_values(profile, value)
        if graph_nodes:
            known = {str(node["name"]) for node in graph_nodes}
            numbers = {name: number for name, number in numbers.items() if name in known}
    if not numbers:
        source = ("the model graph's nodes carry no MACs" if value == "macs"
                  else "no per-layer row with a number names a node of the model")
        raise ProfileError(f"Nothing to overlay in Model Explorer: {source}",
                           where=profile.label,
                           hint="Profile with per-layer rows (profiling on), or choose "
                                "another value: " + ", ".join(VALUES))
    return {"name": f"{profile.label}: {VALUES[value]}",
            "results": {name: {"value": number} for name, number in numbers.items()},
            "gradient": _GRADIENT}
