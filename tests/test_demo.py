"""`sentinel-packer demo --content DIR` (issue 22): a user's own content through the same steps."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from packer.demo import run_demo
from packer.errors import ValidationFailed
from tests.fleetkit import write_content


def test_own_content_is_deployed_drifted_and_rolled_out_without_the_examples_overlays(tmp_path: Path):
    content = write_content(tmp_path / "mine")
    out = io.StringIO()
    result = run_demo(content, tmp_path / "out", Console(file=out, width=80))
    text = out.getvalue()
    assert result.ok, text
    assert "rolled out without them" in text  # the example's overlays name the bundled pack's items
    assert "overlay" not in (tmp_path / "out" / "fleet-targets.yaml").read_text()
    assert "1 drifted" in text and "Rollout complete: 5 workspace(s): 5 succeeded" in text


def test_content_that_does_not_validate_stops_before_any_emulator(tmp_path: Path):
    content = write_content(tmp_path / "mine")
    rule = content / "analytic-rules" / "kaseya_rmm.yaml"
    rule.write_text(rule.read_text().replace("severity: Medium", "severity: Catastrophic"))
    out = io.StringIO()
    with pytest.raises(ValidationFailed):
        run_demo(content, tmp_path / "out", Console(file=out, width=80))
    assert "kaseya_rmm.yaml" in out.getvalue() and "severity" in out.getvalue()
    assert not (tmp_path / "out").exists()
