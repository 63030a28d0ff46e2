"""Sample work orders for a site, for the CLI and benchmarks when no live orders are at hand.

The mix follows the demo's order generator in spirit (mostly keypads, some repair modules, a few
engraved, now and then a pilot batch), so that a plan of sample orders looks like a plan of real ones.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from microfactory.catalog.bridge import translate
from microfactory.catalog.model import Catalog
from microfactory.network.model import Site
from microfactory.scheduling.site_plan import WorkOrderInput

COLOURS = ("black", "red", "teal", "white")


def sample_work_orders(
    catalog: Catalog, count: int, seed: int, now: datetime, site: Site | None = None
) -> list[WorkOrderInput]:
    """`count` work orders released over the next day, promised two to four days after release.

    With a site, only what it can make: colours it has filament for, engraving only with a laser.
    """
    rng = random.Random(seed)
    colours: tuple[str, ...] = COLOURS
    engraving = True
    if site is not None:
        loaded = {material.upper() for machine in site.machines for material in machine.materials}
        colours = tuple(c for c in COLOURS if f"PLA-{c.upper()}" in loaded) or COLOURS
        engraving = "laser_engrave" in site.all_capabilities()
    orders: list[WorkOrderInput] = []
    products = set(catalog.products)
    for n in range(count):
        colour = rng.choice(colours)
        if "KEY-MODULE-R" in products and rng.random() < 0.15:
            translation = translate(catalog, "KEY-MODULE-R", {"color": colour}, rng.choice((1, 2, 4)))
        else:
            options: dict[str, object] = {
                "keys": rng.choice((4, 8, 12)),
                "color": colour,
                "firmware": rng.choice(("standard", "gaming", "studio")),
            }
            if engraving and rng.random() < 0.3:
                options["engraving"] = rng.choice(("ANNA", "LEO", "MAKER", "HI"))
            qty = 20 if rng.random() < 0.03 else 1  # now and then a pilot batch
            translation = translate(catalog, "KP", options, qty)
        release = now + timedelta(minutes=rng.randint(0, 24 * 60))
        due = release + timedelta(days=rng.randint(2, 4))
        orders.append(
            WorkOrderInput(f"WO-{seed}-{n + 1:04d}", translation, release, due, rng.choice((1, 1, 1, 3)))
        )
    return orders
