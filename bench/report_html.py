"""The fleet report page of a 100-workspace fleet plan (with its coverage heatmap) in Debian's
headless Chromium: its size, and how long the browser takes to load it, against the goals of
issue 21 (under 2 MB, opens in under a second). No assertions: it prints numbers.

Load time is the browser's own Navigation Timing (loadEventEnd, from navigation start), best of
--repeat fresh page loads in one browser; the first load is also printed.

    python bench/report_html.py [--workspaces 100] [--repeat 5]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from packer.views.fleet_report import fleet_report_html  # noqa: E402
from tests.reportkit import fleet_of  # noqa: E402
from tests.test_report_browser import CHROMIUM_FLAGS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium on PATH (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        plan, coverage = fleet_of(root, args.workspaces)
        page_file = root / "fleet-report.html"
        page_file.write_text(fleet_report_html(title="Fleet plan", summary=plan.summary(), plan=plan,
                                               coverage=coverage), encoding="utf-8")
        size = page_file.stat().st_size
        loads = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            for _ in range(args.repeat):
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.goto(page_file.as_uri(), wait_until="load")
                loads.append(page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd; }"))
                page.close()
            browser.close()
    print(f"workspaces: {args.workspaces}; page: {size:,} bytes ({size / 2_000_000:.2f} of the 2 MB goal)")
    print(f"load (loadEventEnd): first {loads[0]:.0f} ms, best {min(loads):.0f} ms "
          f"({min(loads) / 1000:.2f} of the 1 s goal), all: {', '.join(f'{x:.0f}' for x in loads)}")


if __name__ == "__main__":
    main()
