"""Routing at scale: 10,000 work orders over a generated network of 50 sites and 500 machines.

Work orders come from the example keypad catalog (every configuration translated once, as intake
does), customers are spread over Europe, stock is finite so that sites run out as the run goes on.
The figure is the pure router's: choosing, explaining and reserving, without the database. Each
work order's ship estimate lays it behind the queue on the machines of every site that can make
it (network/site_queue.py), so the queues grow as the run assigns work, as they do in production.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from benchmarks.result import Result
from microfactory.catalog.bridge import translate
from microfactory.catalog.load import load_catalog
from microfactory.network.geo import GeoPoint
from microfactory.network.model import (
    Calendar,
    FulfilmentPartner,
    Location,
    Machine,
    Network,
    Site,
)
from microfactory.network.routing import Demand, Router

WORK_ORDERS = 10_000
SITES = 50
MACHINES_PER_SITE = 10
TARGET_SECONDS = 5.0
CATALOG = Path(__file__).resolve().parents[1] / "examples" / "catalog-keypad.yaml"
COLOURS = ("black", "red", "teal", "white")
CAPABILITIES = ("laser_engrave", "firmware_flash", "assembly", "inspection", "packing")


def generated_network(rng: random.Random) -> Network:
    """50 sites across Europe, 10 machines each (4 printers with two or three colours loaded)."""
    calendar = Calendar(frozenset(range(5)), *_hours())
    partner = FulfilmentPartner("van", "parcel_network", "van")
    sites: dict[str, Site] = {}
    for number in range(SITES):
        sid = f"site-{number:02d}"
        machines = [
            Machine(
                f"{sid}-fdm-{k}",
                "fdm_print",
                tuple(f"PLA-{c.upper()}" for c in rng.sample(COLOURS, rng.choice((2, 3)))),
                Decimal("2.2"),
            )
            for k in range(4)
        ]
        capabilities = list(CAPABILITIES)
        if rng.random() < 0.2:
            capabilities.remove("laser_engrave")  # some sites have no laser
        capabilities += ["assembly"] * (MACHINES_PER_SITE - 4 - len(capabilities))
        machines += [Machine(f"{sid}-{cap}-{k}", cap) for k, cap in enumerate(capabilities)]
        sites[sid] = Site(
            id=sid,
            name=sid,
            location=Location(rng.uniform(38, 58), rng.uniform(-8, 24), "EU"),
            timezone="Europe/Berlin",
            calendar=calendar,
            fulfilment_partner="van",
            labour_rate_per_hour=Decimal(rng.randint(28, 42)),
            machines=tuple(machines),
            material_change_minutes=12,
            stock={
                "NAMEPLATE": Decimal(rng.randint(0, 150)),
                "PCB-MAIN": Decimal(rng.randint(300, 700)),
                "SWITCH": Decimal(5000),
                "SCREW-M2": Decimal(5000),
            },
        )
    sites["central"] = Site(
        id="central",
        name="central",
        location=Location(22.54, 114.06, "CN"),
        timezone="Asia/Shanghai",
        calendar=calendar,
        fulfilment_partner="van",
        kind="central",
        lead_time_days=42,
        unit_overhead=Decimal("1.8"),
        capabilities=frozenset({"fdm_print", *CAPABILITIES}),
    )
    return Network("bench", sites, {"van": partner})


def _hours() -> tuple[object, object]:
    from datetime import time as clock

    return clock(8, 0), clock(18, 0)


def demands(rng: random.Random) -> list[Demand]:
    catalog = load_catalog(CATALOG)
    translations = {}
    for keys in (4, 8, 12):
        for colour in COLOURS:
            for engraving in ("", "Studio"):
                options = {"keys": keys, "color": colour, "engraving": engraving}
                translations[(keys, colour, engraving)] = translate(catalog, "KP", options, 1)
    keys_list = list(translations)
    found = []
    for number in range(WORK_ORDERS):
        translation = translations[rng.choice(keys_list)]
        point = GeoPoint(rng.uniform(38, 58), rng.uniform(-8, 24))
        found.append(Demand.from_translation(translation, f"wo-{number}", point))
    return found


def run() -> list[Result]:
    rng = random.Random(4)
    network = generated_network(rng)
    work = demands(rng)
    router = Router(network)
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    started = time.perf_counter()
    central = 0
    for demand in work:
        decision = router.route(demand, now)
        router.assign(decision)
        central += decision.central
    seconds = time.perf_counter() - started
    machines = sum(len(site.machines) for site in network.local_sites)
    per_order = seconds / len(work) * 1e6
    print(
        f"  routed {len(work):,} work orders over {len(network.local_sites)} sites and {machines} machines "
        f"in {seconds:.2f} s: {per_order:.0f} µs per order, {central} to the central factory"
    )
    return [
        Result(
            "routing",
            "10k work orders, 50 sites, 500 machines",
            seconds,
            "s",
            "< 5 s",
            seconds < TARGET_SECONDS,
        ),
        Result("routing", "time per work order", per_order, "µs"),
        Result("routing", "central fallbacks", central, "work orders"),
    ]
