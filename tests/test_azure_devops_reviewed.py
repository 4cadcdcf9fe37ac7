"""Azure Pipelines and the reviewed plan: the rollout pipeline finds the merged pull request's plan
run (against a stand-in for the Azure DevOps REST endpoints) and hands its `fleet-plan` artifact
to every wave's rollout; the structure of that wiring, since no agent runs here."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from packer.azure_devops.comments import AzureDevOpsClient
from packer.azure_devops.reviewed import NoReviewedPlan, ReviewedRun, find_reviewed_run
from packer.cli import app
from tests.test_azure_devops import pipeline
from tests.fake_http import JsonHandler, serving

TOKEN = "azdo-reviewed-standin-0123456789"
MERGE = "d" * 40
PLAN_PIPELINE = 12


class FakeBuilds:
    def __init__(self):
        self.merged: dict[str, list[dict]] = {}  # merge commit -> pull requests
        self.builds: list[dict] = []
        self.refuse: int | None = None


@pytest.fixture
def builds():
    fake = FakeBuilds()

    class Handler(JsonHandler):
        def _authorised(self) -> bool:
            url = urlparse(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}" or "api-version=7.1" not in url.query:
                self.reply(401, {"message": "unauthorised"})
                return False
            if fake.refuse:
                self.reply(fake.refuse, {"message": "forbidden"})
                return False
            return True

        def do_POST(self):
            if not self._authorised():
                return
            body = self.json_body()
            if urlparse(self.path).path != "/contoso/Sentinel/_apis/git/repositories/repo-1/pullrequestquery":
                return self.reply(404, {"message": "not found"})
            query = body["queries"][0]
            assert query["type"] == "lastMergeCommit"
            self.reply(200, {"queries": body["queries"],
                              "results": [{c: fake.merged.get(c, []) for c in query["items"]}]})

        def do_GET(self):
            if not self._authorised():
                return
            url = urlparse(self.path)
            if url.path != "/contoso/Sentinel/_apis/build/builds":
                return self.reply(404, {"message": "not found"})
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            found = [b for b in fake.builds if str(b["definition"]["id"]) == q["definitions"]
                     and b["sourceBranch"] == q["branchName"] and b["reason"] == q["reasonFilter"]
                     and b["result"] == q["resultFilter"]]
            found.sort(key=lambda b: b["finishTime"], reverse=q.get("queryOrder") == "finishTimeDescending")
            self.reply(200, {"count": len(found), "value": found})

    with serving(Handler) as url:
        fake.url = f"{url}/contoso/"
        yield fake


def build(run_id: int, pr: int, finished: str, result: str = "succeeded", fork: bool = False) -> dict:
    return {"id": run_id, "definition": {"id": PLAN_PIPELINE}, "sourceBranch": f"refs/pull/{pr}/merge",
            "reason": "pullRequest", "result": result, "finishTime": finished,
            "triggerInfo": {"pr.number": str(pr), "pr.isFork": "True" if fork else "False"}}


def find(builds) -> ReviewedRun | NoReviewedPlan:
    client = AzureDevOpsClient(builds.url, TOKEN, backoff=0.0)
    return find_reviewed_run(client, builds.url, "Sentinel", "repo-1", MERGE, PLAN_PIPELINE)


def test_the_newest_succeeded_plan_run_of_the_merged_pull_request_not_a_forks(builds):
    builds.merged[MERGE] = [{"pullRequestId": 31}]
    builds.builds = [build(501, 31, "2026-01-01T10:00:00Z"), build(502, 31, "2026-01-01T11:00:00Z"),
                     build(503, 31, "2026-01-01T12:00:00Z", result="failed"),
                     build(504, 31, "2026-01-01T13:00:00Z", fork=True), build(505, 30, "2026-01-01T14:00:00Z")]
    assert find(builds) == ReviewedRun(31, 502)


def test_a_direct_push_or_no_run_is_a_reason(builds):
    assert find(builds) == NoReviewedPlan(f"commit {MERGE[:12]} is not the merge of a pull request (pushed directly?)")
    builds.merged[MERGE] = [{"pullRequestId": 31}]
    assert find(builds) == NoReviewedPlan(f"no succeeded run of pipeline {PLAN_PIPELINE} for pull request 31")


def _cli(builds):
    env = {"SYSTEM_ACCESSTOKEN": TOKEN, "SYSTEM_COLLECTIONURI": builds.url, "SYSTEM_TEAMPROJECT": "Sentinel",
           "BUILD_REPOSITORY_ID": "repo-1", "BUILD_SOURCEVERSION": MERGE}
    return CliRunner().invoke(app, ["azdo", "reviewed-run", "--plan-pipeline-id", str(PLAN_PIPELINE),
                                    "--variable", "reviewedRunId"], env=env)


def test_the_cli_sets_the_output_variable_or_warns_why_not(builds):
    builds.merged[MERGE] = [{"pullRequestId": 31}]
    builds.builds = [build(501, 31, "2026-01-01T10:00:00Z")]
    found = _cli(builds)
    assert found.exit_code == 0, found.output
    assert "##vso[task.setvariable variable=reviewedRunId;isOutput=true]501" in found.output.splitlines()

    builds.refuse = 403
    refused = _cli(builds)
    assert refused.exit_code == 0, refused.output
    lines = refused.output.splitlines()
    assert lines[0].startswith("##vso[task.logissue type=warning]no reviewed plan: POST ") and "403" in lines[0]
    assert lines[1] == "##vso[task.setvariable variable=reviewedRunId;isOutput=true]"
    assert TOKEN not in refused.output


def test_each_wave_downloads_the_reviewed_run_artifact_and_passes_it_to_rollout():
    pr_doc, doc = pipeline("content-pr.yml"), pipeline("content-rollout.yml")
    published = next(s for s in pr_doc["stages"][1]["jobs"][0]["steps"] if s.get("artifact") == "fleet-plan")
    assert published["publish"] == "$(outDir)"  # plan.json at the artifact's root

    find_step = next(s for s in doc["stages"][0]["jobs"][0]["steps"] if s.get("name") == "reviewed")
    assert "azdo reviewed-run --plan-pipeline-id \"$(planPipelineId)\" --variable reviewedRunId" in find_step["bash"]
    assert find_step["env"] == {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"}
    assert "in(variables['Build.Reason'], 'IndividualCI', 'BatchedCI')" in find_step["condition"]  # not a manual run

    wave = next(iter(doc["stages"][1].values()))[0]
    job = wave["jobs"][0]
    assert job["variables"] == {"reviewedRunId": "$[ stageDependencies.validate.validate.outputs['reviewed.reviewedRunId'] ]"}
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    download = next(s for s in steps if s.get("task") == "DownloadPipelineArtifact@2")
    assert download["condition"] == "and(succeeded(), ne(variables['reviewedRunId'], ''))"
    assert download["inputs"] == {"buildType": "specific", "project": "$(System.TeamProjectId)",
                                  "definition": "$(planPipelineId)", "buildVersionToDownload": "specific",
                                  "pipelineId": "$(reviewedRunId)", "artifactName": "fleet-plan",
                                  "targetPath": "$(Pipeline.Workspace)/reviewed"}
    script = next(s for s in steps if s.get("task") == "AzureCLI@2")["inputs"]["inlineScript"]
    assert 'plan="$(Pipeline.Workspace)/reviewed/plan.json"' in script and '${plan:+--reviewed-plan "$plan"}' in script
    assert steps.index(download) < steps.index(next(s for s in steps if s.get("task") == "AzureCLI@2"))
    assert "--reviewed-plan" in CliRunner().invoke(app, ["rollout", "--help"]).output
