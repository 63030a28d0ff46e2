"""Network documents (YAML, spec/network.md) to a validated `Network`, or every problem with its place.

Like the catalog's loader: the document is walked once, every problem is collected with its path
(`sites.berlin.machines[2].materials`), and a network with any problem is refused whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from microfactory.adapters import ENV_NAME
from microfactory.errors import Invalid
from microfactory.logistics.carriers.kinds import CARRIERS, carrier_kind
from microfactory.network.model import (
    ALWAYS_OPEN,
    DEFAULT_ACCEPT_MINUTES,
    WEEKDAYS,
    Calendar,
    Connector,
    FulfilmentPartner,
    Location,
    Machine,
    Mode,
    Network,
    PartnerKind,
    RatePolicy,
    Site,
)
from microfactory.problems import Problem
from microfactory.production.connectors.kinds import CONNECTORS
from microfactory.yaml_documents import is_number, is_whole, parse_mapping, read_mapping, refusal_summary

PARTNER_KINDS: tuple[str, ...] = get_args(PartnerKind)
MODES: tuple[str, ...] = get_args(Mode)
POLICIES: tuple[str, ...] = get_args(RatePolicy)
HOUR = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _finite(value: object) -> bool:
    return is_number(value) and math.isfinite(cast(float, value))


class NetworkError(Invalid):
    """A network that is not valid; `problems` lists every problem by place."""


def read_network_file(path: str | Path) -> dict[str, Any]:
    """Parse a network file as YAML; a file that is not a YAML mapping is refused with its reason."""
    return read_mapping(path, "network", NetworkError)


def parse_network_text(text: str, source: str = "network") -> dict[str, Any]:
    return parse_mapping(text, source, "network", NetworkError)


def load_network(path: str | Path) -> Network:
    """Read and validate a network file."""
    return build_network(read_network_file(path))


def build_network(document: Mapping[str, Any]) -> Network:
    """Validate a parsed document and build the network; raises `NetworkError` with every problem."""
    builder = _Builder()
    network = builder.build(document)
    if builder.problems or network is None:
        name = document.get("network", "network") if isinstance(document, Mapping) else "network"
        raise NetworkError(refusal_summary("network", name, len(builder.problems)), builder.problems)
    return network


class _Builder:
    """Walks the document once, collecting problems and building the model as it goes."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.machine_ids: dict[str, str] = {}  # casefolded id -> where it was first defined

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"must be a mapping, not {type(value).__name__}")
            return {}
        return value

    def text(self, spec: Mapping[str, Any], key: str, path: str, required: bool = True) -> str | None:
        value = spec.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(f"{path}.{key}", f"{key} (text) is required")
            return None
        return value

    def amount(self, spec: Mapping[str, Any], key: str, path: str, required: bool) -> Decimal | None:
        """A non-negative number as a Decimal (money, rates, stock counts)."""
        value = spec.get(key)
        if value is None:
            if required:
                self.error(f"{path}.{key}", f"{key} (a number of at least 0) is required")
            return None
        if not is_number(value):
            self.error(f"{path}.{key}", f"{key} must be a number of at least 0, not {value!r}")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:  # pragma: no cover - numbers always convert
            return None
        if not number.is_finite() or number < 0:
            self.error(f"{path}.{key}", f"{key} must be a number of at least 0, not {value!r}")
            return None
        return number

    def whole(self, spec: Mapping[str, Any], key: str, path: str, default: int, minimum: int = 0) -> int:
        value = spec.get(key, default)
        if not is_whole(value) or value < minimum:
            self.error(f"{path}.{key}", f"{key} must be a whole number of at least {minimum}, not {value!r}")
            return default
        return value

    def build(self, document: Mapping[str, Any]) -> Network | None:
        name = document.get("network")
        if not isinstance(name, str) or not name:
            self.error("network", "a network name (text) is required")
        partners_raw = self.mapping(document.get("fulfilment_partners"), "fulfilment_partners")
        partners = {str(pid): self.partner(str(pid), raw) for pid, raw in partners_raw.items()}
        sites_raw = self.mapping(document.get("sites"), "sites")
        if not sites_raw:
            self.error("sites", "a network needs at least one site")
        sites = {str(sid): self.site(str(sid), raw, partners) for sid, raw in sites_raw.items()}
        centrals = [sid for sid, site in sites.items() if site is not None and site.is_central]
        if len(centrals) > 1:
            self.error("sites", f"at most one central site is allowed, found {', '.join(centrals)}")
        if not any(site is not None and not site.is_central for site in sites.values()) and sites_raw:
            self.error("sites", "a network needs at least one local site")
        if self.problems:
            return None
        return Network(
            str(name),
            {sid: site for sid, site in sites.items() if site is not None},
            {pid: partner for pid, partner in partners.items() if partner is not None},
        )

    def partner(self, pid: str, raw: object) -> FulfilmentPartner | None:
        path = f"fulfilment_partners.{pid}"
        spec = self.mapping(raw, path)
        kind, mode = spec.get("kind"), spec.get("mode")
        if kind not in PARTNER_KINDS:
            self.error(f"{path}.kind", f"kind must be one of {', '.join(PARTNER_KINDS)}, not {kind!r}")
        if mode not in MODES:
            self.error(f"{path}.mode", f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        radius = spec.get("radius_km")
        if radius is not None and (not is_number(radius) or radius <= 0):
            self.error(f"{path}.radius_km", f"radius_km must be a positive number, not {radius!r}")
            radius = None
        policy = spec.get("policy", "cheapest")
        if policy not in POLICIES:
            self.error(f"{path}.policy", f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        carrier_problems = CARRIERS.problems(spec, path, carrier_kind(spec))
        self.problems.extend(carrier_problems)
        api: Mapping[str, Any] = {}
        if isinstance(spec.get("api"), Mapping):
            api = spec["api"]
            self.partner_api(api, f"{path}.api")
        elif "api" in spec and carrier_kind(spec) != "local_courier":  # else the registry said so
            self.mapping(spec["api"], f"{path}.api")
        if kind not in PARTNER_KINDS or mode not in MODES or carrier_problems or policy not in POLICIES:
            return None
        return FulfilmentPartner(
            pid,
            cast(PartnerKind, kind),
            cast(Mode, mode),
            float(radius) if radius is not None else None,
            spec.get("carrier"),
            api.get("url"),
            spec.get("api_key_env"),
            spec.get("webhook_secret_env"),
            spec.get("base_url"),
            api.get("secret_env"),
            cast(RatePolicy, policy),
        )

    def partner_api(self, api: Mapping[str, Any], path: str) -> None:
        """`api: {kind: webhook, url, secret_env}`: a partner reached through a plain HTTP handoff."""
        if api.get("kind") != "webhook":
            self.error(f"{path}.kind", f"the only partner api kind is webhook, not {api.get('kind')!r}")
        url = self.text(api, "url", path)
        if url is not None and not url.startswith(("http://", "https://")):
            self.error(f"{path}.url", f"url must be an http(s) URL, not {url!r}")
        secret = api.get("secret_env")
        if secret is not None and not (isinstance(secret, str) and ENV_NAME.match(secret)):
            self.error(f"{path}.secret_env", f"secret_env must name an environment variable, not {secret!r}")

    def site(self, sid: str, raw: object, partners: Mapping[str, FulfilmentPartner | None]) -> Site | None:
        path = f"sites.{sid}"
        spec = self.mapping(raw, path)
        kind = spec.get("kind", "local")
        if kind not in ("local", "central"):
            self.error(f"{path}.kind", f"kind must be local or central, not {kind!r}")
            return None
        before = len(self.problems)
        location = self.location(spec.get("location"), f"{path}.location")
        partner = spec.get("fulfilment_partner")
        if not isinstance(partner, str) or not partner:
            self.error(f"{path}.fulfilment_partner", "a fulfilment partner (an ID) is required")
        elif partner not in partners:
            self.error(f"{path}.fulfilment_partner", f"unknown fulfilment partner '{partner}'")
        accept = self.whole(spec, "accept_within_minutes", path, DEFAULT_ACCEPT_MINUTES, minimum=1)
        fallback = self.fallback_partner(spec, path, partners)
        common = {
            "id": sid,
            "name": str(spec.get("name") or sid),
            "fulfilment_partner": str(partner),
            "accept_within_minutes": accept,
            "fallback_partner": fallback,
        }
        if kind == "central":
            site = self.central(spec, path, common, location)
        else:
            site = self.local(spec, path, common, location)
        return site if len(self.problems) == before else None

    def fallback_partner(
        self, spec: Mapping[str, Any], path: str, partners: Mapping[str, FulfilmentPartner | None]
    ) -> str | None:
        """`fallback_partner`: another known partner, which takes the parcels while the first is paused."""
        fallback = spec.get("fallback_partner")
        if fallback is None:
            return None
        where = f"{path}.fallback_partner"
        if not isinstance(fallback, str) or not fallback:
            self.error(where, f"fallback_partner must be a partner ID, not {fallback!r}")
        elif fallback not in partners:
            self.error(where, f"unknown fulfilment partner '{fallback}'")
        elif fallback == spec.get("fulfilment_partner"):
            self.error(where, "the fallback partner must differ from the fulfilment partner")
        else:
            return fallback
        return None

    def central(
        self, spec: Mapping[str, Any], path: str, common: dict[str, Any], location: Location | None
    ) -> Site | None:
        lead = spec.get("lead_time_days")
        if not is_whole(lead) or lead < 0:
            self.error(f"{path}.lead_time_days", "a central site needs lead_time_days, a whole number >= 0")
        overhead = self.amount(spec, "unit_overhead", path, required=False) or Decimal(0)
        capabilities = spec.get("capabilities")
        if not isinstance(capabilities, list) or not capabilities:
            self.error(f"{path}.capabilities", "a central site needs a non-empty list of capabilities")
            capabilities = []
        elif not all(isinstance(c, str) and c for c in capabilities):
            self.error(f"{path}.capabilities", "capabilities must be text")
        timezone = self.timezone(spec, path, required=False) or "UTC"
        calendar = self.calendar(spec["calendar"], f"{path}.calendar") if "calendar" in spec else ALWAYS_OPEN
        if location is None or calendar is None or not is_whole(lead):
            return None
        return Site(
            **common,
            location=location,
            timezone=timezone,
            calendar=calendar,
            kind="central",
            lead_time_days=lead,
            unit_overhead=overhead,
            capabilities=frozenset(str(c) for c in capabilities),
        )

    def local(
        self, spec: Mapping[str, Any], path: str, common: dict[str, Any], location: Location | None
    ) -> Site | None:
        timezone = self.timezone(spec, path, required=True)
        if "calendar" not in spec:
            self.error(f"{path}.calendar", "a local site needs a calendar {days, hours}")
        calendar = self.calendar(spec.get("calendar"), f"{path}.calendar")
        labour = self.amount(spec, "labour_rate_per_hour", path, required=True)
        machines = self.machines(spec.get("machines"), f"{path}.machines")
        change = self.whole(spec, "material_change_minutes", path, 0)
        stock: dict[str, Decimal] = {}
        raw_stock = self.mapping(spec.get("stock"), f"{path}.stock")
        for part in raw_stock:
            value = self.amount(raw_stock, part, f"{path}.stock", required=True)
            if value is not None:
                stock[str(part)] = value
        lots = self.material_lots(spec.get("materials"), f"{path}.materials")
        if location is None or timezone is None or calendar is None or labour is None:
            return None
        return Site(
            **common,
            location=location,
            timezone=timezone,
            calendar=calendar,
            labour_rate_per_hour=labour,
            machines=machines,
            material_change_minutes=change,
            stock=stock,
            material_lots=lots,
        )

    def material_lots(self, raw: object, path: str) -> dict[str, str]:
        """`materials: {PLA-TEAL: {lot: L-2611}}` (our extension): the lot each material is now from.

        A lot recorded on an operation comes from here only when the report named none.
        """
        lots: dict[str, str] = {}
        for material, entry in self.mapping(raw, path).items():
            where = f"{path}.{material}"
            lot = self.mapping(entry, where).get("lot")
            if lot is None:
                continue
            if not isinstance(lot, str) or not lot.strip():
                self.error(f"{where}.lot", f"a lot must be non-empty text, not {lot!r}")
            else:
                lots[str(material)] = lot.strip()
        return lots

    def location(self, raw: object, path: str) -> Location | None:
        if raw is None:
            self.error(path, "a location {lat, lon, country} is required")
            return None
        spec = self.mapping(raw, path)
        lat, lon, country = spec.get("lat"), spec.get("lon"), spec.get("country", "")
        ok = True
        if not is_number(lat) or not -90 <= lat <= 90:
            self.error(f"{path}.lat", f"lat must be a number from -90 to 90, not {lat!r}")
            ok = False
        if not is_number(lon) or not -180 <= lon <= 180:
            self.error(f"{path}.lon", f"lon must be a number from -180 to 180, not {lon!r}")
            ok = False
        if not isinstance(country, str) or (country and not re.fullmatch(r"[A-Za-z]{2}", country)):
            self.error(f"{path}.country", f"country must be an ISO 3166-1 alpha-2 code, not {country!r}")
            ok = False
        if not ok or not is_number(lat) or not is_number(lon):
            return None
        return Location(float(lat), float(lon), str(country).upper())

    def timezone(self, spec: Mapping[str, Any], path: str, required: bool) -> str | None:
        name = self.text(spec, "timezone", path, required=required)
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(f"{path}.timezone", f"unknown time zone '{name}' (an IANA name such as Europe/Berlin)")
            return None
        return name

    def calendar(self, raw: object, path: str) -> Calendar | None:
        spec = self.mapping(raw, path)
        if not spec:
            return None
        days = spec.get("days")
        day_numbers: set[int] = set()
        if not isinstance(days, list) or not days:
            self.error(f"{path}.days", "days must be a non-empty list such as [mon, tue, wed]")
        else:
            for index, day in enumerate(days):
                name = str(day).casefold()[:3] if isinstance(day, str) else None
                if name not in WEEKDAYS:
                    self.error(f"{path}.days[{index}]", f"{day!r} is not a weekday (mon ... sun)")
                elif WEEKDAYS.index(name) in day_numbers:
                    self.error(f"{path}.days[{index}]", f"{day!r} is listed twice")
                else:
                    day_numbers.add(WEEKDAYS.index(name))
        hours = spec.get("hours")
        opening = closing = None
        if not isinstance(hours, list) or len(hours) != 2:
            self.error(f"{path}.hours", 'hours must be ["HH:MM", "HH:MM"], opening and closing')
        else:
            opening = self.hour(hours[0], f"{path}.hours[0]")
            closing = self.hour(hours[1], f"{path}.hours[1]")
            if opening is not None and closing is not None and opening >= closing:
                self.error(f"{path}.hours", f"opening {hours[0]} must be before closing {hours[1]}")
                opening = None
        closed = self.closed_dates(spec.get("closed", []), f"{path}.closed")
        if opening is None or closing is None or not day_numbers:
            return None
        return Calendar(frozenset(day_numbers), opening, closing, closed)

    def hour(self, raw: object, path: str) -> time | None:
        match = HOUR.match(raw) if isinstance(raw, str) else None
        if match is None:
            self.error(path, f"{raw!r} is not a time of day HH:MM")
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def closed_dates(self, raw: object, path: str) -> frozenset[date]:
        """An extension: `closed: [2026-12-24, ...]`, days the site does not work."""
        if not isinstance(raw, list):
            self.error(path, "closed must be a list of dates (YYYY-MM-DD)")
            return frozenset()
        found: set[date] = set()
        for index, item in enumerate(raw):
            try:
                found.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
            except ValueError:
                self.error(f"{path}[{index}]", f"{item!r} is not a date YYYY-MM-DD")
        return frozenset(found)

    def machines(self, raw: object, path: str) -> tuple[Machine, ...]:
        if not isinstance(raw, list) or not raw:
            self.error(path, "a local site needs a non-empty list of machines")
            return ()
        found = []
        for index, item in enumerate(raw):
            machine = self.machine(item, f"{path}[{index}]")
            if machine is not None:
                found.append(machine)
        return tuple(found)

    def machine(self, raw: object, path: str) -> Machine | None:
        spec = self.mapping(raw, path)
        mid = self.text(spec, "id", path)
        capability = self.text(spec, "capability", path)
        if mid is not None:
            first = self.machine_ids.setdefault(mid.casefold(), path)
            if first != path:
                self.error(f"{path}.id", f"machine id '{mid}' is already used at {first}")
        materials = spec.get("materials", [])
        if not isinstance(materials, list) or not all(isinstance(m, str) and m for m in materials):
            self.error(f"{path}.materials", "materials must be a list of material IDs")
            materials = []
        rate = self.amount(spec, "rate_per_hour", path, required=False)
        connector = self.connector(spec.get("connector"), f"{path}.connector")
        limits = self.limits(spec.get("limits"), f"{path}.limits")
        if mid is None or capability is None:
            return None
        return Machine(mid, capability, tuple(materials), rate, connector, limits)

    def limits(self, raw: object, path: str) -> dict[str, tuple[float, float]]:
        """`limits: {nozzle_temp: [180, 260]}`: the range each telemetry reading must stay in."""
        found: dict[str, tuple[float, float]] = {}
        for name, bounds in self.mapping(raw, path).items():
            place = f"{path}.{name}"
            if not isinstance(name, str) or not name:
                self.error(path, f"a limit needs a reading name, not {name!r}")
            elif not isinstance(bounds, list) or len(bounds) != 2 or not all(map(_finite, bounds)):
                self.error(place, f"a limit must be [min, max], two numbers, not {bounds!r}")
            elif bounds[0] > bounds[1]:
                self.error(place, f"min {bounds[0]} must not be above max {bounds[1]}")
            else:
                found[name] = (float(bounds[0]), float(bounds[1]))
        return found

    def connector(self, raw: object, path: str) -> Connector | None:
        """`connector: octoprint`, or `{kind, url}` as the example writes it."""
        if raw is None:
            return None
        spec: Mapping[str, Any] = {"kind": raw} if isinstance(raw, str) else self.mapping(raw, path)
        problems = CONNECTORS.problems(spec, path)
        if problems:
            self.problems.extend(problems)
            return None
        return Connector(str(spec["kind"]), spec.get("url"), spec.get("api_key_env"))
