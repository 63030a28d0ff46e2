"""`replaying`: the demo's ids and clock follow its seed and start, and nothing outside the block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from microfactory.db.base import new_id, replaying, utcnow
from microfactory.errors import Invalid

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def _draw() -> tuple[list[str], list[datetime]]:
    return [new_id("wo") for _ in range(5)], [utcnow() for _ in range(5)]


def test_the_same_seed_and_start_give_the_same_ids_and_times() -> None:
    with replaying(7, START):
        first = _draw()
    with replaying(7, START):
        second = _draw()
    with replaying(8, START):
        other = _draw()
    assert first == second
    assert set(first[0]).isdisjoint(other[0]) and len(set(first[0])) == 5
    assert all(identifier.startswith("wo_") and len(identifier) == 35 for identifier in first[0])


def test_the_clock_starts_at_start_and_never_stands_still() -> None:
    local = START.astimezone(timezone(timedelta(hours=1)))
    with replaying(1, local):
        times = [utcnow() for _ in range(100)]
    assert times == sorted(set(times)) and START < times[0] < START + timedelta(seconds=1)
    assert all(moment.tzinfo == UTC for moment in times)


def test_outside_the_block_ids_and_times_are_real_again() -> None:
    with replaying(7, START):
        replayed = new_id("ord")
    with replaying(7, START):
        pass
    assert new_id("ord") != replayed
    assert utcnow() - datetime.now(UTC) < timedelta(seconds=5)


def test_a_start_without_zone_is_refused() -> None:
    with pytest.raises(Invalid), replaying(7, datetime(2026, 3, 2, 7, 0)):
        pass
