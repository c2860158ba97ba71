"""The renderers in Notebook 7 (the `notebook` package): a saved profile and comparison.

Notebook 7 loads the same prebuilt extension as JupyterLab. A notebook saved
with a Profile's and a Comparison's outputs (untrusted, as any notebook
opened from disk) shows the interactive renderers: layer rows, graph nodes,
the comparison's graph. The screenshot goes to the test output folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

import workbench as wb
from tests.lab.browser.labserver import (
    Lab,
    chromium_page,
    notebook_with_output,
    running_lab,
)

FIXTURE = (Path(__file__).resolve().parents[2] / "fixtures" / "formats"
           / "profile-1-synthetic.json")


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("notebook7"), app="notebook") as server:
        yield server
    print(f"Notebook 7 log: {server.log}")


def test_notebook_7_shows_a_saved_profile_and_comparison_interactively(
        notebook7: Lab, tmp_path: Path) -> None:
    profile = wb.Profile.load(FIXTURE)
    faster = wb.Profile({**profile.to_dict(), "label": "faster"})
    for layer in faster.document["layers"]:
        if layer["duration_us"] and layer["duration_us"].get("median"):
            layer["duration_us"]["median"] /= 2
    notebook = notebook_with_output("p", profile._repr_mimebundle_())
    notebook["cells"][0]["outputs"].append({
        "output_type": "display_data", "metadata": {},
        "data": wb.compare([profile, faster])._repr_mimebundle_()})
    (notebook7.root / "saved.ipynb").write_text(json.dumps(notebook))
    with chromium_page(1400, 1000) as page:
        page.goto(f"{notebook7.url}/notebooks/saved.ipynb?token={notebook7.token}")
        output = page.locator(".jp-OutputArea-output.jp-WbProfile")
        expect(output.locator("tr.jp-WbProfile-row")).to_have_count(7)
        expect(output.locator('.jp-WbGraph[data-drawn="10"]')).to_have_count(1)
        expect(output.locator("th", has_text="share of all layers")).to_have_count(1)
        comparison = page.locator(".jp-OutputArea-output.jp-WbComparison")
        expect(comparison.locator('.jp-WbGraph[data-drawn="10"]')).to_have_count(1)
        # no static fallback: the page shows the renderers, not the HTML table
        assert page.locator(".workbench-profile").count() == 0
        output.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "notebook7-profile.png"), full_page=True)
        comparison.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "notebook7-comparison.png"))
    print(f"screenshots: {tmp_path}")
