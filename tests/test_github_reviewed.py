"""The reviewed plan from pull request to rollout, through the workflows' own steps: content-pr's
plan job saves the fleet plan; content-rollout's prepare job finds it through a local stand-in
for the GitHub REST API (the pull request of the pushed commit, its plan runs, their artifacts,
the artifact's zip behind a redirect to storage); each wave shard applies it where nothing
moved and re-plans, naming the workspace and the reason, where something did."""
from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from packer import resource_ids
from packer.cli import app
from packer.github.comments import GitHubClient
from packer.github.reviewed import NoReviewedPlan, ReviewedPlanFound, fetch_reviewed_plan, find_reviewed_plan
from packer.remote.client import WorkspaceClient
from packer.targets import load_inventory
from tests.fleetkit import KASEYA_RULE_ID
from tests.github_steps import action_argv, step, step_argv, step_env, workflow
from tests.test_github_fleet import fleet_repo, run_step  # noqa: F401 (fixture)
from tests.fake_http import JsonHandler, serving

TOKEN = "ghs_reviewedPlanStandIn0123456789"
REPO = "contoso/sentinel-content"
MERGE_SHA = "a" * 40
HEAD_SHA = "b" * 40
PR_NUMBER = 7


def plan_zip(plan_json: str) -> bytes:
    """The artifact as actions/upload-artifact stores `sentinel-packer-out/plan.*`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("plan.json", plan_json)
        archive.writestr("plan.md", "### fleet plan\n")
    return buffer.getvalue()


class FakeActions:
    """Pull requests, workflow runs and artifacts of one repository, as api.github.com serves them."""

    def __init__(self):
        self.pulls: dict[str, list[dict]] = {}  # commit sha -> pull requests
        self.runs: list[dict] = []
        self.artifacts: dict[int, list[dict]] = {}  # run id -> artifacts
        self.blobs: dict[int, bytes] = {}  # artifact id -> zip
        self.requests: list[str] = []
        self.storage_saw_token = False
        self.transient: list[int] = []  # statuses answered before the real answer
        self.refuse: int | None = None

    def merged(self, merge_sha: str = MERGE_SHA, head_sha: str = HEAD_SHA, number: int = PR_NUMBER) -> None:
        self.pulls[merge_sha] = [{"number": number, "merged_at": "2026-01-01T00:00:00Z", "merge_commit_sha": merge_sha,
                                  "head": {"sha": head_sha}}]

    def run(self, run_id: int, run_number: int, conclusion: str = "success", head_sha: str = HEAD_SHA,
            repository: str = REPO, plan: bytes | None = None, expired: bool = False) -> None:
        self.runs.append({"id": run_id, "run_number": run_number, "run_attempt": 1, "event": "pull_request",
                          "status": "completed", "conclusion": conclusion, "head_sha": head_sha,
                          "head_repository": {"full_name": repository},
                          "html_url": f"https://github.example/{REPO}/actions/runs/{run_id}"})
        if plan is not None:
            artifact_id = run_id * 10
            self.artifacts[run_id] = [{"id": artifact_id, "name": "fleet-plan", "expired": expired}]
            self.blobs[artifact_id] = plan


def _handler(fake: FakeActions, urls: dict[str, str]):
    class Api(JsonHandler):
        def do_GET(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path.startswith("/storage/"):  # the pre-signed storage URL: no token expected
                fake.storage_saw_token |= "Authorization" in self.headers
                data = fake.blobs.get(int(url.path.rsplit("/", 1)[1]), b"")
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            fake.requests.append(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.reply(401, {"message": "Bad credentials"})
            if fake.refuse:
                return self.reply(fake.refuse, {"message": "Resource not accessible by integration"})
            if fake.transient:
                return self.reply(fake.transient.pop(0), {"message": "Server Error"})
            base = f"/repos/{REPO}"
            if match := re.fullmatch(rf"{base}/commits/(\w+)/pulls", url.path):
                return self.reply(200, fake.pulls.get(match.group(1), []))
            if re.fullmatch(rf"{base}/actions/workflows/content-pr\.yml/runs", url.path):
                runs = [r for r in fake.runs if r["head_sha"] == query.get("head_sha", r["head_sha"])
                        and r["event"] == query.get("event", r["event"])
                        and (query.get("status") != "success" or r["conclusion"] == "success")]
                return self.reply(200, {"total_count": len(runs), "workflow_runs": runs})
            if match := re.fullmatch(rf"{base}/actions/runs/(\d+)/artifacts", url.path):
                found = [a for a in fake.artifacts.get(int(match.group(1)), []) if a["name"] == query.get("name", a["name"])]
                return self.reply(200, {"total_count": len(found), "artifacts": found})
            if match := re.fullmatch(rf"{base}/actions/artifacts/(\d+)/zip", url.path):
                return self.reply(302, None, {"Location": f"{urls['storage']}/storage/{match.group(1)}"})
            self.reply(404, {"message": "Not Found"})

    return Api


@pytest.fixture
def actions():
    fake, urls = FakeActions(), {}
    # two origins, as api.github.com and its storage are
    with serving(_handler(fake, urls)) as urls["api"], serving(_handler(fake, urls)) as urls["storage"]:
        fake.url = urls["api"]
        yield fake


def client(actions) -> GitHubClient:
    return GitHubClient(actions.url, TOKEN, backoff=0.0)


# --- finding it -------------------------------------------------------------------------------


def test_a_direct_push_has_no_reviewed_plan(actions):
    found = find_reviewed_plan(client(actions), REPO, MERGE_SHA)
    assert found == NoReviewedPlan(f"commit {MERGE_SHA[:12]} is not the merge of a pull request (pushed directly?)")


def test_the_newest_successful_run_from_this_repository_is_taken_never_a_forks(actions):
    actions.merged()
    actions.run(101, 1, plan=plan_zip("{}"))
    actions.run(103, 3, plan=plan_zip("{}"))
    actions.run(104, 4, conclusion="failure", plan=plan_zip("{}"))
    actions.run(105, 5, repository="mallory/sentinel-content", plan=plan_zip("{}"))  # a fork's run, same head sha

    found = find_reviewed_plan(client(actions), REPO, MERGE_SHA)

    assert found == ReviewedPlanFound(PR_NUMBER, 103, f"https://github.example/{REPO}/actions/runs/103", 1030, HEAD_SHA)


def test_a_run_without_the_artifact_or_with_it_expired_is_said(actions):
    actions.merged()
    actions.run(101, 1, plan=plan_zip("{}"), expired=True)
    found = find_reviewed_plan(client(actions), REPO, MERGE_SHA)
    assert isinstance(found, NoReviewedPlan) and "run 101 of pull request #7 has no 'fleet-plan' artifact" in found.reason


def test_no_successful_run_for_the_pull_requests_last_commit(actions):
    actions.merged()
    actions.run(101, 1, head_sha="c" * 40, plan=plan_zip("{}"))  # an earlier push to the pull request
    found = find_reviewed_plan(client(actions), REPO, MERGE_SHA)
    assert isinstance(found, NoReviewedPlan) and f"last commit {HEAD_SHA[:12]}" in found.reason


def test_the_download_leaves_the_token_at_the_api_and_retries_its_errors(actions, tmp_path):
    fleet_plan = json.dumps({"format": "sentinel-packer/fleet-plan@1", "workspaces": []})
    actions.merged()
    actions.run(101, 1, plan=plan_zip(fleet_plan))
    actions.transient = [503, 502]

    result = fetch_reviewed_plan(client(actions), REPO, MERGE_SHA, tmp_path / "reviewed")

    assert result.path == tmp_path / "reviewed" / "plan.json" and result.path.read_text() == fleet_plan
    assert actions.transient == [] and not actions.storage_saw_token
    assert result.message == f"reviewed plan: pull request #7, plan run 101 on {HEAD_SHA[:12]}"


def test_an_artifact_that_is_not_a_fleet_plan_is_not_used(actions, tmp_path):
    actions.merged()
    actions.run(101, 1, plan=plan_zip(json.dumps({"format": "sentinel-packer/plan@1"})))
    result = fetch_reviewed_plan(client(actions), REPO, MERGE_SHA, tmp_path)
    assert result.path is None and "not a sentinel-packer fleet plan" in result.message


def test_the_cli_without_actions_read_warns_and_lets_the_rollout_plan_everything(actions, tmp_path):
    actions.merged()
    actions.refuse = 403
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": actions.url, "GITHUB_SHA": MERGE_SHA,
           "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}

    result = CliRunner().invoke(app, ["github", "reviewed-plan", "--out", str(tmp_path / "r")], env=env)

    assert result.exit_code == 0, result.output
    assert result.output.startswith("::warning title=sentinel-packer reviewed plan::no reviewed plan: GET ")
    assert "403" in result.output and TOKEN not in result.output + summary.read_text()
    assert "plan-path=\n" in output.read_text()
    assert "Every workspace is planned afresh" in summary.read_text()


# --- pull request to rollout, through the workflows' steps --------------------------------------


def _marks(emulator, inventory, name: str) -> list[str]:
    target = inventory.target(name)
    credential = emulator.credential(inventory.tenant_of(target).token_tenant_id)
    with WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path) as ws:
        metadata = ws.list_in(resource_ids.METADATA)
        return [str((m.get("properties") or {}).get("customVersion", "")) for m in metadata
                if (m.get("properties") or {}).get("kind") == "AnalyticsRule"]


def test_the_plan_reviewed_on_the_pull_request_is_what_the_rollout_applies(fleet_repo, actions):  # noqa: F811
    root, emulator, _ = fleet_repo
    pr_jobs, rollout_jobs = workflow("content-pr.yml")["jobs"], workflow("content-rollout.yml")["jobs"]
    pr_commit, main_commit = "1" * 40, MERGE_SHA

    # content-pr.yml, plan job: the plan step, then the upload of sentinel-packer-out/plan.*
    planned = run_step(root, action_argv(step(pr_jobs["plan"], "plan")["with"]), {"GITHUB_SHA": pr_commit})
    assert planned.exit_code == 0, planned.stdout
    upload = next(s for s in pr_jobs["plan"]["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"] == {"name": "fleet-plan", "path": "sentinel-packer-out/plan.*"}
    actions.merged()
    actions.run(501, 12, plan=plan_zip((root / "sentinel-packer-out" / "plan.json").read_text(encoding="utf-8")))

    # Since the review, someone made a rule in ws05's portal at an id the plan creates.
    ws05 = load_inventory(root / "targets.yaml").target("ws05")
    emulator.store.put(f"{ws05.workspace_id}/providers/Microsoft.SecurityInsights/alertRules/{KASEYA_RULE_ID}",
                       {"kind": "Scheduled", "properties": {"displayName": "made in the portal"}})

    # content-rollout.yml, prepare job: find the reviewed plan
    prepare = rollout_jobs["prepare"]
    find = step(prepare, "reviewed")
    runner_env = {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": actions.url, "GITHUB_SHA": main_commit}
    found = run_step(root, step_argv(find, {"github.token": TOKEN}), {**runner_env, **step_env(find, {"github.token": TOKEN})})
    assert found.exit_code == 0, found.stdout
    assert found.outputs["plan-path"] and found.outputs["pull-request"] == str(PR_NUMBER)
    assert "Applying the plan reviewed on pull request #7" in found.summary
    assert prepare["outputs"]["reviewed"] == "${{ steps.reviewed.outputs.plan-path != '' }}"
    keep = next(s for s in prepare["steps"] if "upload-artifact" in s.get("uses", ""))
    assert keep["with"]["name"] == "reviewed-plan" and keep["if"] == "steps.reviewed.outputs.plan-path != ''"

    # each wave shard: download-artifact of reviewed-plan into sentinel-packer-reviewed/, then the rollout step
    reviewed_dir = root / "sentinel-packer-reviewed"
    reviewed_dir.mkdir()
    (reviewed_dir / "plan.json").write_bytes((root / found.outputs["plan-path"]).read_bytes())
    inventory = load_inventory(root / "targets.yaml")
    for wave in ("canary", "early", "broad"):
        download = next(s for s in rollout_jobs[wave]["steps"] if "download-artifact" in s.get("uses", ""))
        assert download["with"] == {"name": "reviewed-plan", "path": "sentinel-packer-reviewed"}
        assert download["if"] == "needs.prepare.outputs.reviewed == 'true'"
        names = ",".join(t.name for t in inventory.select(wave=wave))
        context = {"matrix.select": names, "matrix.shard": "1", "needs.prepare.outputs.reviewed": "true"}
        rolled = run_step(root, action_argv(step(rollout_jobs[wave], "rollout")["with"], context),
                          {"GITHUB_SHA": main_commit})
        assert rolled.exit_code == 0, rolled.stdout
        if wave == "early":
            assert (f"::notice title=sentinel-packer rollout::workspace ws05 re-planned, not the reviewed plan: "
                    f"the workspace changed since the review ({KASEYA_RULE_ID})") in rolled.stdout
            assert "- `ws05` re-planned: the workspace changed since the review" in rolled.summary
        else:
            assert "re-planned" not in rolled.stdout
        assert "**Reviewed plan**: applied as reviewed in" in rolled.summary

    for name in (t.name for t in inventory.targets):
        marks = _marks(emulator, inventory, name)
        commit = main_commit if name == "ws05" else pr_commit  # the reviewed plan, byte for byte, elsewhere
        assert marks and all(f"@{commit}" in m for m in marks), (name, marks)


def test_only_prepare_reads_runs_and_pull_requests_and_only_on_a_push():
    jobs = workflow("content-rollout.yml")["jobs"]
    assert jobs["prepare"]["permissions"] == {"contents": "read", "pull-requests": "read", "actions": "read"}
    find = step(jobs["prepare"], "reviewed")
    assert find["if"] == "github.event_name == 'push'"  # a manual dispatch (prune) merges no pull request
    assert find["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    for wave in ("canary", "early", "broad"):  # same-run artifacts: no extra permission in the deploying jobs
        assert "actions" not in jobs[wave]["permissions"] and "pull-requests" not in jobs[wave]["permissions"]
