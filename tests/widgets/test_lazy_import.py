"""The widgets load ipywidgets on first use only, so ``import workbench`` stays fast."""

from __future__ import annotations

from tests.conftest import modules_loaded_by


def test_importing_the_widgets_package_loads_no_ipywidgets() -> None:
    assert modules_loaded_by("import workbench, workbench.widgets", ("ipywidgets",)) == []


def test_the_first_widget_name_used_loads_ipywidgets() -> None:
    assert modules_loaded_by("from workbench.widgets import Workbench",
                             ("ipywidgets",)) == ["ipywidgets"]
