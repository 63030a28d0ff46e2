"""The outbox's pure rules: backoff grows and is capped, jitter stays within its share, where a
failed attempt leaves its message, and which messages a dispatcher may claim."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from microfactory.outbox.model import Backoff, MessageStatus, after_failure, is_claimable

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_backoff_without_jitter_doubles_until_the_cap() -> None:
    backoff = Backoff(base_seconds=10, factor=2, cap_seconds=60, jitter=0)
    delays = [backoff.delay(attempt).total_seconds() for attempt in range(1, 7)]
    assert delays == [10, 20, 40, 60, 60, 60]


def test_jitter_takes_at_most_its_share_and_spreads_the_retries() -> None:
    backoff = Backoff(base_seconds=100, cap_seconds=1000, jitter=0.5)
    rng = random.Random(4)
    delays = [backoff.delay(3, rng).total_seconds() for _ in range(200)]
    assert all(200 <= delay <= 400 for delay in delays)
    assert max(delays) - min(delays) > 150  # not all at the same moment


def test_a_failure_waits_for_its_backoff_then_dies_when_attempts_are_spent() -> None:
    backoff = Backoff(base_seconds=30, max_attempts=3, jitter=0)
    first = after_failure(1, NOW, backoff, retryable=True)
    assert first.status == MessageStatus.FAILED and first.due_at == NOW + timedelta(seconds=30)
    second = after_failure(2, NOW, backoff, retryable=True)
    assert second.due_at == NOW + timedelta(seconds=60)
    assert after_failure(3, NOW, backoff, retryable=True).status == MessageStatus.DEAD


@pytest.mark.parametrize("attempts", [1, 8])
def test_an_unknown_outcome_is_never_scheduled_again(attempts: int) -> None:
    failure = after_failure(attempts, NOW, Backoff(), retryable=False)
    assert failure == type(failure)(MessageStatus.UNKNOWN_OUTCOME, None)


def test_claimable_are_due_waiting_messages_and_expired_leases() -> None:
    past, future = NOW - timedelta(seconds=1), NOW + timedelta(seconds=1)
    assert is_claimable("pending", past, None, NOW)
    assert not is_claimable("pending", future, None, NOW)
    assert is_claimable("failed", NOW, None, NOW)
    assert not is_claimable("failed", future, None, NOW)
    assert is_claimable("in_flight", past, past, NOW)  # its worker died
    assert not is_claimable("in_flight", past, future, NOW)  # still being handled
    for final in ("done", "dead", "unknown_outcome"):
        assert not is_claimable(final, past, past, NOW)
