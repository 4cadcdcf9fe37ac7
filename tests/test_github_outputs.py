"""$GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY writing, and SARIF -> `::error file=...` annotations."""
from __future__ import annotations

import json
from pathlib import Path

from packer.github.annotations import Finding, findings_markdown, read_sarif, workflow_command
from packer.github.outputs import (
    SUMMARY_LIMIT_BYTES,
    format_output,
    parse_output_file,
    set_outputs,
    write_step_summary,
)


def test_outputs_round_trip_including_multiline_and_injection_attempts(tmp_path):
    out = tmp_path / "output"
    env = {"GITHUB_OUTPUT": str(out)}
    values = {
        "has-changes": "true",
        "plan-path": "sentinel-packer-out/plan.json",
        "matrix": '{"include": [{"shard": "canary-1"}]}',
        "notes": "line one\nhas-changes=false\nline three",
    }
    set_outputs(values, env)
    set_outputs({"exit-code": "2"}, env)
    assert parse_output_file(out.read_text()) == {**values, "exit-code": "2"}


def test_multiline_delimiter_never_occurs_in_the_value():
    text = format_output("body", "a\nb")
    delimiter = text.splitlines()[0].split("<<", 1)[1]
    assert delimiter.startswith("ghadelimiter_") and text.endswith(f"\n{delimiter}\n")


def test_outside_actions_nothing_is_written(tmp_path):
    assert set_outputs({"a": "b"}, {}) is None
    assert write_step_summary("# hi", {}) is None


def test_summary_appends_and_is_cut_below_github_limit(tmp_path):
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    write_step_summary("### first", env)
    write_step_summary("é" * SUMMARY_LIMIT_BYTES, env)  # 2 bytes per character: twice the limit
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("### first\n")
    second = text[len("### first\n"):]
    assert len(second.encode("utf-8")) <= SUMMARY_LIMIT_BYTES
    assert "Summary truncated" in second


def _sarif(tmp_path: Path, results: list[dict], base: str | None) -> Path:
    run: dict = {"tool": {"driver": {"name": "sentinel-packer"}}, "results": results}
    if base is not None:
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": base}}
    path = tmp_path / "v.sarif"
    path.write_text(json.dumps({"version": "2.1.0", "runs": [run]}))
    return path


def _result(uri: str, level: str | None, message: str, line: int = 3, col: int = 7, base: str | None = "SRCROOT") -> dict:
    location = {"artifactLocation": {"uri": uri, **({"uriBaseId": base} if base else {})},
                "region": {"startLine": line, "startColumn": col}}
    result = {"ruleId": "schema.enum", "message": {"text": message}, "locations": [{"physicalLocation": location}]}
    if level:
        result["level"] = level
    return result


def test_annotations_point_at_workspace_relative_files(tmp_path):
    workspace = tmp_path / "repo"
    workspace.mkdir()
    sarif = _sarif(tmp_path, [
        _result("content/analytic-rules/bad%20rule.yaml", "error", "severity: 'Hi' is not one of High, Medium"),
        _result("content/hunting-queries/q.yaml", None, "tactics: use a list", line=9, col=1),
        _result("content/parsers/p.yaml", "note", "consider a FunctionAlias"),
    ], workspace.as_uri() + "/")

    lines = [workflow_command(f) for f in read_sarif(sarif, workspace)]

    assert lines == [
        "::error file=content/analytic-rules/bad rule.yaml,line=3,col=7,title=schema.enum::"
        "severity: 'Hi' is not one of High, Medium",
        "::warning file=content/hunting-queries/q.yaml,line=9,col=1,title=schema.enum::tactics: use a list",
        "::notice file=content/parsers/p.yaml,line=3,col=7,title=schema.enum::consider a FunctionAlias",
    ]


def test_annotation_escaping_keeps_one_command_per_line():
    finding = Finding("error", "kql.syntax", "50% of lines\nbad: token", "a,b:c.yaml", 1, 2, None, None)
    line = workflow_command(finding)
    assert "\n" not in line
    assert line == "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=kql.syntax::50%25 of lines%0Abad: token"


def test_relative_uris_without_a_base_stay_relative(tmp_path):
    sarif = _sarif(tmp_path, [_result("content/x.yaml", "error", "m", base=None)], None)
    assert read_sarif(sarif, tmp_path)[0].file == "content/x.yaml"


def test_digest_counts_levels_and_escapes_table_cells():
    findings = [Finding("error", "r1", "a | b", "x.yaml", 1, 1, None, None),
                Finding("warning", "r2", "w", "y.yaml", 2, 1, None, None)]
    text = findings_markdown(findings)
    assert "validate: failed" in text and "1 error(s), 1 warning(s), 0 note(s)" in text
    assert "a \\| b" in text and "`x.yaml:1`" in text
    assert "validate: passed" in findings_markdown([])


def test_annotate_command_prints_annotations_and_writes_the_summary(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from packer.cli import app

    monkeypatch.chdir(tmp_path)
    sarif = _sarif(tmp_path, [_result("content/a.yaml", "error", "id: not a GUID", line=1, col=5)],
                   tmp_path.as_uri() + "/")
    summary = tmp_path / "summary.md"
    result = CliRunner().invoke(app, ["github", "annotate", str(sarif)], env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 0
    assert result.output.splitlines() == ["::error file=content/a.yaml,line=1,col=5,title=schema.enum::id: not a GUID"]
    assert "1 error(s)" in summary.read_text()


def test_annotate_names_a_missing_sarif_log(tmp_path):
    from typer.testing import CliRunner

    from packer.cli import app

    result = CliRunner().invoke(app, ["github", "annotate", str(tmp_path / "missing.sarif")])
    assert result.exit_code != 0
    assert "--format sarif" in str(result.exception)
