"""Find the pull-request run whose fleet plan the rollout of a push to main may apply (Azure Repos).

The pushed commit -> the pull request that created it as its merge commit (Pull Request Query,
`type: lastMergeCommit`: "find the pull request that created a particular merge commit") -> the
newest succeeded run of the plan pipeline for that pull request (Builds - List,
`reasonFilter=pullRequest`, `branchName=refs/pull/N/merge`, `resultFilter=succeeded`), not one
from a fork. The pipeline then downloads that run's `fleet-plan` artifact with
DownloadPipelineArtifact@2 (`buildType: specific`, `pipelineId` = the run); whether each
workspace may get the saved plan is packer.rollout.reviewed's decision. Any run picked wrongly
only costs a re-plan: a plan of other content fails the content digest check.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from packer.azure_devops.comments import AzureDevOpsApiError, AzureDevOpsClient
from packer.rollout.reviewed import NoReviewedPlan


@dataclass(frozen=True)
class ReviewedRun:
    pull_request: int
    run_id: int


def find_reviewed_run(client: AzureDevOpsClient, collection_uri: str, project: str, repository_id: str,
                      commit: str, plan_pipeline_id: int) -> ReviewedRun | NoReviewedPlan:
    """The plan run of the pull request merged as `commit`, or why there is none."""
    base = f"{collection_uri.rstrip('/')}/{quote(project)}/_apis"
    answer = client.request("POST", f"{base}/git/repositories/{quote(repository_id)}/pullrequestquery",
                            {"queries": [{"type": "lastMergeCommit", "items": [commit]}]})
    pulls = [p for result in answer.get("results") or [] for p in (result or {}).get(commit) or []]
    if not pulls:
        return NoReviewedPlan(f"commit {commit[:12]} is not the merge of a pull request (pushed directly?)")
    number = int(pulls[0]["pullRequestId"])
    query = urlencode({"definitions": plan_pipeline_id, "reasonFilter": "pullRequest", "resultFilter": "succeeded",
                       "branchName": f"refs/pull/{number}/merge", "queryOrder": "finishTimeDescending"})
    builds = client.request("GET", f"{base}/build/builds?{query}").get("value") or []
    # Inferred, not documented: pull-request runs carry triggerInfo {"pr.isFork": "True"|"False"}.
    own = [b for b in builds if str((b.get("triggerInfo") or {}).get("pr.isFork", "False")).lower() != "true"]
    if not own:
        return NoReviewedPlan(f"no succeeded run of pipeline {plan_pipeline_id} for pull request {number}")
    return ReviewedRun(number, int(own[0]["id"]))


def reviewed_run_or_reason(client: AzureDevOpsClient, collection_uri: str, project: str, repository_id: str,
                           commit: str, plan_pipeline_id: int) -> ReviewedRun | NoReviewedPlan:
    """As find_reviewed_run; an API refusal is a reason too (the rollout then plans every workspace)."""
    try:
        return find_reviewed_run(client, collection_uri, project, repository_id, commit, plan_pipeline_id)
    except AzureDevOpsApiError as exc:
        return NoReviewedPlan(str(exc))
