"""Capable-to-promise: when a site will ship a work order, and when the customer will have it.

Pure. The ship time lays the site's queue and the order's own work on the site's working calendar,
in the site's own time zone (a Berlin Friday ends at 18:00 Berlin time, whatever the server's
clock says); the delivery time adds the fulfilment partner's transit days for the distance. Every
datetime that goes in or comes out is timezone-aware; results are in UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from microfactory.errors import Conflict
from microfactory.network.model import Calendar, FulfilmentPartner, Site

# Door-to-door kilometres a partner covers per day, and the days it needs before moving at all.
SPEED_KM_PER_DAY = {"cargo_bike": 60.0, "van": 700.0, "truck": 600.0, "air": 6000.0}
HANDLING_DAYS = {"cargo_bike": 0, "van": 0, "truck": 1, "air": 3}  # air: consolidation and customs
PARCEL_HANDLING_DAYS = 1  # a parcel network sorts once before it moves
MAX_CALENDAR_DAYS = 3660  # a calendar that never opens must not loop forever


class NeverOpen(Conflict):
    """The work does not fit in the calendar's working time of the next ten years."""


@dataclass(frozen=True, slots=True)
class Promise:
    """A ship time at a site and a delivery time at the customer; both aware UTC."""

    site: str
    ship_at: datetime
    delivery_at: datetime
    ship_date: date  # in the site's time zone: what the site works to
    delivery_date: date
    transit_days: int
    work_minutes: float  # working minutes from the start of planning until the order is ready

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "promised_ship_date": self.ship_date.isoformat(),
            "promised_delivery_date": self.delivery_date.isoformat(),
            "ship_at": self.ship_at.isoformat(),
            "delivery_at": self.delivery_at.isoformat(),
            "transit_days": self.transit_days,
            "work_minutes": round(self.work_minutes, 1),
        }


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: times must be timezone-aware")


def finish_time(calendar: Calendar, timezone: str, start: datetime, work_minutes: float) -> datetime:
    """When `work_minutes` of working time, begun at `start`, are done; in UTC.

    Work runs only inside opening hours on working days that are not closed; zero minutes of work
    finish at the next moment the site is open, or at the closing itself: work a plan finishes at
    closing time ships that day.
    """
    _require_aware(start)
    tz = zone(timezone)
    local = start.astimezone(tz)
    remaining = max(0.0, work_minutes)
    day = local.date()
    per_week = calendar.minutes_per_week
    horizon = day + timedelta(days=MAX_CALENDAR_DAYS)
    while day < horizon:
        if calendar.is_working_day(day):
            opening = datetime.combine(day, calendar.open, tz)
            closing = datetime.combine(day, calendar.close, tz)
            begin = max(opening, local) if day == local.date() else opening
            if begin < closing or (begin == closing and not remaining):
                available = (closing - begin).total_seconds() / 60
                if remaining <= available:
                    return (begin + timedelta(minutes=remaining)).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
        # whole weeks at once while no closed day lies ahead: long queues stay cheap to promise
        while per_week and remaining > per_week and day < horizon and not _closed_within(calendar, day, 7):
            day += timedelta(days=7)
            remaining -= per_week
    raise NeverOpen(f"{work_minutes:,.0f} working minutes do not fit in the next ten years of this calendar")


def _closed_within(calendar: Calendar, first: date, days: int) -> bool:
    last = first + timedelta(days=days)
    return any(first <= closed < last for closed in calendar.closed_dates)


def transit_days(partner: FulfilmentPartner, distance_km: float | None) -> int:
    """Whole days from hand-over to delivery; at least one.

    A local courier beyond its radius hands over to a parcel van, so its days are a van's.
    """
    km = distance_km or 0.0
    mode = partner.mode
    handling = HANDLING_DAYS[mode]
    if partner.kind == "local_courier" and partner.radius_km is not None and km > partner.radius_km:
        mode, handling = "van", PARCEL_HANDLING_DAYS
    elif partner.kind == "parcel_network":
        handling = max(handling, PARCEL_HANDLING_DAYS)
    return max(1, handling + math.ceil(km / SPEED_KM_PER_DAY[mode]))


def promise(
    site: Site,
    partner: FulfilmentPartner,
    start: datetime,
    work_minutes: float,
    distance_km: float | None,
    calendar: Calendar | None = None,
) -> Promise:
    """The promise of a site for work that needs `work_minutes` of its working time from `start`.

    A central site ships `lead_time_days` calendar days after `start`, its quoted lead time.
    `calendar` overrides the site's own (closed days added by events).
    """
    _require_aware(start)
    tz = zone(site.timezone)
    if site.is_central:
        ship_at = (start + timedelta(days=site.lead_time_days)).astimezone(UTC)
    else:
        ship_at = finish_time(calendar or site.calendar, site.timezone, start, work_minutes)
    days = transit_days(partner, distance_km)
    delivery_at = ship_at + timedelta(days=days)
    return Promise(
        site=site.id,
        ship_at=ship_at,
        delivery_at=delivery_at,
        ship_date=ship_at.astimezone(tz).date(),
        delivery_date=ship_at.astimezone(tz).date() + timedelta(days=days),
        transit_days=days,
        work_minutes=work_minutes,
    )
