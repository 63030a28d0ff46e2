"""Distances and offline geocoding: coordinates when the store has them, else city, else country."""

from __future__ import annotations

import pytest

from microfactory.network.geo import country_point, find_city, haversine_km, locate


def test_great_circle_distance() -> None:
    assert haversine_km(52.52, 13.405, 48.8566, 2.3522) == pytest.approx(878, abs=3)
    assert haversine_km(10, 10, 10, 10) == 0


def test_an_address_with_coordinates_is_exact() -> None:
    point = locate(45.76, 4.83, city="Somewhere")
    assert point is not None
    assert (point.lat, point.lon, point.approximate) == (45.76, 4.83, False)


@pytest.mark.parametrize(
    ("city", "country", "lat", "lon"),
    [
        ("Milano", "IT", 45.46, 9.19),
        ("København", "DK", 55.68, 12.57),
        ("wien", "at", 48.21, 16.37),
        ("Lyon", "FR", 45.75, 4.85),
    ],
)
def test_a_city_is_found_offline_by_its_name_or_an_alternate_name(
    city: str, country: str, lat: float, lon: float
) -> None:
    point = locate(None, None, city=city, country=country, postcode="12345")
    assert point is not None
    assert point.approximate
    assert point.precision == "city"
    assert haversine_km(point.lat, point.lon, lat, lon) < 10


def test_the_country_decides_between_cities_of_the_same_name() -> None:
    texas = find_city("Paris", "US")
    assert texas is not None
    assert haversine_km(texas.lat, texas.lon, 48.86, 2.35) > 5000


def test_an_unknown_city_falls_back_to_the_country_capital() -> None:
    point = locate(None, None, city="Kleinkleckersdorf", country="DE")
    assert point is not None
    assert point.precision == "country"
    assert "Berlin" in point.source
    assert country_point("FR") is not None


def test_nothing_known_is_nowhere() -> None:
    assert locate(None, None) is None
    assert locate(None, None, city="Atlantis", country="XX") is None
