"""Capable-to-promise: working time laid on a site's calendar, in its own time zone, plus transit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from microfactory.network.model import Calendar, FulfilmentPartner, Location, Site
from microfactory.network.promise import NeverOpen, finish_time, promise, transit_days

WEEKDAYS = Calendar(frozenset(range(5)), time(8), time(18))
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_work_that_fits_today_finishes_today() -> None:
    done = finish_time(WEEKDAYS, "Europe/Berlin", berlin(2026, 3, 2, 10, 0), 60)
    assert done == berlin(2026, 3, 2, 11, 0)
    assert done.tzinfo is UTC


def test_work_past_closing_on_friday_continues_on_monday() -> None:
    done = finish_time(WEEKDAYS, "Europe/Berlin", berlin(2026, 3, 6, 17, 30), 60)
    assert done == berlin(2026, 3, 9, 8, 30)


def test_work_started_on_a_saturday_starts_on_monday_morning() -> None:
    assert finish_time(WEEKDAYS, "Europe/Berlin", berlin(2026, 3, 7, 12, 0), 0) == berlin(2026, 3, 9, 8, 0)


def test_work_finished_at_closing_ships_that_day() -> None:
    closing = berlin(2026, 3, 2, 18, 0)
    assert finish_time(WEEKDAYS, "Europe/Berlin", closing, 0) == closing
    assert finish_time(WEEKDAYS, "Europe/Berlin", closing, 1) == berlin(2026, 3, 3, 8, 1)


def test_a_closed_day_is_skipped() -> None:
    closed = Calendar(WEEKDAYS.days, WEEKDAYS.open, WEEKDAYS.close, frozenset({date(2026, 3, 3)}))
    done = finish_time(closed, "Europe/Berlin", berlin(2026, 3, 2, 17, 0), 120)
    assert done == berlin(2026, 3, 4, 9, 0)


def test_the_site_time_zone_decides_not_the_server() -> None:
    # 23:00 UTC on Monday is Tuesday 08:00 in Tokyo: a Tokyo site starts at once
    start = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    done = finish_time(WEEKDAYS, "Asia/Tokyo", start, 30)
    assert done == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


def test_working_hours_follow_daylight_saving_time() -> None:
    # Berlin moves to summer time on 29 March 2026: 08:00 local is 07:00 UTC before, 06:00 after
    done = finish_time(WEEKDAYS, "Europe/Berlin", berlin(2026, 3, 27, 18, 0), 10)
    assert done == datetime(2026, 3, 30, 6, 10, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        finish_time(WEEKDAYS, "Europe/Berlin", datetime(2026, 3, 2, 10), 10)


def test_work_that_never_fits_is_an_error_not_a_hang() -> None:
    mondays = Calendar(frozenset({0}), time(8), time(18), frozenset())
    with pytest.raises(NeverOpen):
        finish_time(mondays, "UTC", datetime(2026, 3, 2, tzinfo=UTC), 10**9)
    never = Calendar(frozenset(), time(8), time(18), frozenset())
    with pytest.raises(NeverOpen):
        finish_time(never, "UTC", datetime(2026, 3, 2, tzinfo=UTC), 1)


def _reference(calendar: Calendar, start: datetime, minutes: float) -> datetime:
    """Day by day, the slow and obvious way; zero minutes begun at closing finish at the closing
    (`finish_time`'s rule: work a plan finishes at closing time ships that day)."""
    local = start.astimezone(BERLIN)
    day = local.date()
    while True:
        if calendar.is_working_day(day):
            opening = datetime.combine(day, calendar.open, BERLIN)
            closing = datetime.combine(day, calendar.close, BERLIN)
            begin = max(opening, local)
            if begin < closing or (begin == closing and not minutes):
                available = (closing - begin).total_seconds() / 60
                if minutes <= available:
                    return (begin + timedelta(minutes=minutes)).astimezone(UTC)
                minutes -= available
        day += timedelta(days=1)


@settings(max_examples=200, deadline=None)
@example(offset=37080, minutes=0, closed=set())  # Friday at closing, no work left: ships that day
@given(
    offset=st.integers(min_value=0, max_value=60 * 24 * 60),
    minutes=st.integers(min_value=0, max_value=60 * 400),
    closed=st.sets(st.integers(min_value=0, max_value=120), max_size=5),
)
def test_long_queues_jump_whole_weeks_and_agree_with_stepping_day_by_day(
    offset: int, minutes: int, closed: set[int]
) -> None:
    calendar = Calendar(
        WEEKDAYS.days,
        WEEKDAYS.open,
        WEEKDAYS.close,
        frozenset(date(2026, 1, 5) + timedelta(days=d) for d in closed),
    )
    start = berlin(2026, 1, 5, 0, 0) + timedelta(minutes=offset)
    assert finish_time(calendar, "Europe/Berlin", start, minutes) == _reference(calendar, start, minutes)


def _partner(kind: str, mode: str, radius: float | None = None) -> FulfilmentPartner:
    return FulfilmentPartner("p", kind, mode, radius)  # type: ignore[arg-type]


def test_transit_days_by_partner_and_distance() -> None:
    bike = _partner("local_courier", "cargo_bike", 25)
    assert transit_days(bike, 4) == 1
    assert transit_days(bike, 400) == 2  # beyond its radius the parcel van carries it
    assert transit_days(_partner("parcel_network", "van"), 840) == 3
    assert transit_days(_partner("parcel_network", "air"), 8700) == 5
    assert transit_days(_partner("parcel_network", "van"), None) == 1


def test_a_promise_adds_transit_to_the_ship_date() -> None:
    site = Site("ber", "Berlin", Location(52.5, 13.4), "Europe/Berlin", WEEKDAYS, "bike")
    result = promise(site, _partner("local_courier", "cargo_bike", 25), berlin(2026, 3, 6, 17, 0), 120, 5)
    assert result.ship_date == date(2026, 3, 9)
    assert result.delivery_date == date(2026, 3, 10)
    assert result.as_dict()["promised_ship_date"] == "2026-03-09"


def test_the_central_factory_promises_its_lead_time() -> None:
    central = Site(
        "central",
        "Shenzhen",
        Location(22.5, 114.1),
        "Asia/Shanghai",
        WEEKDAYS,
        "air",
        kind="central",
        lead_time_days=42,
    )
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    result = promise(central, _partner("parcel_network", "air"), start, 0, 8700)
    assert result.ship_at == start + timedelta(days=42)
    assert result.delivery_at == start + timedelta(days=47)
