"""The pure rules of logistics: which rate a policy buys, how tracking moves a parcel, parcel sizes, the breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from microfactory.logistics.carriers import Rate, TrackingState
from microfactory.logistics.model import (
    BreakerPolicy,
    PartMass,
    ShipmentStatus,
    choose_rate,
    is_paused,
    line_mass_g,
    opens_after_failure,
    parcel_for,
    tracking_move,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SLOW_CHEAP = Rate("r1", "c", "economy", Decimal("4.20"), "EUR", 4, Decimal("0.100"))
FAST_DEAR = Rate("r2", "c", "express", Decimal("12.00"), "EUR", 1, Decimal("0.900"))
BIKE = Rate("r3", "c", "cargo bike", Decimal("7.50"), "EUR", 2, Decimal("0.001"))
RATES = [SLOW_CHEAP, FAST_DEAR, BIKE]


def test_each_policy_picks_its_rate() -> None:
    assert choose_rate(RATES, "cheapest", NOW) == SLOW_CHEAP
    assert choose_rate(RATES, "fastest", NOW) == FAST_DEAR
    assert choose_rate(RATES, "lowest_emissions", NOW) == BIKE
    assert choose_rate([], "cheapest", NOW) is None


def test_only_rates_arriving_by_the_promise_count_when_any_do() -> None:
    assert choose_rate(RATES, "cheapest", NOW, NOW + timedelta(days=2, hours=3)) == BIKE
    assert choose_rate(RATES, "cheapest", NOW, NOW + timedelta(hours=3)) == SLOW_CHEAP  # none does: all count


def test_a_rate_without_emissions_is_the_last_choice_of_the_greenest_policy() -> None:
    unknown = Rate("r4", "c", "van", Decimal("1.00"), "EUR", 1, None)
    assert choose_rate([unknown, SLOW_CHEAP], "lowest_emissions", NOW) == SLOW_CHEAP


def test_tracking_moves_forward_and_final_states_stay() -> None:
    assert tracking_move("shipped", TrackingState.IN_TRANSIT) == ShipmentStatus.IN_TRANSIT
    assert tracking_move("failure", TrackingState.DELIVERED) == ShipmentStatus.DELIVERED
    assert tracking_move("delivered", TrackingState.IN_TRANSIT) is None
    assert tracking_move("out_for_delivery", TrackingState.IN_TRANSIT) is None
    assert tracking_move("shipped", TrackingState.PRE_TRANSIT) is None


def test_mass_from_the_catalog_with_defaults_and_stacked_units() -> None:
    grams = line_mass_g(
        [
            PartMass("make", Decimal(2), Decimal(40)),
            PartMass("make", Decimal(1)),
            PartMass("buy", Decimal(4)),
            PartMass("assembly", Decimal(1)),
        ]
    )
    assert grams == Decimal(80 + 60 + 60)
    parcel = parcel_for([grams, Decimal(100)], units=3)
    assert parcel.mass_kg == Decimal("0.450") and parcel.height_cm == Decimal(17)


def test_the_breaker_opens_after_n_failures_and_at_once_after_a_failed_probe() -> None:
    policy = BreakerPolicy(failures_to_open=3)
    assert not opens_after_failure("closed", 2, policy) and opens_after_failure("closed", 3, policy)
    assert opens_after_failure("half_open", 1, policy)
    assert is_paused("open", NOW + timedelta(minutes=1), NOW) and not is_paused("open", NOW, NOW)
    assert not is_paused("closed", None, NOW)
