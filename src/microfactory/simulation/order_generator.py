"""Realistic, seeded orders for the example keypad catalog: who buys what, where, engraved how.

Some of them are wrong on purpose, as real orders are: a name with letters the engraver cannot cut,
a key count the product does not come in. Those must end in *needs attention*, not be dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from microfactory.orders.model import Address, NewOrder, NewOrderLine

CITIES = (
    # name, country, lat, lon, share of demand
    ("Berlin", "DE", 52.52, 13.405, 0.26),
    ("Potsdam", "DE", 52.39, 13.065, 0.04),
    ("Leipzig", "DE", 51.34, 12.37, 0.04),
    ("Lyon", "FR", 45.764, 4.8357, 0.16),
    ("Grenoble", "FR", 45.188, 5.724, 0.04),
    ("Milano", "IT", 45.4642, 9.19, 0.18),
    ("Torino", "IT", 45.0703, 7.6869, 0.05),
    ("Bergamo", "IT", 45.698, 9.677, 0.03),
    ("Hamburg", "DE", 53.5511, 9.9937, 0.06),
    ("Madrid", "ES", 40.4168, -3.7038, 0.05),
    ("Wien", "AT", 48.2082, 16.3738, 0.05),
    ("København", "DK", 55.6761, 12.5683, 0.04),
)
FIRST_NAMES = (
    "Mira",
    "Jonas",
    "Lea",
    "Luca",
    "Chiara",
    "Camille",
    "Hugo",
    "Ana",
    "Piotr",
    "Sofia",
    "Ines",
    "Tom",
)
LAST_NAMES = (
    "Kowalski",
    "Schmidt",
    "Rossi",
    "Martin",
    "Bianchi",
    "Dubois",
    "Nowak",
    "Weber",
    "Costa",
    "Lind",
)
STREETS = ("Hauptstraße", "Via Roma", "Rue Mercière", "Calle Mayor")
ENGRAVINGS = (
    "Mira's Deck",
    "STUDIO 4",
    "Ctrl Room",
    "J. Weber",
    "Lab-7",
    "OBS Deck",
    "Hugo",
    "Team Alpha",
    "Zoë's Keys",
    "Łukasz",
    "Café Deck",  # letters outside the engraver's pattern: needs attention
)


@dataclass(frozen=True)
class Mix:
    """Shares of the demand; the defaults follow a small keypad brand's first months."""

    repair_share: float = 0.15
    engraving_share: float = 0.4
    wrong_option_share: float = 0.02


def generate_orders(count: int, seed: int, channel: str = "demo", mix: Mix | None = None) -> list[NewOrder]:
    """`count` orders, the same for the same seed."""
    mix = mix or Mix()
    rng = random.Random(seed)
    return [_order(rng, index, seed, channel, mix) for index in range(count)]


def _order(rng: random.Random, index: int, seed: int, channel: str, mix: Mix) -> NewOrder:
    city, country, lat, lon, _ = rng.choices(CITIES, weights=[c[4] for c in CITIES])[0]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    address = Address(
        name=f"{first} {last}",
        line1=f"{rng.choice(STREETS)} {rng.randint(1, 200)}",
        city=city,
        postcode=f"{rng.randint(10000, 99999)}",
        country=country,
        latitude=round(lat + rng.uniform(-0.08, 0.08), 5),
        longitude=round(lon + rng.uniform(-0.08, 0.08), 5),
    )
    lines = [_line(rng, mix) for _ in range(rng.choices((1, 2, 3), weights=(0.8, 0.16, 0.04))[0])]
    return NewOrder(
        channel=channel,
        external_id=f"{channel}-{seed}-{index:05d}",
        ship_to=address,
        lines=tuple(lines),
        name=f"#{1000 + index}",
        email=f"{first.lower()}.{last.lower()}@example.com",
        currency="EUR",
    )


def _line(rng: random.Random, mix: Mix) -> NewOrderLine:
    color = rng.choices(("black", "red", "teal", "white"), weights=(0.45, 0.15, 0.2, 0.2))[0]
    if rng.random() < mix.repair_share:
        return NewOrderLine(qty=rng.choice((1, 1, 2, 4)), product="KEY-MODULE-R", options={"color": color})
    options: dict[str, object] = {
        "keys": rng.choices((4, 8, 12), weights=(0.35, 0.45, 0.2))[0],
        "color": color,
        "firmware": rng.choices(("standard", "gaming", "studio"), weights=(0.6, 0.25, 0.15))[0],
    }
    if rng.random() < mix.engraving_share:
        options["engraving"] = rng.choice(ENGRAVINGS)
    if rng.random() < mix.wrong_option_share:
        options["keys"] = rng.choice((6, 16, 100))
    return NewOrderLine(qty=rng.choices((1, 2), weights=(0.9, 0.1))[0], product="KP", options=options)
