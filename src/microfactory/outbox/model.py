"""The outbox's pure core: a message's states, who may move it where, and when a retry is due.

```
pending ──claim──> in_flight ──> done
   ▲                  │ ├──> failed (waits for its backoff, then claimable again)
   │                  │ ├──> dead (max attempts spent)
   │                  │ └──> unknown_outcome (the handler cannot tell whether the effect happened)
   └── retry by hand ─┴── failed | dead | unknown_outcome
```

An `in_flight` message whose lease has expired (its worker was killed) is claimable again. An
`unknown_outcome` is never resent automatically: resending could repeat an effect that happened, so
a person decides (`microfactory outbox retry ID`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class MessageStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"  # waiting for its backoff; claimable again once due
    DEAD = "dead"
    UNKNOWN_OUTCOME = "unknown_outcome"


CLAIMABLE = frozenset({MessageStatus.PENDING, MessageStatus.FAILED})
RETRYABLE_BY_HAND = frozenset({MessageStatus.FAILED, MessageStatus.DEAD, MessageStatus.UNKNOWN_OUTCOME})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped, and the number of attempts before `dead`.

    Jitter spreads the retries of many messages that failed together (Shopify down for a minute),
    so they do not all come back in the same second.
    """

    base_seconds: float = 30.0
    factor: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 8
    jitter: float = 0.5  # the share of each delay that is random: 0 is none, 1 is "full jitter"

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt (1 for the first)."""
        ceiling = min(self.cap_seconds, self.base_seconds * self.factor ** max(attempts - 1, 0))
        spread = ceiling * self.jitter * (rng or random).random()
        return timedelta(seconds=ceiling - spread)


@dataclass(frozen=True)
class Failure:
    """Where a failed attempt leaves its message: `failed` until `due_at`, `dead`, or `unknown_outcome`."""

    status: MessageStatus
    due_at: datetime | None


def after_failure(
    attempts: int, now: datetime, backoff: Backoff, *, retryable: bool, rng: random.Random | None = None
) -> Failure:
    """The state after an attempt failed: why a message is retried, given up, or left to a person."""
    if not retryable:
        return Failure(MessageStatus.UNKNOWN_OUTCOME, None)
    if attempts >= backoff.max_attempts:
        return Failure(MessageStatus.DEAD, None)
    return Failure(MessageStatus.FAILED, now + backoff.delay(attempts, rng))


def is_claimable(status: str, due_at: datetime, lease_until: datetime | None, now: datetime) -> bool:
    """Due and waiting, or in flight with an expired lease (the worker died): the claim rule in one place.

    The dispatcher writes the same rule as SQL; this function is what tests and views read it from.
    """
    if status in CLAIMABLE:
        return due_at <= now
    return status == MessageStatus.IN_FLIGHT and lease_until is not None and lease_until < now
