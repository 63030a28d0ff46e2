"""The agent's one link to the server: four calls over HTTP with the site's token.

Every shape of the agent API is read and written here, so a change on the server is one edit. Calls
go through `outbound_http.send`: a refused connection or a 5xx is retried a few times, quickly (the
loop, not this client, waits out a long outage), then raises a retryable `UpstreamFailure`, which
the loop takes as "offline". Report batches are marked idempotent: each report carries its id and
the server applies an id once, so resending a batch whose answer was lost doubles nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from microfactory.errors import Forbidden, NotFound, UpstreamFailure
from microfactory.outbound_http import RetryPolicy, Sleep, send
from microfactory.production.agent.model import (
    AgentOperation,
    Outcome,
    Report,
    ReportResult,
    SiteMachine,
)

# A pass should notice an outage in about a second, not wait minutes: it runs again soon anyway.
AGENT_POLICY = RetryPolicy(attempts=3, base_delay=0.2, max_delay=2.0, jitter=0.1, max_retry_after=10.0)
UPSTREAM = "microfactory server"
CONFLICT = object()  # a 409 the caller expects (`conflict_ok`): the answer it gets instead of a body


class AgentClient:
    """The server as the agent of one site sees it (`ServerLink`)."""

    def __init__(
        self,
        server: str,
        site: str,
        token: str,
        *,
        http: httpx.Client | None = None,
        policy: RetryPolicy = AGENT_POLICY,
        sleep: Sleep = time.sleep,
        timeout: float = 10.0,
    ) -> None:
        self.site = site
        self._base = server.rstrip("/")
        # a server that cannot be reached should cost a pass seconds, not minutes
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)))
        self._headers = {"Authorization": f"Bearer {token}"}
        self._policy = policy
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def operations(self) -> list[AgentOperation]:
        """The site's released operations, in planned order."""
        body = self._call("GET", f"/api/v1/sites/{self.site}/operations", params={"status": "released"})
        if not isinstance(body, list):
            raise UpstreamFailure(UPSTREAM, "the operations answer is not a list")
        return [AgentOperation.from_json(item) for item in body]

    def machines(self) -> list[SiteMachine]:
        """The site's machines with their connectors, from the network's site view."""
        body = self._call("GET", f"/api/v1/network/sites/{self.site}")
        if not isinstance(body, dict) or not isinstance(body.get("machines"), list):
            raise UpstreamFailure(UPSTREAM, "the site answer holds no list of machines")
        return [SiteMachine.from_json(item) for item in body["machines"]]

    def send_reports(self, reports: Sequence[Report]) -> list[ReportResult]:
        """Post a batch in order; the server's verdict for each report it answered."""
        payload = {"reports": [report.as_json() for report in reports]}
        body = self._call("POST", f"/api/v1/sites/{self.site}/reports", json=payload, idempotent=True)
        try:
            return [
                ReportResult(str(r["id"]), Outcome(r["outcome"]), r.get("reason")) for r in body["results"]
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise UpstreamFailure(UPSTREAM, f"a reports answer the agent cannot read: {error!r}") from None

    def hold(self, operation_id: str, reason: str) -> bool:
        """Hold a step on the server with the reason people will read; False if it was not holdable.

        A step already held, or started meanwhile, answers 409: nothing left to do here either.
        """
        path = f"/api/v1/operations/{operation_id}/hold"
        answer = self._call("POST", path, json={"reason": reason}, idempotent=True, conflict_ok=True)
        return answer is not CONFLICT

    def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        conflict_ok: bool = False,
        **options: Any,
    ) -> Any:
        request = self._http.build_request(method, self._base + path, headers=self._headers, **options)
        response = send(
            self._http,
            request,
            upstream=UPSTREAM,
            policy=self._policy,
            sleep=self._sleep,
            idempotent=idempotent,
        )
        if response.status_code in (401, 403):
            raise Forbidden(f"the server refused the agent's token for site {self.site}: {_said(response)}")
        if response.status_code == 404:
            raise NotFound("site", self.site, f"the server knows no {path}: {_said(response)}")
        if response.status_code == 409 and conflict_ok:
            return CONFLICT
        if response.status_code >= 400:
            raise UpstreamFailure(UPSTREAM, f"{method} {path}: HTTP {response.status_code} {_said(response)}")
        try:
            return response.json()
        except ValueError:
            raise UpstreamFailure(UPSTREAM, f"{method} {path} did not answer JSON") from None


def _said(response: httpx.Response) -> str:
    """The server's error message, short; never the request (it carries the token)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    return str(error or response.reason_phrase)[:200]
