"""Notes on where an order ships: said at intake, kept on the order, never blocking it. Pure.

Routing places a destination by its coordinates, else its city, else its country's capital
(`network.geo.locate`). The capital is a rough guess (Lyon placed at Paris is 390 km off), so an
order whose city is not in the offline city list gets a warning that says so: the order still
routes, but the operator sees that its distances and promises rest on an estimate, and why.
"""

from __future__ import annotations

from typing import Any

from microfactory.network.geo import locate
from microfactory.orders.model import Address

NOTES_KEY = "notes"  # where intake keeps them in the order's attributes
WARNING = "warning"


def ship_to_notes(address: Address) -> list[dict[str, Any]]:
    """Warnings about `address` as JSON (`path`, `message`, `severity`); none when it is located well.

    Nothing is said of an order with no address at all: there is nothing to place, and no guess.
    """
    if not (address.city or address.country) or (
        address.latitude is not None and address.longitude is not None
    ):
        return []
    point = locate(None, None, address.city, address.country, address.postcode)
    if point is None:
        message = f"country {address.country!r} could not be placed: routing has no distance for this order"
        return [_warning("ship_to.country", message)]
    if point.precision != "country":
        return []
    if not address.city:
        message = f"no city: placed at the {point.source}, distances are approximate"
        return [_warning("ship_to.city", message)]
    message = f"city {address.city!r} is unknown: placed at the {point.source}, distances are approximate"
    return [_warning("ship_to.city", message)]


def _warning(path: str, message: str) -> dict[str, Any]:
    return {"path": path, "message": message, "severity": WARNING}
