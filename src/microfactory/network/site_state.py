"""What a site has and how it stands now: the moving state, and what routing precomputes from it.

Pure. `SiteState` is what changes between decisions (machines down, closures, stock, the queue);
`SiteIndex` holds the sets and rates of one site derived from its machines and which of them are
up, and the site's queue laid on those machines (`site_queue.MachineQueue`), so that judging a
site for a work order is a few set operations and one greedy pass over its machines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from microfactory.network.demand import Step
from microfactory.network.geo import EARTH_RADIUS_KM
from microfactory.network.model import Calendar, Site
from microfactory.network.promise import zone
from microfactory.network.site_queue import MachineQueue, QueueClock, Queued, SiteMachines, clock_at


@dataclass(slots=True)
class SiteState:
    """What changes at a site between decisions: machines down, closures, stock, queue."""

    down: set[str] = field(default_factory=set)  # machine ids
    held: set[str] = field(default_factory=set)  # on hold for new jobs (quality's SPC), machine ids
    open: bool = True  # False: closed until further notice
    closed_dates: set[date] = field(default_factory=set)
    available: dict[str, Decimal] = field(default_factory=dict)  # on hand less reservations
    queued: dict[str, float] = field(default_factory=dict)  # minutes by capability
    # the open work at the site in the order it was promised: laid on the machines, it is what a
    # new work order waits behind
    queue: list[Queued] = field(default_factory=list)

    @classmethod
    def initial(cls, site: Site) -> SiteState:
        return cls(available=dict(site.stock), closed_dates=set(site.calendar.closed_dates))

    def calendar(self, site: Site) -> Calendar:
        """The site's calendar with the days it closed for since the network was loaded."""
        calendar = site.calendar
        if self.closed_dates == set(calendar.closed_dates):
            return calendar
        return Calendar(calendar.days, calendar.open, calendar.close, frozenset(self.closed_dates))

    def take_out(self, work_order_ids: tuple[str, ...], steps: tuple[Step, ...]) -> None:
        """Remove queued work: by its work orders, else the latest work of the same shape."""
        for position in range(len(self.queue) - 1, -1, -1):
            if self.queue[position].work_order_ids == work_order_ids:
                del self.queue[position]
                return
        for position in range(len(self.queue) - 1, -1, -1):
            if self.queue[position].steps == steps:
                del self.queue[position]
                return


class SiteIndex:
    """Sets and rates of one site, precomputed from its machines and which of them are up, and its
    queue laid on the machines up (from `now`; laid again when `now` moves to another clock)."""

    __slots__ = (
        "_days_to_anchor",
        "_laid",
        "_laid_at",
        "all_capabilities",
        "all_materials",
        "capabilities",
        "central",
        "cos_lat",
        "cost_per_minute",
        "days_per_working_day",
        "held",
        "labour_per_minute",
        "lat",
        "lon",
        "machines",
        "machines_up",
        "materials",
        "minutes_per_day",
        "minutes_per_week",
        "site",
    )

    def __init__(self, site: Site, state: SiteState) -> None:
        self.site = site
        self.central = site.is_central
        self.lat = math.radians(site.location.lat)
        self.lon = math.radians(site.location.lon)
        self.cos_lat = math.cos(self.lat)
        labour = float(site.labour_rate_per_hour) / 60
        self.labour_per_minute = labour
        up = [m for m in site.machines if m.id not in state.down and m.id not in state.held]
        self.held = frozenset(state.held)
        self.machines = SiteMachines(site, up)
        self._laid: MachineQueue | None = None
        self._laid_at: datetime | None = None
        self._days_to_anchor: tuple[
            tuple[date, bool], ...
        ] = ()  # each day from now's to the clock's, closed?
        self.all_capabilities = site.all_capabilities()
        self.capabilities = self.all_capabilities if site.is_central else frozenset(m.capability for m in up)
        self.all_materials = frozenset((m.capability, x) for m in site.machines for x in m.materials)
        self.materials = frozenset((m.capability, x) for m in up for x in m.materials)
        self.machines_up: dict[str, int] = {}
        self.cost_per_minute: dict[str, float] = {}
        for machine in up:
            self.machines_up[machine.capability] = self.machines_up.get(machine.capability, 0) + 1
            rate = labour if machine.rate_per_hour is None else float(machine.rate_per_hour) / 60
            known = self.cost_per_minute.get(machine.capability)
            self.cost_per_minute[machine.capability] = rate if known is None else min(known, rate)
        calendar = site.calendar
        self.minutes_per_day = max(1, calendar.minutes_per_day)
        self.minutes_per_week = max(1, calendar.minutes_per_week)
        self.days_per_working_day = 7 / max(1, len(calendar.days))

    def laid(self, state: SiteState, now: datetime) -> MachineQueue:
        """The site's queue on its machines up, from `now`: kept while `now` stays on the same
        clock, laid again from the queue in order when it moves (a new day, a day closed)."""
        laid = self._laid
        if laid is not None and (now is self._laid_at or now == self._laid_at):
            closed = state.closed_dates
            if all((day in closed) == was for day, was in self._days_to_anchor):
                return laid
        clock = self.clock(state, now)
        if laid is None or laid.clock != clock:
            laid = self._laid = self.machines.queue(clock, state.queue)
        self._laid_at = now
        today = now.astimezone(zone(self.site.timezone)).date()
        days = [today + timedelta(days=n) for n in range((clock.anchor - today).days + 1)]
        self._days_to_anchor = tuple((day, day in state.closed_dates) for day in days)
        return laid

    def clock(self, state: SiteState, now: datetime) -> QueueClock:
        """Where `now` is on the site's working-minute clock, with the days it closed for."""
        return clock_at(state.calendar(self.site), self.site.timezone, now)

    def laid_if_any(self) -> MachineQueue | None:
        """The queue as last laid (None before the first decision or after work was taken out)."""
        return self._laid

    def forget_laid(self) -> None:
        """Work left the queue: lay it again from the rest at the next decision."""
        self._laid = None

    def distance(self, lat: float, lon: float, cos_lat: float) -> float:
        """Great-circle km to a point given in radians (with its latitude's cosine, computed once)."""
        a = math.sin((lat - self.lat) / 2) ** 2 + self.cos_lat * cos_lat * math.sin((lon - self.lon) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))

    def missing_equipment(
        self, capabilities: frozenset[str], materials: frozenset[tuple[str, str]]
    ) -> tuple[str, ...]:
        """Capabilities and materials the site lacks on machines that are up, each reason named."""
        reasons: list[str] = []
        site = self.site
        if not self.capabilities.issuperset(capabilities):
            for capability in sorted(capabilities - self.capabilities):
                if capability in self.all_capabilities:
                    ids = [m.id for m in site.machines if m.capability == capability]
                    reasons.append(f"machine {', '.join(ids)} {self._unavailable(ids)}")
                else:
                    reasons.append(f"no machine with capability {capability}")
        if not self.central and not self.materials.issuperset(materials):
            for capability, material in sorted(materials - self.materials):
                if capability not in self.capabilities:
                    continue  # already said: the capability itself is missing
                if (capability, material) in self.all_materials:
                    ids = [
                        m.id for m in site.machines if m.capability == capability and material in m.materials
                    ]
                    reasons.append(f"machine {', '.join(ids)} {self._unavailable(ids)}")
                else:
                    reasons.append(f"no machine loaded with {material} for {capability}")
        return tuple(reasons)

    def _unavailable(self, ids: list[str]) -> str:
        """Why machines that exist do not count: down, or on hold for new jobs."""
        if self.held and all(machine in self.held for machine in ids):
            return "on hold for new jobs"
        return "down or on hold" if self.held.intersection(ids) else "down"


def missing_stock(parts: Mapping[str, Decimal], available: Mapping[str, Decimal]) -> list[str]:
    """Bought-in parts the site holds too few of, each named with what it has and needs."""
    reasons = []
    for part, qty in parts.items():
        have = available.get(part, _ZERO)
        if have < qty:
            reasons.append(f"stock: {part} {_number(have)} < {_number(qty)}")
    return reasons


_ZERO = Decimal(0)


def _number(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())
