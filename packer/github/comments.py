"""One sticky pull-request comment, found by a hidden marker and updated in place.

Talks to the GitHub REST API (list issue comments with pagination, create, update) with the
workflow's GITHUB_TOKEN. The token is sent only in the Authorization header: it never appears
in a message, an exception or a log line.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from collections.abc import Mapping
from urllib.parse import urlencode, urljoin, urlsplit

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from packer import __version__
from packer.errors import PackerError

# GitHub rejects an issue comment body over 65,536 characters.
COMMENT_LIMIT_CHARS = 65_536
# Who writes with a workflow's GITHUB_TOKEN: an installation token cannot ask GET /user.
ACTIONS_BOT = "github-actions[bot]"
RETRIED_STATUSES = (429, 500, 502, 503, 504)
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubApiError(PackerError):
    """The GitHub API refused a request; carries its status and message, never the token."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created" | "updated" | "unchanged"
    comment_id: int
    url: str


def marker_line(marker: str) -> str:
    """The hidden first line that identifies our comment (invisible in rendered Markdown)."""
    if "--" in marker or ">" in marker:
        raise ValueError(f"marker {marker!r} must not contain '--' or '>' (it lives in an HTML comment)")
    return f"<!-- {marker} -->"


def sticky_body(marker: str, markdown: str) -> str:
    """The full comment body: the marker line, then `markdown`, cut to GitHub's size limit."""
    head = marker_line(marker) + "\n"
    notice = "\n\n_Plan truncated to fit a comment: the full plan is in the job summary and the run's artifacts._\n"
    if len(head) + len(markdown) <= COMMENT_LIMIT_CHARS:
        return head + markdown
    keep = markdown[: COMMENT_LIMIT_CHARS - len(head) - len(notice)]
    keep = keep[: keep.rfind("\n") + 1] or keep
    return head + keep + notice


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """urllib copies the Authorization header onto redirects: follow only those to the same origin."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if _origin(newurl) != _origin(req.full_url):
            raise urllib.error.HTTPError(req.full_url, code, f"refused redirect to another host ({_origin(newurl)[1]})",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect comes back as an HTTPError (its Location read by the caller), never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class _Redirected(Exception):
    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


class GitHubClient:
    """The few REST calls the sticky comment and the reviewed plan need, over urllib (no extra dependency)."""

    def __init__(self, api_url: str, token: str, timeout: float = 30.0, attempts: int = 5, backoff: float = 1.0):
        if not token:
            raise GitHubApiError("no GitHub token: set GITHUB_TOKEN (for example `env: GITHUB_TOKEN: ${{ github.token }}`)")
        self._api = api_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff  # seconds before the first retry when GitHub gives no Retry-After
        self._opener = urllib.request.build_opener(_SameOriginRedirects)
        self._no_redirects = urllib.request.build_opener(_NoRedirects)

    def _request(self, method: str, url: str, body: dict | None = None) -> tuple[object, dict[str, str]]:
        """One call, retried on 429 and 5xx (secondary rate limits, GitHub's own hiccups),
        waiting as long as Retry-After says, otherwise backing off exponentially."""
        return self._retrying()(self._request_once, method, url, body)

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, GitHubApiError) and exc.status in RETRIED_STATUSES),
            stop=stop_after_attempt(self._attempts), wait=self._wait, reraise=True)

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> object:
        """GET an API path (`/repos/...`) with query parameters; the decoded JSON."""
        query = f"?{urlencode(params)}" if params else ""
        return self._request("GET", f"{self._api}{path}{query}")[0]

    def download(self, path: str, limit_bytes: int = 256 * 2**20) -> bytes:
        """GET an API path that redirects to storage (an artifact's zip): the token goes to the
        API only, the storage URL (pre-signed, short-lived) is fetched without it."""
        return self._retrying()(self._download_once, f"{self._api}{path}", limit_bytes)

    def _download_once(self, url: str, limit_bytes: int) -> bytes:
        try:
            self._request_once("GET", url, redirect=False)
        except _Redirected as redirect:
            location = redirect.location
        else:
            raise GitHubApiError(f"GET {url}: GitHub answered without the expected redirect to the download")
        if urlsplit(location).scheme.lower() not in ("https", _origin(self._api)[0]):
            raise GitHubApiError(f"GET {url}: refusing to download from a non-HTTPS location")
        request = urllib.request.Request(location, headers={"User-Agent": f"sentinel-packer/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                data = response.read(limit_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise GitHubApiError(f"GET {url}: the download answered {exc.code} {exc.reason}", exc.code,
                                 _retry_after(exc)) from None
        except urllib.error.URLError as exc:
            raise GitHubApiError(f"GET {url}: cannot reach the download location ({exc.reason})") from None
        if len(data) > limit_bytes:
            raise GitHubApiError(f"GET {url}: the download is larger than {limit_bytes:,} bytes; refused")
        return data

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, GitHubApiError) and error.retry_after is not None:
            return min(error.retry_after, 120.0)
        return min(self._backoff * 2 ** (state.attempt_number - 1), 30.0)

    def _request_once(self, method: str, url: str, body: dict | None = None,
                      redirect: bool = True) -> tuple[object, dict[str, str]]:
        if _origin(url) != _origin(self._api):  # e.g. a pagination link: the token goes to the API host only
            raise GitHubApiError(f"{method} {url}: not under the GitHub API {self._api}; refusing to send the token there")
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"sentinel-packer/{__version__}",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        opener = self._opener if redirect else self._no_redirects
        try:
            with opener.open(request, timeout=self._timeout) as response:
                payload = response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            if not redirect and exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                raise _Redirected(urljoin(url, exc.headers["Location"])) from None
            raise GitHubApiError(_describe_http_error(method, url, exc), exc.code, _retry_after(exc)) from None
        except urllib.error.URLError as exc:
            raise GitHubApiError(f"{method} {url}: cannot reach the GitHub API ({exc.reason})") from None
        return (json.loads(payload) if payload else None), headers

    def identity(self) -> str:
        """The login comments made with this token carry: GET /user for a user's token; a
        workflow's GITHUB_TOKEN (an installation token) may not ask, and writes as the Actions bot."""
        try:
            user, _ = self._request("GET", f"{self._api}/user")
        except GitHubApiError as exc:
            if exc.status in (401, 403, 404):
                return ACTIONS_BOT
            raise
        return str((user or {}).get("login") or ACTIONS_BOT)

    def list_issue_comments(self, repository: str, number: int) -> list[dict]:
        """Every comment on an issue or pull request, following the `Link: rel="next"` pages."""
        url: str | None = f"{self._api}/repos/{repository}/issues/{number}/comments?per_page=100"
        comments: list[dict] = []
        while url:
            page, headers = self._request("GET", url)
            comments.extend(page or [])
            match = _NEXT_LINK.search(headers.get("link", ""))
            url = match.group(1) if match else None
        return comments

    def create_comment(self, repository: str, number: int, body: str) -> dict:
        created, _ = self._request("POST", f"{self._api}/repos/{repository}/issues/{number}/comments", {"body": body})
        return created

    def update_comment(self, repository: str, comment_id: int, body: str) -> dict:
        updated, _ = self._request("PATCH", f"{self._api}/repos/{repository}/issues/comments/{comment_id}", {"body": body})
        return updated


def _describe_http_error(method: str, url: str, exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read() or b"{}").get("message", "")
    except ValueError:
        detail = ""
    hint = ""
    if exc.code in (401, 403):
        hint = (" (the token lacks `pull-requests: write`, or this is a pull request from a fork,"
                " whose token is read-only)")
    elif exc.code == 404:
        hint = " (check the repository name and pull request number)"
    return f"{method} {url}: GitHub answered {exc.code} {detail or exc.reason}{hint}"


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = (exc.headers or {}).get("Retry-After") if exc.headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def find_marked_comment(comments: list[dict], marker: str, author: str) -> dict | None:
    """The oldest comment by `author` whose body starts with our marker. Anyone can write the
    marker into a comment of their own: only ours is ever updated (a quote starts with '>')."""
    line = marker_line(marker)
    for comment in comments:
        login = str((comment.get("user") or {}).get("login", ""))
        if login.lower() == author.lower() and (comment.get("body") or "").lstrip().startswith(line):
            return comment
    return None


def upsert_sticky_comment(client: GitHubClient, repository: str, number: int, marker: str, markdown: str,
                          author: str | None = None) -> CommentResult:
    """Create our marked comment, or update it in place; never adds a second one and never
    touches a comment someone else wrote. `author` defaults to the token's own identity."""
    body = sticky_body(marker, markdown)
    existing = find_marked_comment(client.list_issue_comments(repository, number), marker,
                                   author or client.identity())
    if existing is None:
        created = client.create_comment(repository, number, body)
        return CommentResult("created", int(created["id"]), created.get("html_url", ""))
    if existing.get("body") == body:
        return CommentResult("unchanged", int(existing["id"]), existing.get("html_url", ""))
    updated = client.update_comment(repository, int(existing["id"]), body)
    return CommentResult("updated", int(updated["id"]), updated.get("html_url", ""))
