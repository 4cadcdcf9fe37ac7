"""Where a workflow run is: repository, pull request number and API URL, from the runner's
environment variables and event payload."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from packer.errors import ConfigError

DEFAULT_API_URL = "https://api.github.com"


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def api_url(environ: Mapping[str, str] | None = None) -> str:
    return _env(environ).get("GITHUB_API_URL") or DEFAULT_API_URL


def repository(environ: Mapping[str, str] | None = None) -> str:
    value = _env(environ).get("GITHUB_REPOSITORY", "")
    if "/" not in value:
        raise ConfigError("GITHUB_REPOSITORY is not set (owner/name): pass --repo or run inside GitHub Actions")
    return value


def pull_request_number(environ: Mapping[str, str] | None = None) -> int:
    """The pull request (or issue) number of the event that started the run."""
    event_path = _env(environ).get("GITHUB_EVENT_PATH", "")
    if not event_path:
        raise ConfigError("GITHUB_EVENT_PATH is not set: pass --pr or run inside GitHub Actions")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{event_path}: cannot read the workflow event ({exc})") from exc
    for key in ("pull_request", "issue"):
        number = (event.get(key) or {}).get("number")
        if isinstance(number, int):
            return number
    if isinstance(event.get("number"), int):
        return event["number"]
    raise ConfigError("this workflow event has no pull request: run the comment step only on `pull_request` events or pass --pr")


def run_footer(environ: Mapping[str, str] | None = None) -> str:
    """A line naming the commit and the run that produced a comment (empty outside Actions)."""
    env = _env(environ)
    sha = env.get("GITHUB_SHA", "")
    if not sha:
        return ""
    footer = f"<sub>sentinel-packer · commit {sha[:12]}"
    server, repo, run_id = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    if server and repo and run_id:
        footer += f" · [workflow run]({server}/{repo}/actions/runs/{run_id})"
    return footer + "</sub>\n"
