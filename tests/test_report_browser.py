"""The fleet report in a real browser: Debian's headless Chromium, driven by Playwright (its own
browser download is never used). It loads without console errors, the tenant, wave, name and
"problems only" filters hide exactly the rows they should, a heading sorts the table, and a
screenshot is saved ($SENTINEL_PACKER_SCREENSHOTS, else the test's tmp folder).
Skips, saying why, where Chromium or Playwright is absent."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from packer.views.fleet_report import fleet_report_html
from tests.reportkit import fleet_of

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium_or_skip() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it as root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    return path


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    plan, coverage = fleet_of(root, workspaces=100)
    path = root / "fleet-report.html"
    path.write_text(fleet_report_html(title="Fleet plan", summary=plan.summary(), plan=plan, coverage=coverage),
                    encoding="utf-8")
    return path


def test_the_report_filters_and_sorts_in_chromium(page_file: Path, tmp_path: Path) -> None:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})  # a laptop screen
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: problems.append(f"request {r.url}") if not r.url.startswith("file:") else None)
            page.goto(page_file.as_uri())
            rows = page.locator("#workspaces tbody tr")
            assert rows.count() == 100
            assert page.locator("#shown").inner_text() == "100 workspace(s) shown"

            page.select_option("#tenant", "fabrikam")
            visible = page.locator("#workspaces tbody tr:not([hidden])")
            tenants = visible.evaluate_all("rows => rows.map(r => r.dataset.tenant)")
            assert tenants and set(tenants) == {"fabrikam"}
            assert page.locator("#shown").inner_text() == f"{len(tenants)} workspace(s) shown"
            hidden_matrix = page.locator("#matrix tbody tr[hidden]").evaluate_all("rows => rows.map(r => r.dataset.tenant)")
            assert hidden_matrix and set(hidden_matrix) == {"mssp"}  # the heatmap follows the filter

            page.check("#problems")
            flagged = page.locator("#workspaces tbody tr:not([hidden])").evaluate_all(
                "rows => rows.map(r => [r.dataset.tenant, r.dataset.problem])")
            assert flagged and all(t == "fabrikam" and p == "1" for t, p in flagged)
            assert len(flagged) < len(tenants)

            page.uncheck("#problems")
            page.select_option("#tenant", "")
            page.fill("#q", "ws1")
            names = page.locator("#workspaces tbody tr:not([hidden])").evaluate_all("rows => rows.map(r => r.dataset.ws)")
            assert names and all("ws1" in n for n in names)
            page.fill("#q", "")

            heading = page.locator("#workspaces th", has_text="problems")
            heading.click()
            heading.click()  # descending: workspaces with the most problems first
            counts = page.locator("#workspaces tbody tr td:last-child").all_inner_texts()
            assert counts == sorted(counts, key=int, reverse=True) and int(counts[0]) > 0
            assert heading.get_attribute("aria-sort") == "descending"

            folder = Path(os.environ.get("SENTINEL_PACKER_SCREENSHOTS") or tmp_path)
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / "fleet-report.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.close()
    assert problems == []
