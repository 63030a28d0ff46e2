"""Carriers of the logistics tests: the simulated carrier, watched, with pickups and signed events;
and a flaky one that times out, answers 500 or is killed right after buying, as a test tells it.

These are test doubles of a *carrier*, an external service that cannot run here (the real adapters
and their fake servers are another branch's); everything of ours runs for real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx

from microfactory.errors import Forbidden, Invalid, UpstreamFailure
from microfactory.logistics.carriers import Label, Rate, TrackingState, TrackingStatus
from microfactory.logistics.carriers.simulated import SimulatedCarrier
from microfactory.problems import Problem

SECRET = b"courier-test-secret"


class Clock:
    """A clock the test moves."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def signed(event: Mapping[str, object] | bytes) -> tuple[bytes, dict[str, str]]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return body, {
        "X-Signature": hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


class WatchedCarrier(SimulatedCarrier):
    """The simulated carrier, counting purchases, booking pickups and reading signed status callbacks."""

    def __init__(self, clock: Clock, name: str = "simulated") -> None:
        super().__init__(clock)
        self.name = name
        self.buy_calls: list[str] = []  # idempotency keys, one per call
        self.purchases: list[str] = []  # keys that made a new label
        self.pickups: list[list[str]] = []
        self.pickup_keys: dict[str, str] = {}

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        self.buy_calls.append(idempotency_key)
        new = idempotency_key not in self._labels
        label = super().buy(rate, idempotency_key)
        if new:
            self.purchases.append(idempotency_key)
        return label

    def book_pickup(
        self, labels: list[Label], ready_at: datetime, until: datetime, idempotency_key: str | None = None
    ) -> str:
        if idempotency_key is not None and idempotency_key in self.pickup_keys:
            return self.pickup_keys[idempotency_key]
        self.pickups.append([label.label_id for label in labels])
        pickup = f"pck_{len(self.pickups)}"
        if idempotency_key is not None:
            self.pickup_keys[idempotency_key] = pickup
        return pickup

    def read_event(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> TrackingStatus | None:
        given = {key.lower(): value for key, value in headers.items()}.get("x-signature", "")
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            raise Forbidden("the courier callback's X-Signature does not verify")
        try:
            event = json.loads(body)
            if event.get("type") != "status":
                return None
            return TrackingStatus(
                str(event["tracking_number"]),
                TrackingState(event["state"]),
                datetime.fromisoformat(event["at"]).astimezone(UTC),
                str(event.get("message", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise Invalid(
                "the courier callback is not a status event", [Problem("body", str(error))]
            ) from error


class Killed(BaseException):
    """The worker died (SIGKILL): nothing after the call runs, nothing is recorded."""


class FlakyCarrier(WatchedCarrier):
    """Fails as scripted: `failures` is a list of what the next calls raise (None lets one through)."""

    def __init__(self, clock: Clock, name: str = "flaky") -> None:
        super().__init__(clock, name)
        self.failures: list[BaseException | None] = []
        self.kill_after_buy = False
        self.calls = 0

    def _next(self) -> None:
        self.calls += 1
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure

    def rates(self, *args: object) -> list[Rate]:  # type: ignore[override]
        self._next()
        return super().rates(*args)  # type: ignore[arg-type]

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        self._next()
        label = super().buy(rate, idempotency_key)
        if self.kill_after_buy:
            self.kill_after_buy = False
            raise Killed("killed after buying")
        return label

    def track(self, tracking_number: str) -> TrackingStatus:
        self._next()
        return super().track(tracking_number)


def timeout() -> httpx.TimeoutException:
    return httpx.ReadTimeout("the carrier did not answer in time")


def server_error() -> UpstreamFailure:
    return UpstreamFailure("flaky", "POST /shipments: HTTP 500, still after 3 attempts")
