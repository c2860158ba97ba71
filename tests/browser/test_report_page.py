"""The HTML report in a real browser (Debian's chromium through Playwright): its SVG figures
lay out with a size, and their text (a layer's name) is text the page can find.

The screenshot lands in the test's own folder (``report.png``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.browser.labserver import CHROMIUM, chromium_page
from tests.profiling.conftest import make_document
from workbench.profiling import Profile

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"{CHROMIUM} is missing: run `bash tests/setup.sh`")


def test_the_reports_figures_render_with_searchable_text_in_chromium(tmp_path: Path) -> None:
    document = make_document()
    document["layers"][3]["name"] = 'conv<&"1>'
    report = tmp_path / "report.html"
    Profile(document).to_html(report)
    with chromium_page(1000, 900) as page:
        page.goto(report.as_uri())
        figures = page.locator("figure svg")
        assert figures.count() == 4
        for i in range(4):
            box = figures.nth(i).bounding_box()
            assert box is not None and box["width"] > 500 and box["height"] > 150
        name = page.locator("figure svg text", has_text='conv<&"1>')
        assert name.count() == 1  # the label of its bar among the top layers
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
