"""The sticky PR comment against a local stand-in for the GitHub REST endpoints it calls:
list issue comments (paginated with Link headers), create, update."""
from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.github.comments import (
    COMMENT_LIMIT_CHARS,
    GitHubApiError,
    GitHubClient,
    marker_line,
    upsert_sticky_comment,
)
from tests.fake_http import JsonHandler, serving

TOKEN = "ghs_standInToken0123456789"
REPO = "contoso/detections"
PR = 42
MARKER = "sentinel-packer:plan"


class FakeGitHub:
    """Issue comments of one repository, served like api.github.com serves them."""

    def __init__(self, token: str = TOKEN, max_per_page: int = 100):
        self.token = token
        self.max_per_page = max_per_page
        self.comments: dict[int, list[dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_with: int | None = None
        self.user_login: str | None = None  # None: an installation token (GITHUB_TOKEN), /user is refused
        self.transient: list[tuple[int, dict]] = []  # (status, headers) answered before the real answer
        self._next_id = 1000
        self._lock = threading.Lock()

    def add(self, number: int, body: str, login: str = "someone") -> dict:
        with self._lock:
            self._next_id += 1
            comment = {"id": self._next_id, "body": body, "user": {"login": login},
                       "html_url": f"https://github.example/{REPO}/pull/{number}#issuecomment-{self._next_id}"}
            self.comments.setdefault(number, []).append(comment)
            return comment

    def marked(self, number: int) -> list[dict]:
        return [c for c in self.comments.get(number, []) if c["body"].startswith(marker_line(MARKER))]

    def writes(self) -> list[str]:
        return [method for method, _ in self.requests if method in ("POST", "PATCH")]


def _handler(fake: FakeGitHub, base: list[str]):
    class Handler(JsonHandler):
        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self.reply(401, {"message": "Bad credentials"})
                return False
            if fake.fail_with:
                self.reply(fake.fail_with, {"message": "Resource not accessible by integration"})
                return False
            if fake.transient:
                status, headers = fake.transient.pop(0)
                self.reply(status, {"message": "You have exceeded a secondary rate limit"}, headers)
                return False
            return True

        def do_GET(self):
            fake.requests.append(("GET", self.path))
            if not self._authorised():
                return
            url = urlparse(self.path)
            if url.path == "/user":  # as api.github.com answers an installation token
                if fake.user_login is None:
                    return self.reply(403, {"message": "Resource not accessible by integration"})
                return self.reply(200, {"login": fake.user_login})
            match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", url.path)
            if not match or match.group(1) != REPO:
                return self.reply(404, {"message": "Not Found"})
            query = parse_qs(url.query)
            per_page = min(int(query.get("per_page", ["30"])[0]), fake.max_per_page)
            page = int(query.get("page", ["1"])[0])
            comments = fake.comments.get(int(match.group(2)), [])
            chunk = comments[(page - 1) * per_page: page * per_page]
            headers = {}
            if page * per_page < len(comments):
                nxt = f"{base[0]}{url.path}?per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next", <{base[0]}{url.path}?page=1>; rel="first"'
            self.reply(200, chunk, headers)

        def do_POST(self):
            fake.requests.append(("POST", self.path))
            if not self._authorised():
                return
            match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", self.path)
            if not match or match.group(1) != REPO:
                return self.reply(404, {"message": "Not Found"})
            self.reply(201, fake.add(int(match.group(2)), self.json_body()["body"], fake.user_login or "github-actions[bot]"))

        def do_PATCH(self):
            fake.requests.append(("PATCH", self.path))
            if not self._authorised():
                return
            match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", self.path)
            comment_id = int(match.group(2)) if match else -1
            for comments in fake.comments.values():
                for comment in comments:
                    if comment["id"] == comment_id:
                        comment["body"] = self.json_body()["body"]
                        return self.reply(200, comment)
            self.reply(404, {"message": "Not Found"})

    return Handler


@pytest.fixture
def github():
    fake = FakeGitHub()
    base: list[str] = []
    with serving(_handler(fake, base)) as url:
        base.append(url)
        fake.url = url
        yield fake


def client(github) -> GitHubClient:
    return GitHubClient(github.url, TOKEN, backoff=0.0)


def test_first_run_creates_second_run_updates_the_same_comment(github):
    github.add(PR, "LGTM")
    first = upsert_sticky_comment(client(github), REPO, PR, MARKER, "## Plan\n\n3 to create")
    second = upsert_sticky_comment(client(github), REPO, PR, MARKER, "## Plan\n\n1 to update")

    assert (first.action, second.action) == ("created", "updated")
    assert first.comment_id == second.comment_id
    marked = github.marked(PR)
    assert len(marked) == 1
    assert marked[0]["body"] == f"{marker_line(MARKER)}\n## Plan\n\n1 to update"
    assert [c["body"] for c in github.comments[PR]][0] == "LGTM"  # other comments untouched


def test_same_plan_again_writes_nothing(github):
    upsert_sticky_comment(client(github), REPO, PR, MARKER, "no changes")
    again = upsert_sticky_comment(client(github), REPO, PR, MARKER, "no changes")
    assert again.action == "unchanged"
    assert github.writes() == ["POST"]


def test_finds_the_marker_comment_on_a_later_page(github):
    for index in range(7):
        github.add(PR, f"review note {index}")
    ours = github.add(PR, f"{marker_line(MARKER)}\nold plan", "github-actions[bot]")
    for index in range(5):
        github.add(PR, f"later note {index}")
    github.max_per_page = 3  # the server pages at 3 whatever per_page asks: 5 pages to walk

    result = upsert_sticky_comment(client(github), REPO, PR, MARKER, "new plan")

    assert result.action == "updated" and result.comment_id == ours["id"]
    assert len(github.marked(PR)) == 1
    assert sum(1 for method, path in github.requests if method == "GET" and "/comments" in path) == 5
    assert github.writes() == ["PATCH"]


def test_a_quote_of_the_comment_is_not_taken_for_it(github):
    github.add(PR, f"> {marker_line(MARKER)}\n> old plan\n\nWhy does this change?")
    result = upsert_sticky_comment(client(github), REPO, PR, MARKER, "plan")
    assert result.action == "created"
    assert len(github.marked(PR)) == 1


def test_other_markers_and_pull_requests_are_separate(github):
    upsert_sticky_comment(client(github), REPO, PR, MARKER, "fleet plan")
    upsert_sticky_comment(client(github), REPO, PR, "other-tool", "other")
    upsert_sticky_comment(client(github), REPO, PR + 1, MARKER, "plan of another PR")
    assert len(github.comments[PR]) == 2 and len(github.comments[PR + 1]) == 1


def test_an_oversized_plan_is_cut_to_github_limit(github):
    huge = "\n".join(f"| rule {i} | create |" for i in range(10_000))
    upsert_sticky_comment(client(github), REPO, PR, MARKER, huge)
    body = github.marked(PR)[0]["body"]
    assert len(body) <= COMMENT_LIMIT_CHARS
    assert "truncated" in body and body.startswith(marker_line(MARKER))


def test_refusal_names_the_cause_and_never_the_token(github):
    github.fail_with = 403
    with pytest.raises(GitHubApiError) as error:
        upsert_sticky_comment(client(github), REPO, PR, MARKER, "plan")
    message = str(error.value)
    assert "403" in message and "pull-requests: write" in message
    assert TOKEN not in message


def test_bad_token_is_reported_without_echoing_it(github):
    wrong = "ghs_wrongTokenValue"
    with pytest.raises(GitHubApiError) as error:
        upsert_sticky_comment(GitHubClient(github.url, wrong), REPO, PR, MARKER, "plan")
    assert "401" in str(error.value) and wrong not in str(error.value)


def test_missing_token_is_a_clear_error():
    with pytest.raises(GitHubApiError, match="GITHUB_TOKEN"):
        GitHubClient("http://127.0.0.1:9", "")


def test_cli_as_the_workflow_calls_it(github, tmp_path):
    """`sentinel-packer github comment --body-file ... --marker ...` with the runner's variables."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": PR, "pull_request": {"number": PR}}))
    plan = tmp_path / "plan.md"
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event),
           "GITHUB_API_URL": github.url}
    args = ["github", "comment", "--body-file", str(plan), "--marker", MARKER]

    plan.write_text("## Fleet plan\n\n2 workspaces change\n")
    first = CliRunner().invoke(app, args, env=env)
    plan.write_text("## Fleet plan\n\nno changes\n")
    second = CliRunner().invoke(app, args, env=env)

    assert first.exit_code == 0 and second.exit_code == 0, (first.output, second.output)
    assert "created" in first.output and "updated" in second.output
    assert TOKEN not in first.output + second.output
    marked = github.marked(PR)
    assert len(marked) == 1 and marked[0]["body"].endswith("no changes\n")


def test_cli_outside_a_pull_request_says_what_to_do(github, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    plan = tmp_path / "plan.md"
    plan.write_text("plan")
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event),
           "GITHUB_API_URL": github.url}
    result = CliRunner().invoke(app, ["github", "comment", "--body-file", str(plan)], env=env)
    assert result.exit_code != 0
    assert "pull request" in str(result.exception) + result.output
    assert github.requests == []


def test_cli_names_the_commit_and_run_the_plan_is_for(github, tmp_path):
    plan = tmp_path / "plan.md"
    plan.write_text("## Fleet plan\n")
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": github.url,
           "GITHUB_SHA": "0123456789abcdef0123", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "77"}
    result = CliRunner().invoke(app, ["github", "comment", "--body-file", str(plan), "--pr", str(PR)], env=env)
    assert result.exit_code == 0, result.output
    body = github.marked(PR)[0]["body"]
    assert "commit 0123456789ab" in body
    assert f"(https://github.com/{REPO}/actions/runs/77)" in body


def test_a_planted_marker_comment_by_someone_else_is_never_updated(github):
    """Anyone can paste our marker into a comment; only the token's own comment is ours."""
    planted = github.add(PR, f"{marker_line(MARKER)}\nplanted by a reviewer", "mallory")
    result = upsert_sticky_comment(client(github), REPO, PR, MARKER, "the real plan")
    assert result.action == "created" and result.comment_id != planted["id"]
    assert planted["body"].endswith("planted by a reviewer")
    second = upsert_sticky_comment(client(github), REPO, PR, MARKER, "the next plan")
    assert second.action == "updated" and second.comment_id == result.comment_id


def test_a_user_token_finds_its_own_comment_by_its_login(github):
    github.user_login = "release-bot"
    github.add(PR, f"{marker_line(MARKER)}\nby the actions bot", "github-actions[bot]")
    ours = github.add(PR, f"{marker_line(MARKER)}\nold", "Release-Bot")
    result = upsert_sticky_comment(client(github), REPO, PR, MARKER, "new")
    assert result.action == "updated" and result.comment_id == ours["id"]


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(github):
    github.transient = [(429, {"Retry-After": "0"}), (503, {}), (502, {})]
    result = upsert_sticky_comment(client(github), REPO, PR, MARKER, "plan")
    assert result.action == "created" and github.transient == []
    assert len(github.marked(PR)) == 1


def test_retries_give_up_with_the_status_named(github):
    github.transient = [(503, {})] * 10
    with pytest.raises(GitHubApiError) as error:
        upsert_sticky_comment(GitHubClient(github.url, TOKEN, attempts=3, backoff=0.0), REPO, PR, MARKER, "plan")
    assert "503" in str(error.value) and len(github.transient) == 7
