"""Small networks and work orders for the routing tests: sites that differ in one thing only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from microfactory.catalog.bridge import translate
from microfactory.catalog.load import load_catalog
from microfactory.catalog.model import Catalog
from microfactory.network.document import build_network
from microfactory.network.geo import GeoPoint
from microfactory.network.model import Network
from microfactory.network.routing import Demand

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BERLIN = GeoPoint(52.52, 13.405)
COLOURS = ["PLA-BLACK", "PLA-RED", "PLA-TEAL", "PLA-WHITE"]


def site(
    lat: float,
    lon: float,
    *,
    laser: bool = True,
    materials: list[str] | None = None,
    stock: dict[str, int] | None = None,
    labour: float = 30.0,
) -> dict[str, Any]:
    """A site with one of everything; what a test changes is what it is about."""
    machines: list[dict[str, Any]] = [
        {"id": "fdm-1", "capability": "fdm_print", "materials": materials or COLOURS, "rate_per_hour": 2},
        {"id": "flash-1", "capability": "firmware_flash"},
        {"id": "bench-1", "capability": "assembly"},
        {"id": "cam-1", "capability": "inspection"},
        {"id": "pack-1", "capability": "packing"},
    ]
    if laser:
        machines.append({"id": "laser-1", "capability": "laser_engrave", "rate_per_hour": 6})
    return {
        "location": {"lat": lat, "lon": lon, "country": "DE"},
        "timezone": "Europe/Berlin",
        "calendar": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": ["08:00", "18:00"]},
        "labour_rate_per_hour": labour,
        "machines": machines,
        "material_change_minutes": 10,
        "stock": stock or {"NAMEPLATE": 100, "PCB-MAIN": 100, "SWITCH": 2000, "SCREW-M2": 2000},
        "fulfilment_partner": "van",
    }


def network_of(**sites: dict[str, Any]) -> Network:
    """A network of the given local sites and a central factory in Shenzhen.

    Machine ids get their site's id in front (`near-laser-1`), as ids are unique in a network.
    """
    for sid, spec in sites.items():
        spec["machines"] = [{**m, "id": f"{sid}-{m['id']}"} for m in spec["machines"]]
    document = {
        "network": "test",
        "sites": {
            **sites,
            "central": {
                "kind": "central",
                "location": {"lat": 22.5431, "lon": 114.0579, "country": "CN"},
                "lead_time_days": 42,
                "unit_overhead": 1.8,
                "capabilities": [
                    "fdm_print",
                    "laser_engrave",
                    "firmware_flash",
                    "assembly",
                    "inspection",
                    "packing",
                ],
                "fulfilment_partner": "air",
            },
        },
        "fulfilment_partners": {
            "van": {"kind": "parcel_network", "mode": "van"},
            "air": {"kind": "parcel_network", "mode": "air"},
        },
    }
    return build_network(document)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(EXAMPLES / "catalog-keypad.yaml")


DemandFactory = Callable[..., Demand]


@pytest.fixture(scope="session")
def keypad_demand(catalog: Catalog) -> DemandFactory:
    """`keypad_demand(engraving="Hi", color="teal", to=BERLIN)`: a one-unit keypad work order."""
    counter = iter(range(1_000_000))

    def make(to: GeoPoint | None = BERLIN, qty: int = 1, **options: Any) -> Demand:
        translation = translate(catalog, "KP", {"keys": 4, **options}, qty)
        return Demand.from_translation(translation, f"wo-{next(counter)}", to)

    return make


@pytest.fixture(scope="session")
def make_site() -> Callable[..., dict[str, Any]]:
    return site


@pytest.fixture(scope="session")
def make_network() -> Callable[..., Network]:
    return network_of
