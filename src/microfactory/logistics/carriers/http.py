"""What the EasyPost, Shippo and courier adapters share: one HTTP client per partner, sent through
the house retry policy (`outbound_http`), and one reading of a carrier's refusals.

Reads are retried on timeouts, 429 and 5xx; a purchase, a refund or a booking without an idempotency
key the partner honours is sent once, and when its outcome is unknown the adapter looks at what the
carrier holds before anything is sent again (each adapter's docstring says how). Refusals become our
error kinds here, once:

| the carrier answers | we raise |
|---|---|
| 401, 403 (the key is wrong or missing) | `UpstreamFailure`, not retryable, naming the variable |
| 402 (no funds, no billing) | `UpstreamFailure`, not retryable: the account needs money |
| 404 | `NotFound` (no such shipment, rate, label or tracking number) |
| 409, 410, 422 | `Conflict`: the carrier refuses in its state (postage exists, rate expired, refund rejected) |
| 400, another 4xx, a body that is not a JSON object | `UpstreamFailure`, not retryable, with its words |
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from microfactory.errors import Conflict, NotFound, UpstreamFailure
from microfactory.outbound_http import RetryPolicy, Sleep, json_object, send

CARRIER_POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0)
Detail = Callable[[Any], str]  # the carrier's own words from its error body


class OutcomeUnknown(UpstreamFailure):
    """A mutation was sent and no answer came (timeout, 5xx): it may have happened, so it is not resent."""

    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(upstream, message, retryable=False)


class CarrierHttp:
    """One partner's HTTP endpoint: base URL, credentials, retry policy and how its errors read."""

    def __init__(
        self,
        upstream: str,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        key_env: str = "",
        detail: Detail = str,
        policy: RetryPolicy = CARRIER_POLICY,
        sleep: Sleep = time.sleep,
        timeout: float = 20.0,
    ) -> None:
        self.upstream = upstream
        self._key_env = key_env
        self._detail = detail
        self._policy = policy
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, auth=auth, timeout=timeout
        )

    def raw(
        self, method: str, path: str, *, idempotent: bool | None = None, **request: Any
    ) -> httpx.Response:
        """Send one request under the retry policy; the answer comes back whatever its status.

        `idempotent=True` marks a POST that is harmless to repeat (a tracker the carrier dedups);
        otherwise a POST is never resent once its outcome is unknown (`UpstreamFailure`, not retryable).
        """
        built = self._client.build_request(method, path, **request)  # an absolute URL ignores the base
        return send(
            self._client,
            built,
            upstream=self.upstream,
            policy=self._policy,
            sleep=self._sleep,
            idempotent=idempotent,
        )

    def json(
        self, method: str, path: str, what: str, *, idempotent: bool | None = None, **request: Any
    ) -> dict[str, Any]:
        """`raw`, a refusal raised as its kind, then the answer's JSON object."""
        response = self.raw(method, path, idempotent=idempotent, **request)
        self.refuse(response, what)
        return json_object(response, self.upstream, what)

    def json_once(self, method: str, path: str, what: str, **request: Any) -> dict[str, Any]:
        """A purchase or booking sent at most once: `OutcomeUnknown` when it may have happened.

        The caller then looks at what the carrier holds before anything is sent again.
        """
        try:
            response = self.raw(method, path, idempotent=False, **request)
        except UpstreamFailure as failure:
            if failure.retryable:
                raise  # it never reached the carrier, or was refused every time: nothing happened
            raise OutcomeUnknown(self.upstream, failure.detail) from failure
        self.refuse(response, what)
        return json_object(response, self.upstream, what)

    def refuse(self, response: httpx.Response, what: str) -> None:
        """Raise the error kind of a refusal; a 2xx or 3xx passes."""
        code = response.status_code
        if code < 400:
            return
        words = self.words(response)
        if code in (401, 403):
            env = f" in {self._key_env}" if self._key_env else ""
            raise UpstreamFailure(
                self.upstream,
                f"{what}: the carrier refused our credentials (HTTP {code}: {words}); check the key{env}",
                retryable=False,
            )
        if code == 402:
            raise UpstreamFailure(
                self.upstream, f"{what}: the carrier account cannot pay (HTTP 402: {words})", retryable=False
            )
        if code == 404:
            raise NotFound(what, "", f"{self.upstream}: {what}: not found ({words})")
        if code in (409, 410, 422):
            raise Conflict(f"{self.upstream}: {what}: refused (HTTP {code}: {words})")
        raise UpstreamFailure(self.upstream, f"{what}: HTTP {code} ({words})", retryable=False)

    def words(self, response: httpx.Response) -> str:
        """The carrier's own words about a refusal, from its documented error body, else the text."""
        try:
            body = response.json()
        except ValueError:
            return response.text.strip()[:200] or response.reason_phrase
        try:
            return self._detail(body)[:300]
        except (AttributeError, KeyError, TypeError, IndexError):
            return str(body)[:300]

    def close(self) -> None:
        self._client.close()


def nonsense(upstream: str, what: str, why: str) -> UpstreamFailure:
    """A 2xx answer that lacks what the carrier documents: not retryable, the carrier must fix it."""
    return UpstreamFailure(upstream, f"{what}: {why}", retryable=False)


def utc_time(value: object) -> datetime | None:
    """A carrier's ISO 8601 time as aware UTC; None when absent or unreadable (never a guess)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """Aware UTC as the `2026-11-20T16:00:00Z` carriers document."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: object, upstream: str, what: str) -> Decimal:
    """A carrier's amount ("6.95", 6.95) as Decimal; anything else is nonsense from the carrier."""
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise nonsense(upstream, what, f"the amount {value!r} is not a number") from None
