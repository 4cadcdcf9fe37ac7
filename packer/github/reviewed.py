"""Find the fleet plan reviewed on the pull request a push to main merged, through the GitHub API.

The push's commit -> the pull request merged as that commit (GET /repos/R/commits/SHA/pulls,
`merge_commit_sha`, which is also the squash or last rebased commit) -> the newest successful
run of the plan workflow for the pull request's last commit, from a branch of this repository
(a fork's run could have uploaded anything under the artifact's name) -> its `fleet-plan`
artifact -> plan.json. Whether that plan may still be applied, workspace by workspace, is
packer.rollout.reviewed's decision; here only where it is.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from packer.errors import ConfigError, PackerError
from packer.github.comments import GitHubApiError, GitHubClient
from packer.rollout.reviewed import NoReviewedPlan

PLAN_FILE = "plan.json"
PLAN_LIMIT_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ReviewedPlanFound:
    pull_request: int
    run_id: int
    run_url: str
    artifact_id: int
    head_sha: str

    def describe(self) -> str:
        return f"pull request #{self.pull_request}, plan run {self.run_id} on {self.head_sha[:12]}"


def find_reviewed_plan(client: GitHubClient, repository: str, sha: str, workflow: str = "content-pr.yml",
                       artifact: str = "fleet-plan") -> ReviewedPlanFound | NoReviewedPlan:
    """Where the plan reviewed for the pull request merged as `sha` is, or why there is none."""
    repo = f"/repos/{repository}"
    pulls = client.get(f"{repo}/commits/{quote(sha)}/pulls") or []
    merged = [p for p in pulls if isinstance(p, dict) and p.get("merged_at") and p.get("merge_commit_sha") == sha]
    if not merged:
        return NoReviewedPlan(f"commit {sha[:12]} is not the merge of a pull request (pushed directly?)")
    pull = merged[0]
    head = str((pull.get("head") or {}).get("sha") or "")
    runs = (client.get(f"{repo}/actions/workflows/{quote(workflow)}/runs",
                       {"event": "pull_request", "head_sha": head, "status": "success", "per_page": 100}) or {})
    candidates = [r for r in runs.get("workflow_runs") or []
                  if r.get("head_sha") == head and r.get("conclusion") == "success" and r.get("event") == "pull_request"
                  and ((r.get("head_repository") or {}).get("full_name") or "").lower() == repository.lower()]
    if not candidates:
        return NoReviewedPlan(f"no successful {workflow} run from this repository for pull request "
                              f"#{pull.get('number')}'s last commit {head[:12]}")
    run = max(candidates, key=lambda r: (int(r.get("run_number") or 0), int(r.get("run_attempt") or 0)))
    listed = client.get(f"{repo}/actions/runs/{int(run['id'])}/artifacts", {"name": artifact, "per_page": 100}) or {}
    found = [a for a in listed.get("artifacts") or [] if a.get("name") == artifact and not a.get("expired")]
    if not found:
        return NoReviewedPlan(f"{workflow} run {run['id']} of pull request #{pull.get('number')} has no "
                              f"{artifact!r} artifact (the plan job was skipped, or the artifact expired)")
    return ReviewedPlanFound(int(pull["number"]), int(run["id"]), str(run.get("html_url") or ""), int(found[0]["id"]),
                             head)


def download_reviewed_plan(client: GitHubClient, repository: str, found: ReviewedPlanFound, out_dir: Path) -> Path:
    """The artifact's plan.json, written to `out_dir` (NoPlanInArtifact when the zip has none)."""
    data = client.download(f"/repos/{repository}/actions/artifacts/{found.artifact_id}/zip", PLAN_LIMIT_BYTES)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            member = next((m for m in archive.infolist() if m.filename == PLAN_FILE), None)
            if member is None or member.file_size > PLAN_LIMIT_BYTES:
                raise NoPlanInArtifact(f"artifact {found.artifact_id} ({found.describe()}) holds no {PLAN_FILE}")
            text = archive.read(member)
    except zipfile.BadZipFile as exc:
        raise NoPlanInArtifact(f"artifact {found.artifact_id} is not a zip archive ({exc})") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PLAN_FILE
    path.write_bytes(text)
    return path


class NoPlanInArtifact(PackerError):
    """The artifact was found but carries no plan."""


@dataclass(frozen=True)
class FetchResult:
    """The reviewed plan saved to `path`, or None and why (every workspace is then planned afresh)."""

    path: Path | None
    message: str
    found: ReviewedPlanFound | None = None

    def summary(self) -> str:
        """The job summary's paragraph."""
        head = "### sentinel-packer reviewed plan\n\n"
        if self.found is None or self.path is None:
            return f"{head}Every workspace is planned afresh: {self.message}.\n"
        link = f" ([plan run]({self.found.run_url}))" if self.found.run_url else ""
        return (f"{head}Applying the plan reviewed on {self.found.describe()}{link} in each workspace whose content "
                "and live state are unchanged since; the others are re-planned, each with its reason, in the "
                "rollout reports.\n")


def fetch_reviewed_plan(client: GitHubClient, repository: str, sha: str, out_dir: Path,
                        workflow: str = "content-pr.yml", artifact: str = "fleet-plan") -> FetchResult:
    """Find, download and check the reviewed plan. Any failure (no pull request, no run, an API
    refusal such as a missing `actions: read`, a damaged artifact) leaves the rollout to plan
    every workspace itself, as it would without a review: the message says which."""
    from packer.rollout.reviewed import load_reviewed_plan

    try:
        found = find_reviewed_plan(client, repository, sha, workflow, artifact)
        if isinstance(found, NoReviewedPlan):
            return FetchResult(None, f"no reviewed plan: {found.reason}")
        path = download_reviewed_plan(client, repository, found, out_dir)
        load_reviewed_plan(path, found.describe())
    except (GitHubApiError, NoPlanInArtifact, ConfigError) as exc:
        return FetchResult(None, f"no reviewed plan: {exc}")
    return FetchResult(path, f"reviewed plan: {found.describe()}", found)
