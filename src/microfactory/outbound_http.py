"""One retry policy for every HTTP call we make to a store, carrier, courier, printer or inspector.

What may be sent again, and when:

| what happened | a read (or a request with an idempotency key) | a mutation without a key |
|---|---|---|
| could not connect, pool timeout (nothing was sent) | retried with backoff | retried with backoff |
| 429 Too Many Requests | retried after `Retry-After` (else backoff) | the same: it was refused, not done |
| 500, 502, 503, 504 | retried with backoff and jitter | **outcome unknown: never resent** |
| read timeout, connection lost after sending | retried with backoff | **outcome unknown: never resent** |
| any other answer | returned to the caller | returned to the caller |

A mutation whose outcome is unknown may have happened: sending it again could buy a second label
or create a second fulfilment. It raises `UpstreamFailure(retryable=False)`, and the caller checks
what the upstream holds before trying again (as `fulfilment_sync` does), or gives an idempotency
key, which the upstream uses to answer a repeat with the first result. Attempts and waits are
bounded; the backoff is tenacity's exponential wait with random jitter, the sleep injectable so
tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from microfactory.errors import UpstreamFailure

Sleep = Callable[[float], None]
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; shared by every adapter unless one needs its own numbers."""

    attempts: int = 6
    base_delay: float = 0.5  # seconds before the second attempt, doubling after each
    max_delay: float = 30.0
    jitter: float = 0.25  # up to this many seconds added at random, so clients do not march in step
    max_retry_after: float = 120.0  # a longer Retry-After is cut to this
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    idempotency_header: str = "Idempotency-Key"

    def backoff(self, attempt: int) -> float:
        """The wait before retry number `attempt + 1`, without jitter (for callers' own waits)."""
        return float(min(self.max_delay, self.base_delay * 2**attempt))

    def may_resend(self, request: httpx.Request, idempotent: bool | None) -> bool:
        """Whether sending the request twice is harmless: a read, or a key the upstream honours."""
        if self.idempotency_header in request.headers:
            return True
        return request.method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent


class _Again(Exception):
    """One attempt failed in a way that allows another; `wait` when the upstream said how long."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def send(
    client: httpx.Client,
    request: httpx.Request,
    *,
    upstream: str,
    policy: RetryPolicy | None = None,
    sleep: Sleep = time.sleep,
    idempotent: bool | None = None,
) -> httpx.Response:
    """Send `request` under the policy; the first answer that is not retried comes back.

    `idempotent` overrides what the method says (a GraphQL read is a POST). Raises
    `UpstreamFailure`: retryable when the attempts ran out, not retryable when a mutation's outcome
    is unknown.
    """
    rules = policy or RetryPolicy()
    resend = rules.may_resend(request, idempotent)
    what = f"{request.method} {request.url.copy_with(query=None)}"

    def attempt() -> httpx.Response:
        try:
            response = client.send(request)
        except NOT_SENT as error:
            raise _Again(f"could not connect ({type(error).__name__})") from error
        except httpx.TransportError as error:
            if resend:
                raise _Again(f"no answer ({type(error).__name__})") from error
            raise _unknown(upstream, what, f"no answer ({type(error).__name__})") from error
        if response.status_code == 429:
            raise _Again("HTTP 429 Too Many Requests", retry_after(response, rules.max_retry_after))
        if response.status_code in rules.retry_statuses:
            if resend:
                raise _Again(f"HTTP {response.status_code}")
            raise _unknown(upstream, what, f"HTTP {response.status_code}")
        return response

    def wait(state: RetryCallState) -> float:
        again = state.outcome.exception() if state.outcome is not None else None
        if isinstance(again, _Again) and again.wait:
            return again.wait
        backoff = wait_exponential(multiplier=rules.base_delay, max=rules.max_delay)
        return float((backoff + wait_random(0, rules.jitter))(state))

    def gave_up(state: RetryCallState) -> httpx.Response:
        again = state.outcome.exception() if state.outcome is not None else None
        reason = again.reason if isinstance(again, _Again) else "failed"
        raise UpstreamFailure(upstream, f"{what}: {reason}, still after {rules.attempts} attempts")

    retrying = Retrying(
        sleep=sleep,
        stop=stop_after_attempt(rules.attempts),
        wait=wait,
        retry=retry_if_exception_type(_Again),
        retry_error_callback=gave_up,
    )
    response: httpx.Response = retrying(attempt)
    return response


def _unknown(upstream: str, what: str, happened: str) -> UpstreamFailure:
    return UpstreamFailure(
        upstream,
        f"{what}: {happened} after the request was sent; its outcome is unknown, so it is not resent "
        "(check what the upstream holds first, or send it with an idempotency key)",
        retryable=False,
    )


def retry_after(response: httpx.Response, cap: float = 120.0) -> float | None:
    """The wait a `Retry-After` header asks for (seconds or an HTTP date), capped; None if absent."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, cap))


def json_object(response: httpx.Response, upstream: str, what: str) -> dict[str, Any]:
    """The answer's JSON object; a body that is not one is the service's fault (not retryable)."""
    try:
        body = response.json()
    except ValueError:
        raise UpstreamFailure(upstream, f"{what}: the answer is not JSON", retryable=False) from None
    if not isinstance(body, dict):
        raise UpstreamFailure(upstream, f"{what}: expected a JSON object, got {body!r:.80}", retryable=False)
    return body
