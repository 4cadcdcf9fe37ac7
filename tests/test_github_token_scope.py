"""The GitHub token goes to the API host only: not to a pagination link or a redirect elsewhere."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

from packer.github.comments import GitHubApiError, GitHubClient
from tests.fake_http import JsonHandler, serving

TOKEN = "ghs_secret_token_value"


@contextmanager
def _serve(respond) -> Iterator[tuple[str, list[dict]]]:
    """A server answering respond(path) -> (status, headers, JSON body); yields its URL and what it saw."""
    seen: list[dict] = []

    class Handler(JsonHandler):
        def do_GET(self):
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            status, headers, body = respond(self.path)
            self.reply(status, body, headers)

    with serving(Handler) as url:
        yield url, seen


@pytest.fixture
def elsewhere():
    with _serve(lambda path: (200, {}, [])) as served:
        yield served


def test_a_next_link_to_another_host_is_refused_before_the_token_is_sent(elsewhere):
    other_url, other_seen = elsewhere
    with _serve(lambda path: (200, {"Link": f'<{other_url}/steal?page=2>; rel="next"'}, [{"id": 1}])) as (api_url, _):
        with pytest.raises(GitHubApiError) as error:
            GitHubClient(api_url, TOKEN).list_issue_comments("o/r", 1)
    assert other_seen == []
    assert "refusing to send the token" in str(error.value) and TOKEN not in str(error.value)


def test_a_redirect_to_another_host_is_not_followed_with_the_token(elsewhere):
    other_url, other_seen = elsewhere
    with _serve(lambda path: (302, {"Location": f"{other_url}/steal"}, {})) as (api_url, api_seen):
        with pytest.raises(GitHubApiError):
            GitHubClient(api_url, TOKEN).list_issue_comments("o/r", 1)
    assert api_seen and api_seen[0]["authorization"] == f"Bearer {TOKEN}"
    assert other_seen == []


def test_a_redirect_on_the_same_host_is_followed():
    def respond(path):
        if path.startswith("/moved"):
            return 200, {}, [{"id": 7, "body": "x"}]
        return 301, {"Location": "/moved"}, {}

    with _serve(respond) as (api_url, seen):
        comments = GitHubClient(api_url, TOKEN).list_issue_comments("o/r", 1)
    assert [c["id"] for c in comments] == [7]
    assert [s["path"] for s in seen][-1] == "/moved"
