"""The notebook UI: ipywidgets views over the public API, holding no logic of their own.

    from workbench.widgets import Workbench
    ui = Workbench()
    ui

Each part also works alone: :class:`ModelPicker`, :class:`DevicePicker`,
:class:`TargetPicker`, :class:`BackendForm`, :class:`RunPanel` and
:class:`ResultsView`. Needs
ipywidgets (``pip install 'edge-workbench[lab]'``); it loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import attach

__all__ = ["BackendForm", "DevicePicker", "ModelPicker", "ResultsView", "RunPanel",
           "TargetPicker", "Workbench"]

_LAZY: dict[str, str] = {
    "BackendForm": "workbench.widgets.backend",
    "DevicePicker": "workbench.widgets.device",
    "ModelPicker": "workbench.widgets.model",
    "ResultsView": "workbench.widgets.results",
    "RunPanel": "workbench.widgets.run",
    "TargetPicker": "workbench.widgets.target",
    "Workbench": "workbench.widgets.workbench",
}

if TYPE_CHECKING:
    from workbench.widgets.backend import BackendForm
    from workbench.widgets.device import DevicePicker
    from workbench.widgets.model import ModelPicker
    from workbench.widgets.results import ResultsView
    from workbench.widgets.run import RunPanel
    from workbench.widgets.target import TargetPicker
    from workbench.widgets.workbench import Workbench

__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
