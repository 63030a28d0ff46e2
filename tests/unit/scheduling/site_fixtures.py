"""A small site and hand-made work orders, independent of the example files."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from microfactory.catalog.work_order import Operation, Translation
from microfactory.network.model import Calendar, Location, Machine, Site
from microfactory.scheduling.site_plan import WorkOrderInput

MONDAY_7_UTC = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Berlin


def site(material_change: int = 20) -> Site:
    return Site(
        id="ber",
        name="Berlin",
        location=Location(52.5, 13.4, "DE"),
        timezone="Europe/Berlin",
        calendar=Calendar(frozenset(range(5)), time(8, 0), time(18, 0)),
        fulfilment_partner="bike",
        machines=(
            Machine("fdm-1", "fdm_print", ("PLA-BLACK", "PLA-RED")),
            Machine("fdm-2", "fdm_print", ("PLA-RED", "PLA-TEAL", "PLA-BLACK")),
            Machine("bench-1", "assembly"),
            Machine("pack-1", "packing"),
        ),
        material_change_minutes=material_change,
    )


def translation(colour: str, key: str, qty: int = 1) -> Translation:
    material = f"PLA-{colour.upper()}"
    ops = (
        Operation("make:TOP", "make", "fdm_print", Decimal(qty), 30.0 * qty, {}, (), "TOP", "r", material),
        Operation(
            "make:CAP", "make", "fdm_print", Decimal(4 * qty), 20.0 * qty, {}, (), "CAP", "r", material
        ),
        Operation(
            "KP:assemble",
            "assemble",
            "assembly",
            Decimal(qty),
            10.0 * qty,
            {},
            ("make:TOP", "make:CAP"),
            "KP",
            "r",
        ),
        Operation("KP:pack", "pack", "packing", Decimal(qty), 3.0, {}, ("KP:assemble",), "KP", "r"),
    )
    return Translation("kp", 1, "KP", {"color": colour}, qty, key, (), ops)


def orders(count: int, start: datetime = MONDAY_7_UTC) -> list[WorkOrderInput]:
    colours = ("black", "red", "teal")
    result = []
    for n in range(count):
        colour = colours[n % 3]
        release = start + timedelta(minutes=10 * n)
        result.append(
            WorkOrderInput(
                f"WO{n}", translation(colour, f"KP-{colour}"), release, release + timedelta(days=2)
            )
        )
    return result
