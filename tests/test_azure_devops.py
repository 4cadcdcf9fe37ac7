"""Azure DevOps: the pipeline templates' structure (stages in order, environments, identities
through service connections, only real CLI commands), logging commands from SARIF, and the
sticky pull-request thread against a local stand-in for the Azure DevOps REST endpoints."""
from __future__ import annotations

import re
import shlex
from urllib.parse import urlparse

import pytest
import yaml
from typer.testing import CliRunner

from packer.azure_devops.comments import AzureDevOpsApiError, AzureDevOpsClient, PullRequest, upsert_thread
from packer.azure_devops.logging import logissue_command
from packer.cli import app
from packer.github.annotations import Finding
from packer.github.comments import marker_line
from tests.conftest import PROJECT_ROOT
from tests.fake_http import JsonHandler, serving

PIPELINES = PROJECT_ROOT / "azure-pipelines"
TOKEN = "azdo-standin-token-0123456789"
ME, SOMEONE = "11111111-aaaa-4aaa-8aaa-000000000001", "22222222-bbbb-4bbb-8bbb-000000000002"
MARKER = "sentinel-packer:plan"


def pipeline(name: str) -> dict:
    return yaml.safe_load((PIPELINES / name).read_text(encoding="utf-8"))


def _scripts(node) -> list[str]:
    """Every bash/inline script in a pipeline document, template expressions left in."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("bash", "inlineScript") and isinstance(value, str):
                found.append(value)
            else:
                found += _scripts(value)
    elif isinstance(node, list):
        for value in node:
            found += _scripts(value)
    return found


def test_rollout_runs_the_waves_in_order_each_a_deployment_job_in_its_environment():
    doc = pipeline("content-rollout.yml")
    assert doc["trigger"]["branches"]["include"] == ["main"] and doc["pr"] == "none"
    loop_key, waves = next(iter(doc["stages"][1].items()))
    assert loop_key == "${{ each wave in split('canary,early,broad', ',') }}"
    stage = waves[0]
    assert stage["${{ if eq(wave, 'canary') }}"] == {"dependsOn": "validate"}
    assert stage["${{ if eq(wave, 'early') }}"] == {"dependsOn": ["validate", "canary"]}
    assert stage["${{ if eq(wave, 'broad') }}"] == {"dependsOn": ["validate", "early"]}
    assert stage["condition"] == "succeeded()"
    job = stage["jobs"][0]
    assert job["environment"] == "${{ wave }}" and "deployment" in job
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    rollout = next(s for s in steps if s.get("task") == "AzureCLI@2")
    assert rollout["inputs"]["azureSubscription"] == "sentinel-deploy"  # workload identity federation
    assert "--wave ${{ wave }}" in rollout["inputs"]["inlineScript"]


def test_pull_requests_validate_plan_with_the_read_only_connection_and_keep_one_thread():
    doc = pipeline("content-pr.yml")
    assert doc["trigger"] == "none" and doc["pr"]["branches"]["include"] == ["main"]
    validate, plan = doc["stages"]
    assert plan["dependsOn"] == "validate"
    scripts = _scripts(validate)
    assert any("azdo annotate" in s for s in scripts) and any("--format sarif" in s for s in scripts)
    plan_task = next(s for s in plan["jobs"][0]["steps"] if s.get("task") == "AzureCLI@2")
    assert plan_task["inputs"]["azureSubscription"] == "sentinel-plan"
    comment = next(s for s in plan["jobs"][0]["steps"] if "azdo comment" in s.get("bash", ""))
    assert comment["env"] == {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"}


@pytest.mark.parametrize("name", ["content-pr.yml", "content-rollout.yml", "templates/install.yml"])
def test_no_secret_and_only_real_commands(name):
    text = (PIPELINES / name).read_text(encoding="utf-8").lower()
    for forbidden in ("client-secret", "clientsecret", "client_secret", "password"):
        assert forbidden not in text
    for script in _scripts(pipeline(name)):
        for line in script.replace("\\\n", " ").splitlines():
            if '"$(SENTINEL_PACKER)"' not in line:
                continue
            words = shlex.split(re.sub(r"\$\{\{.*?\}\}", "X", line.split('"$(SENTINEL_PACKER)"', 1)[1]))
            command = [w for w in words[:2] if not w.startswith(("-", "$", "/", "X")) and "/" not in w]
            result = CliRunner().invoke(app, [*command, "--help"])
            assert result.exit_code == 0, (name, command, result.output)
            options = {w.split("=")[0] for w in words if w.startswith("--")}
            assert options <= set(re.findall(r"--[\w-]+", result.output)), (name, command, options)


def test_logissue_lines_are_escaped_as_the_agent_expects():
    finding = Finding("error", "RULE001", "bad value; see ]docs[\nnext line", "content/a.yaml", 12, 5, None, None)
    assert logissue_command(finding) == ("##vso[task.logissue type=error;sourcepath=content/a.yaml;linenumber=12;"
                                         "columnnumber=5;code=RULE001]bad value%3B see %5Ddocs[%0Anext line")
    assert logissue_command(Finding("note", "", "fyi", None, None, None, None, None)) is None


class FakeAzureDevOps:
    def __init__(self):
        self.threads: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.transient: list[int] = []
        self._next = 100

    def add(self, author: str, content: str) -> dict:
        self._next += 1
        thread = {"id": self._next, "comments": [{"id": 1, "content": content, "author": {"id": author}}]}
        self.threads.append(thread)
        return thread


@pytest.fixture
def azdo():
    fake = FakeAzureDevOps()

    class Handler(JsonHandler):
        def _handle(self, method: str):
            fake.requests.append((method, self.path))
            url = urlparse(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}" or "api-version=7.1" not in url.query:
                return self.reply(401, {"message": "unauthorised"})
            if fake.transient:
                return self.reply(fake.transient.pop(0), {"message": "busy"})
            body = self.json_body()
            if url.path == "/contoso/_apis/connectionData":
                return self.reply(200, {"authenticatedUser": {"id": ME}})
            threads = "/contoso/Sentinel/_apis/git/repositories/repo-1/pullRequests/7/threads"
            if url.path == threads and method == "GET":
                return self.reply(200, {"value": fake.threads, "count": len(fake.threads)})
            if url.path == threads and method == "POST":
                return self.reply(200, fake.add(ME, body["comments"][0]["content"]))
            match = re.fullmatch(re.escape(threads) + r"/(\d+)/comments/(\d+)", url.path)
            if match and method == "PATCH":
                thread = next(t for t in fake.threads if t["id"] == int(match.group(1)))
                thread["comments"][0]["content"] = body["content"]
                return self.reply(200, thread["comments"][0])
            return self.reply(404, {"message": "not found"})

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_PATCH(self):
            self._handle("PATCH")

    with serving(Handler) as url:
        fake.url = f"{url}/contoso/"
        yield fake


def test_one_sticky_thread_ours_only_and_retried(azdo):
    planted = azdo.add(SOMEONE, f"{marker_line(MARKER)}\nplanted")
    pr = PullRequest(azdo.url, "Sentinel", "repo-1", 7)
    client = AzureDevOpsClient(azdo.url, TOKEN, backoff=0.0)
    azdo.transient = [503, 429]
    first = upsert_thread(client, pr, MARKER, "plan 1")
    second = upsert_thread(client, pr, MARKER, "plan 2")
    third = upsert_thread(client, pr, MARKER, "plan 2")
    assert (first.action, second.action, third.action) == ("created", "updated", "unchanged")
    assert first.thread_id == second.thread_id != planted["id"]
    assert planted["comments"][0]["content"].endswith("planted")
    assert [t["comments"][0]["content"].endswith("plan 2") for t in azdo.threads] == [False, True]


def test_the_token_goes_to_the_collection_host_only_and_is_never_printed(azdo):
    client = AzureDevOpsClient(azdo.url, TOKEN, attempts=1)
    with pytest.raises(AzureDevOpsApiError) as error:
        client.request("GET", "https://elsewhere.example/_apis/connectionData")
    assert "refusing" in str(error.value) and TOKEN not in str(error.value)
    assert azdo.requests == []


def test_cli_comment_from_the_pipelines_variables(azdo, tmp_path):
    plan = tmp_path / "plan.md"
    plan.write_text("## Fleet plan\n")
    env = {"SYSTEM_ACCESSTOKEN": TOKEN, "SYSTEM_COLLECTIONURI": azdo.url, "SYSTEM_TEAMPROJECT": "Sentinel",
           "BUILD_REPOSITORY_ID": "repo-1", "SYSTEM_PULLREQUEST_PULLREQUESTID": "7"}
    result = CliRunner().invoke(app, ["azdo", "comment", "--body-file", str(plan)], env=env)
    assert result.exit_code == 0, result.output
    assert "sticky thread created" in result.output and TOKEN not in result.output
