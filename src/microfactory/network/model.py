"""The microfactory network as plain, immutable data: sites, machines, calendars, partners.

What a network document says (spec/network.md) and nothing that changes by the hour: machines
going down, closed days, stock counts and queues live in `routing.SiteState`, so that a loaded
network can be shared by every routing decision while the state moves on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Literal

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SiteKind = Literal["local", "central"]
PartnerKind = Literal["local_courier", "parcel_network"]
Mode = Literal["cargo_bike", "van", "truck", "air"]
# How logistics picks among a partner's rates (an extension of the network file, docs/integrations/logistics.md)
RatePolicy = Literal["cheapest", "fastest", "lowest_emissions"]
DEFAULT_ACCEPT_MINUTES = 240


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float
    country: str = ""


@dataclass(frozen=True, slots=True)
class Calendar:
    """Working time in the site's own time zone: weekdays (0 = Monday) and one opening interval."""

    days: frozenset[int]
    open: time
    close: time
    closed_dates: frozenset[date] = frozenset()

    @property
    def minutes_per_day(self) -> int:
        return (self.close.hour * 60 + self.close.minute) - (self.open.hour * 60 + self.open.minute)

    @property
    def minutes_per_week(self) -> int:
        return self.minutes_per_day * len(self.days)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.closed_dates


ALWAYS_OPEN = Calendar(frozenset(range(7)), time(0, 0), time(23, 59))


@dataclass(frozen=True, slots=True)
class Connector:
    """How the site's edge agent talks to a machine (`octoprint`, `moonraker`); None for manual stations."""

    kind: str
    url: str | None = None
    api_key_env: str | None = None  # the variable, on the agent's machine, that holds the key


@dataclass(frozen=True, slots=True)
class Machine:
    id: str
    capability: str
    materials: tuple[str, ...] = ()
    rate_per_hour: Decimal | None = None  # None: a manual station, costed at the labour rate
    connector: Connector | None = None
    # telemetry limits: reading -> (min, max); an alert is raised outside them (production.telemetry)
    limits: Mapping[str, tuple[float, float]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class FulfilmentPartner:
    id: str
    kind: PartnerKind
    mode: Mode
    radius_km: float | None = None
    carrier: str | None = None
    api_url: str | None = None
    api_key_env: str | None = None  # names of environment variables: secrets never sit in documents
    webhook_secret_env: str | None = None
    base_url: str | None = None
    api_secret_env: str | None = None  # a local courier's webhook secret (`api.secret_env`)
    policy: RatePolicy = "cheapest"  # which of the partner's rates logistics buys

    @property
    def carrier_kind(self) -> str:
        """The carrier adapter that books this partner's parcels (`logistics.carriers.kinds`)."""
        if self.carrier is not None:
            return self.carrier
        return "local_courier" if self.kind == "local_courier" and self.api_url else "manual"


@dataclass(frozen=True, slots=True)
class Site:
    """A local microfactory, or the central factory (`kind == "central"`): the fallback and baseline.

    A central site has no machines: `capabilities` says what it makes, `lead_time_days` when it ships
    and `unit_overhead` what each unit costs on top of the parts.
    """

    id: str
    name: str
    location: Location
    timezone: str
    calendar: Calendar
    fulfilment_partner: str
    kind: SiteKind = "local"
    labour_rate_per_hour: Decimal = Decimal(0)
    machines: tuple[Machine, ...] = ()
    material_change_minutes: int = 0
    stock: Mapping[str, Decimal] = field(default_factory=dict)
    lead_time_days: int = 0
    unit_overhead: Decimal = Decimal(0)
    capabilities: frozenset[str] = frozenset()
    accept_within_minutes: int = DEFAULT_ACCEPT_MINUTES  # how long the site has to accept an offer
    fallback_partner: str | None = None  # takes the parcels while `fulfilment_partner` is paused
    # our extension: the lot of each material now loaded at the site (`materials: {ID: {lot: ...}}`)
    material_lots: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_central(self) -> bool:
        return self.kind == "central"

    def all_capabilities(self) -> frozenset[str]:
        """What the site can make when every machine is up."""
        if self.is_central:
            return self.capabilities
        return frozenset(machine.capability for machine in self.machines)

    def machine(self, machine_id: str) -> Machine | None:
        return next((m for m in self.machines if m.id.casefold() == machine_id.casefold()), None)


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    sites: Mapping[str, Site]
    partners: Mapping[str, FulfilmentPartner]

    @property
    def local_sites(self) -> tuple[Site, ...]:
        return tuple(site for site in self.sites.values() if not site.is_central)

    @property
    def central(self) -> Site | None:
        return next((site for site in self.sites.values() if site.is_central), None)

    def site(self, site_id: str) -> Site | None:
        found = self.sites.get(site_id)
        if found is not None:
            return found
        return next((s for key, s in self.sites.items() if key.casefold() == site_id.casefold()), None)

    def partner_of(self, site: Site) -> FulfilmentPartner:
        return self.partners[site.fulfilment_partner]
