"""One sticky pull-request comment in Azure Repos: a thread whose first comment starts with a
hidden marker and was written by the pipeline's own identity, updated in place.

REST calls (api-version 7.1): connectionData (who the token is), pull request threads (list,
create) and thread comments (update). The token ($(System.AccessToken)) is sent only in the
Authorization header, only to the collection's host, and never appears in a message."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from packer import __version__
from packer.errors import PackerError
from packer.github.comments import marker_line, sticky_body

API_VERSION = "7.1"
RETRIED_STATUSES = (429, 500, 502, 503, 504)


class AzureDevOpsApiError(PackerError):
    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class PullRequest:
    collection_uri: str  # $(System.CollectionUri), e.g. https://dev.azure.com/contoso/
    project: str  # $(System.TeamProject)
    repository_id: str  # $(Build.Repository.ID)
    number: int  # $(System.PullRequest.PullRequestId)

    @property
    def threads_url(self) -> str:
        return (f"{self.collection_uri.rstrip('/')}/{quote(self.project)}/_apis/git/repositories/"
                f"{quote(self.repository_id)}/pullRequests/{self.number}/threads")


@dataclass(frozen=True)
class ThreadResult:
    action: str  # created | updated | unchanged
    thread_id: int


class AzureDevOpsClient:
    def __init__(self, collection_uri: str, token: str, timeout: float = 30.0, attempts: int = 5, backoff: float = 1.0):
        if not token:
            raise AzureDevOpsApiError("no Azure DevOps token: map it in the step, `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)`")
        self._root = collection_uri.rstrip("/")
        self._host = urlsplit(self._root).netloc.lower()
        self._token = token
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff

    def request(self, method: str, url: str, body: dict | None = None) -> dict:
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, AzureDevOpsApiError) and exc.status in RETRIED_STATUSES),
            stop=stop_after_attempt(self._attempts), wait=self._wait, reraise=True)
        return retrying(self._once, method, url, body)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, AzureDevOpsApiError) and error.retry_after is not None:
            return min(error.retry_after, 120.0)
        return min(self._backoff * 2 ** (state.attempt_number - 1), 30.0)

    def _once(self, method: str, url: str, body: dict | None) -> dict:
        if urlsplit(url).netloc.lower() != self._host:
            raise AzureDevOpsApiError(f"{method} {url}: not on the collection's host; refusing to send the token there")
        separator = "&" if "?" in url else "?"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(f"{url}{separator}api-version={API_VERSION}", data=data, method=method, headers={
            "Authorization": f"Bearer {self._token}", "Accept": "application/json",
            "User-Agent": f"sentinel-packer/{__version__}",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (checked host)
                payload = response.read()
        except urllib.error.HTTPError as exc:
            retry_after = exc.headers.get("Retry-After") if exc.headers is not None else None
            raise AzureDevOpsApiError(f"{method} {url}: Azure DevOps answered {exc.code} {exc.reason}"
                                      + (" (give the build identity 'Contribute to pull requests')" if exc.code in (401, 403) else ""),
                                      exc.code, float(retry_after) if retry_after and retry_after.isdigit() else None) from None
        except urllib.error.URLError as exc:
            raise AzureDevOpsApiError(f"{method} {url}: cannot reach Azure DevOps ({exc.reason})") from None
        return json.loads(payload) if payload else {}

    def identity(self) -> str:
        """The id of the identity the token belongs to (the build service for System.AccessToken)."""
        data = self.request("GET", f"{self._root}/_apis/connectionData")
        return str((data.get("authenticatedUser") or {}).get("id", ""))


def upsert_thread(client: AzureDevOpsClient, pr: PullRequest, marker: str, markdown: str) -> ThreadResult:
    """Create our marked thread, or update its first comment; never touch another author's."""
    body = sticky_body(marker, markdown)
    me = client.identity().lower()
    line = marker_line(marker)
    for thread in client.request("GET", pr.threads_url).get("value", []):
        first = (thread.get("comments") or [{}])[0]
        author = str((first.get("author") or {}).get("id", "")).lower()
        if author == me and str(first.get("content") or "").lstrip().startswith(line):
            if first.get("content") == body:
                return ThreadResult("unchanged", int(thread["id"]))
            client.request("PATCH", f"{pr.threads_url}/{thread['id']}/comments/{first['id']}", {"content": body})
            return ThreadResult("updated", int(thread["id"]))
    created = client.request("POST", pr.threads_url, {
        "comments": [{"parentCommentId": 0, "content": body, "commentType": 1}], "status": 1})
    return ThreadResult("created", int(created.get("id", 0)))
