"""The fleet report page (packer.views.fleet_report): self-contained, every workspace with its
result, drift, blocked items and their missing table, failures, and the coverage heatmap."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from packer.rollout.report import FleetReport, ItemFailure, WaveResult, WorkspaceResult, WorkspaceStatus
from packer.views.fleet_report import fleet_report_html
from tests.reportkit import MISSING, fleet_of


class Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.external: list[str] = []
        self.rows: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src") or tag == "link":
            self.external.append(f"{tag} {attrs}")
        if tag == "tr" and "data-ws" in attrs:
            self.rows.append(attrs)


@pytest.fixture(scope="module")
def hundred(tmp_path_factory):
    return fleet_of(tmp_path_factory.mktemp("fleet"), workspaces=100)


def test_the_plan_page_of_100_workspaces_is_self_contained_and_under_2_mb(hundred):
    plan, coverage = hundred
    html = fleet_report_html(title="Fleet plan", summary=plan.summary(), plan=plan, coverage=coverage)
    assert len(html.encode()) < 2_000_000
    page = Page(html)
    assert page.external == []  # no external script, stylesheet or font: works offline
    assert not re.search(r"url\(|@import|https?://", html)
    workspace_rows = [r for r in page.rows if r.get("data-problem") is not None]
    assert len({r["data-ws"] for r in workspace_rows}) == 100
    assert {r["data-tenant"] for r in workspace_rows} == {"mssp", "fabrikam"}


def test_the_page_names_blocked_items_with_their_table_drift_and_errors(hundred):
    plan, coverage = hundred
    html = fleet_report_html(title="Fleet plan", summary=plan.summary(), plan=plan, coverage=coverage)
    blocked_workspace = plan.workspaces[3].target.name
    section = html[html.index(f"id='ws-{blocked_workspace}'"):]
    section = section[:section.index("</details>")]
    assert "RMM Kaseya outbound" in section and MISSING in section
    assert "drifted" in html[html.index(f"id='ws-{plan.workspaces[1].target.name}'"):][:2000]
    assert "AuthorizationFailed: the client has no access" in html
    # the coverage matrix shows the blocked workspace's Command and Control as not all covered
    row = re.search(rf"<tr data-ws=\"{blocked_workspace}\"[^>]*><td>{blocked_workspace}</td>.*?</tr>", html).group(0)
    assert "#c6e3a4" in row or "#e46a6a" in row
    healthy = plan.workspaces[0].target.name
    row = re.search(rf"<tr data-ws=\"{healthy}\"[^>]*><td>{healthy}</td>.*?</tr>", html).group(0)
    assert "#e46a6a" not in row and "#c6e3a4" not in row


def test_a_rollout_page_lists_failures_with_their_error():
    report = FleetReport(
        (WaveResult("canary", 2, 1, 0, "0 failed workspace(s)", True),),
        (WorkspaceResult("ws00", "mssp", "canary", WorkspaceStatus.SUCCEEDED, created=3,
                         skipped_items=(ItemFailure("AnalyticsRule Kaseya", MISSING),)),
         WorkspaceResult("ws01", "fabrikam", "canary", WorkspaceStatus.FAILED, failed=1,
                         failures=(ItemFailure("AnalyticsRule Logons", "BadRequest: query is invalid <here>"),))),
        stopped_after="canary")
    html = fleet_report_html(title="Rollout", summary=report.summary(), rollout=report)
    assert "BadRequest: query is invalid &lt;here&gt;" in html  # escaped, never markup
    assert "<b>blocked</b> AnalyticsRule Kaseya: " + MISSING in html
    assert "class='st bad'>failed<" in html


def test_plan_all_writes_the_page(tmp_path: Path, emulator_factory, monkeypatch):
    """`plan --all --html` against the fleet example's emulator; the plan and the page's coverage
    read the content folder once."""
    import yaml
    from typer.testing import CliRunner

    import packer.connect
    from packer.cli import app

    loads = []
    real_load = packer.connect.load_content_folder
    monkeypatch.setattr(packer.connect, "load_content_folder", lambda root: loads.append(root) or real_load(root))

    root = Path(__file__).resolve().parents[1]
    emulator = emulator_factory(yaml.safe_load((root / "examples/fleet/emulator.yaml").read_text()))
    out = tmp_path / "report" / "fleet.html"
    result = CliRunner().invoke(app, ["plan", "--all", "--targets", str(root / "examples/fleet/targets.yaml"),
                                      "--content", str(root / "content"), "--html", str(out),
                                      "--base-url", emulator.base_url, "--ca-cert", emulator.ca_path,
                                      "--emulator-tenant", "target"])
    assert result.exit_code == 2, result.output
    assert len(loads) == 1
    html = out.read_text()
    assert "northwind-prod" in html and "DeviceNetworkEvents" in html and "ATT&amp;CK coverage" in html
