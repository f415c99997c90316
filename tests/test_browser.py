"""The HTML report in a real browser: Chromium from the distribution (Debian's `chromium`
package) driven by Playwright, at 1280 px: the page never scrolls sideways (a wide table
scrolls inside its container), and no number wraps. A missing Chromium fails this test (CI
installs it, see .ci/run); Playwright never downloads a browser here."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from codesign.report.document import Heading, Para, Table, to_html

WIDTH = 1280


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("no Chromium: install the distribution's package (apt-get install -y "
                    "chromium), as .ci/run does")
    return path


def report_page(tmp_path):
    """A report page with the tables a loop's report has at their widest: 24 numeric columns
    with long names, text cells, long numbers, a missing value."""
    rng = np.random.default_rng(0)
    wide = pd.DataFrame({f"calibration_residual_{k}_fs": rng.normal(0, 1e-4, 3)
                         for k in range(24)})
    wide.insert(0, "params", ["shipped", "round-0 re-fitted proxy", "round-1"])
    text = pd.DataFrame({"system": ["this circuit: sky130 CMOS design 12 (SPICE, settled to "
                                    "half an ADC LSB, with its DACs and ADCs)", "H100"],
                         "energy_j": [4.228699440411129e-09, -1.393190399999e-07],
                         "success_rate": [np.nan, 1.0]})
    blocks = [Heading("codesign loop: control", 1), Para("A paragraph. " * 80),
              Table(wide, "wide"), Table(text, notes=("success_rate n/a: not measured",))]
    path = tmp_path / "report.html"
    path.write_text(to_html(blocks, "browser check"))
    return path


def test_the_report_fits_1280_px_with_tables_scrolling_and_numbers_on_one_line(tmp_path):
    from playwright.sync_api import sync_playwright  # deferred: only this test drives a browser

    page_path = report_page(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.goto(page_path.as_uri())
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            sizes = page.evaluate("[document.documentElement.scrollWidth, "
                                  "document.body.scrollWidth, window.innerWidth]")
            tables = page.evaluate("""[...document.querySelectorAll('table')].map(t => ({
                wrap: t.parentElement.className,
                overflow: getComputedStyle(t.parentElement).overflowX,
                inner: t.scrollWidth, outer: t.parentElement.clientWidth}))""")
            cells = page.evaluate("""[...document.querySelectorAll('td')].map(td => {
                const r = document.createRange(); r.selectNodeContents(td);
                const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
                return {kind: td.className, lines: tops.size,
                        align: getComputedStyle(td).textAlign, text: td.textContent}; })""")
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 0
    assert max(sizes) == WIDTH, sizes  # nothing wider than the window: no sideways scroll
    assert all(t["wrap"] == "table-wrap" and t["overflow"] == "auto" for t in tables), tables
    assert tables[0]["inner"] > tables[0]["outer"]  # the wide table scrolls in its container
    numbers = [c for c in cells if c["kind"] == "num"]
    assert numbers and all(c["lines"] == 1 and c["align"] == "right" for c in numbers), [
        c for c in numbers if c["lines"] != 1]
    texts = [c for c in cells if c["kind"] == "text"]
    assert texts and all(c["align"] == "left" for c in texts)
    assert any(c["lines"] > 1 for c in texts)  # long text wraps; numbers never do
    assert "n/a" in [c["text"] for c in numbers]
