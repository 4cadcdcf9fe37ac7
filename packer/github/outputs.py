"""The files GitHub Actions hands a step: $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT.

Outside Actions (the variables unset) writes are skipped, so the same commands run locally.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path

# GitHub rejects a step summary over 1 MiB; leave room for the truncation notice.
SUMMARY_LIMIT_BYTES = 1_000_000


def _env_path(name: str, environ: Mapping[str, str] | None) -> Path | None:
    value = (os.environ if environ is None else environ).get(name, "")
    return Path(value) if value else None


def truncate_utf8(text: str, limit_bytes: int, notice: str) -> str:
    """`text` cut to `limit_bytes` UTF-8 bytes (on a line boundary) with `notice` appended."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit_bytes:
        return text
    budget = max(0, limit_bytes - len(notice.encode("utf-8")) - 2)
    head = encoded[:budget].decode("utf-8", errors="ignore")
    head = head[: head.rfind("\n") + 1] if "\n" in head else head
    return f"{head}\n{notice}\n"


def write_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append Markdown to the job summary; returns the file written, or None outside Actions."""
    path = _env_path("GITHUB_STEP_SUMMARY", environ)
    if path is None:
        return None
    notice = "_Summary truncated: GitHub allows 1 MiB per step. The full text is in the uploaded artifact._"
    text = truncate_utf8(markdown, SUMMARY_LIMIT_BYTES, notice)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path


def format_output(name: str, value: str) -> str:
    """One $GITHUB_OUTPUT entry; multi-line values use a random heredoc delimiter that the
    value cannot contain, so a crafted value cannot inject other outputs."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_outputs(values: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Path | None:
    """Append step outputs; returns the file written, or None outside Actions."""
    path = _env_path("GITHUB_OUTPUT", environ)
    if path is None:
        return None
    with path.open("a", encoding="utf-8") as handle:
        for name, value in values.items():
            handle.write(format_output(name, value))
    return path


def parse_output_file(text: str) -> dict[str, str]:
    """Read a $GITHUB_OUTPUT file back the way the runner does (used by tests and `github run`)."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise ValueError(f"output {name!r}: heredoc delimiter {delimiter!r} never closed")
            index += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values
