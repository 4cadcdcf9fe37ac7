"""The GitHub token goes to the API host only: not to a pagination link or a redirect elsewhere."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from packer.github.comments import GitHubApiError, GitHubClient

TOKEN = "ghs_secret_token_value"


def _serve(respond):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            status, headers, body = respond(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", seen


@pytest.fixture
def elsewhere():
    server, url, seen = _serve(lambda path: (200, {}, []))
    yield url, seen
    server.shutdown()
    server.server_close()



def test_a_next_link_to_another_host_is_refused_before_the_token_is_sent(elsewhere):
    other_url, other_seen = elsewhere
    server, api_url, _ = _serve(lambda path: (200, {"Link": f'<{other_url}/steal?page=2>; rel="next"'}, [{"id": 1}]))
    try:
        with pytest.raises(GitHubApiError) as error:
            GitHubClient(api_url, TOKEN).list_issue_comments("o/r", 1)
    finally:
        server.shutdown()
        server.server_close()
    assert other_seen == []
    assert "refusing to send the token" in str(error.value) and TOKEN not in str(error.value)


def test_a_redirect_to_another_host_is_not_followed_with_the_token(elsewhere):
    other_url, other_seen = elsewhere
    server, api_url, api_seen = _serve(lambda path: (302, {"Location": f"{other_url}/steal"}, {}))
    try:
        with pytest.raises(GitHubApiError):
            GitHubClient(api_url, TOKEN).list_issue_comments("o/r", 1)
    finally:
        server.shutdown()
        server.server_close()
    assert api_seen and api_seen[0]["authorization"] == f"Bearer {TOKEN}"
    assert other_seen == []


def test_a_redirect_on_the_same_host_is_followed():
    def respond(path):
        if path.startswith("/moved"):
            return 200, {}, [{"id": 7, "body": "x"}]
        return 301, {"Location": "/moved"}, {}

    server, api_url, seen = _serve(respond)
    try:
        comments = GitHubClient(api_url, TOKEN).list_issue_comments("o/r", 1)
    finally:
        server.shutdown()
        server.server_close()
    assert [c["id"] for c in comments] == [7]
    assert [s["path"] for s in seen][-1] == "/moved"
