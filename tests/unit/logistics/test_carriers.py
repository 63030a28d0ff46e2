"""Carriers: simulated rates from distance and mass, idempotent labels, tracking by clock; manual booking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from microfactory.errors import Conflict, NotFound
from microfactory.logistics.carriers import Carrier, Parcel, Place, TrackingState
from microfactory.logistics.carriers.manual import ManualCarrier
from microfactory.logistics.carriers.simulated import SimulatedCarrier

T0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
BERLIN = Place("DE", "Berlin", lat=52.4986, lon=13.4035)
POTSDAM = Place("DE", "Potsdam", lat=52.3906, lon=13.0645)
MUNICH = Place("DE", "München", lat=48.1372, lon=11.5756)


def test_simulated_rates_are_deterministic_and_grow_with_distance_and_mass() -> None:
    carrier: Carrier = SimulatedCarrier(lambda: T0)
    light = Parcel(Decimal("0.4"))
    near = carrier.rates(light, BERLIN, POTSDAM)
    assert near == SimulatedCarrier(lambda: T0).rates(light, BERLIN, POTSDAM)
    assert [rate.service for rate in near] == ["economy", "express"]
    far = carrier.rates(light, BERLIN, MUNICH)
    heavy = carrier.rates(Parcel(Decimal("4")), BERLIN, POTSDAM)
    assert all(isinstance(rate.amount, Decimal) and rate.amount.as_tuple().exponent == -2 for rate in far)
    assert far[0].amount > near[0].amount and heavy[0].amount > near[0].amount
    assert far[0].days > near[0].days == 1
    assert far[0].emissions_kg is not None and near[0].emissions_kg is not None
    assert far[0].emissions_kg > near[0].emissions_kg


def test_a_simulated_label_is_bought_once_per_key_and_tracked_by_the_clock() -> None:
    now = [T0]
    carrier = SimulatedCarrier(lambda: now[0])
    economy = carrier.rates(Parcel(Decimal(1)), BERLIN, MUNICH)[0]
    label = carrier.buy(economy, "shp_1")
    assert carrier.buy(economy, "shp_1") == label  # a retried purchase buys nothing more
    assert carrier.buy(economy, "shp_2").tracking_number != label.tracking_number
    number = label.tracking_number
    assert number is not None
    assert carrier.track(number).state is TrackingState.PRE_TRANSIT
    now[0] = T0 + timedelta(hours=12)
    assert carrier.track(number).state is TrackingState.IN_TRANSIT
    with pytest.raises(Conflict, match="only an unused label"):
        carrier.cancel(label)
    now[0] = T0 + timedelta(days=economy.days)
    assert carrier.track(number).state is TrackingState.DELIVERED
    with pytest.raises(NotFound):
        carrier.track("NOPE")


def test_a_manual_booking_waits_for_the_label_a_person_enters() -> None:
    carrier = ManualCarrier("lyo-courier", Decimal("6.50"), days=1)
    (rate,) = carrier.rates(Parcel(Decimal(1)), BERLIN, POTSDAM)
    assert (rate.amount, rate.service) == (Decimal("6.50"), "booked by hand")
    booked = carrier.buy(rate, "shp_9")
    assert booked.tracking_number is None and carrier.buy(rate, "shp_9") == booked
    entered = carrier.enter_label(booked.label_id, "CB-4711", T0)
    assert carrier.buy(rate, "shp_9") == entered
    assert carrier.track("CB-4711").state is TrackingState.PRE_TRANSIT
    carrier.record_status("CB-4711", TrackingState.DELIVERED, T0 + timedelta(hours=3), "left with neighbour")
    assert carrier.track("CB-4711").message == "left with neighbour"
    with pytest.raises(Conflict):
        carrier.cancel(entered)
    with pytest.raises(Conflict, match="already has tracking number"):
        carrier.enter_label(booked.label_id, "CB-9999", T0)
