"""Logistics' pure core: a shipment's states, which rate a policy buys, parcel sizes, the circuit breaker.

No database, no HTTP. `packing`, `handoff` and `tracking` apply these rules to storage.

```
packed ──label──> label_bought ──pickup, store told──> shipped ──> in_transit ──> out_for_delivery
                                                          │             │               │
                                                          └─────────────┴──> delivered | failure | returned
```
A `failure` (a carrier exception: address not found, delivery attempt failed) may still move on to
delivered or returned; delivered, returned and cancelled are final. Tracking news that does not fit
(in transit after delivered: carriers send out of order) is kept as an event and moves nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal
from enum import StrEnum

from microfactory.logistics.carriers import Parcel, Rate, TrackingState


class ShipmentStatus(StrEnum):
    PACKED = "packed"  # lines packed at the site; the handoff message is queued
    LABEL_BOUGHT = "label_bought"  # the carrier sold the label; pickup and the store still to do
    SHIPPED = "shipped"  # label kept, pickup booked, lines shipped, the store told
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILURE = "failure"  # the carrier reports an exception
    RETURNED = "returned"
    CANCELLED = "cancelled"


S = ShipmentStatus
BEFORE_HANDOFF = frozenset({S.PACKED, S.LABEL_BOUGHT})
FINAL = frozenset({S.DELIVERED, S.RETURNED, S.CANCELLED})
TRACKED = frozenset({S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.FAILURE})  # polled until final
TRACKING_MOVES: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.SHIPPED: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILURE, S.RETURNED, S.CANCELLED}),
    S.IN_TRANSIT: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILURE, S.RETURNED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.FAILURE, S.RETURNED}),
    S.FAILURE: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNED}),
}
STATUS_OF_STATE: dict[TrackingState, ShipmentStatus] = {
    TrackingState.IN_TRANSIT: S.IN_TRANSIT,
    TrackingState.OUT_FOR_DELIVERY: S.OUT_FOR_DELIVERY,
    TrackingState.DELIVERED: S.DELIVERED,
    TrackingState.FAILURE: S.FAILURE,
    TrackingState.RETURNED: S.RETURNED,
    TrackingState.CANCELLED: S.CANCELLED,
}


def tracking_move(current: str, state: TrackingState) -> ShipmentStatus | None:
    """The status a tracking state moves a shipment to, or None when it moves nothing."""
    target = STATUS_OF_STATE.get(state)
    allowed = TRACKING_MOVES.get(ShipmentStatus(current), frozenset())
    return target if target in allowed else None


class Policy(StrEnum):
    """How a site's partner picks among rates (`policy` of the partner in the network file)."""

    CHEAPEST = "cheapest"
    FASTEST = "fastest"
    LOWEST_EMISSIONS = "lowest_emissions"


def choose_rate(
    rates: Sequence[Rate], policy: Policy | str, now: datetime, deliver_by: datetime | None = None
) -> Rate | None:
    """The rate the policy buys: among those arriving by `deliver_by` when any do, else among all.

    A rate arrives in time by the carrier's own `arrives_by` when it gives one, else by its `days`.

    Ties fall to the next criterion (price, then days), then the rate id, so a choice never flickers.
    A rate without emissions counts as the worst for `lowest_emissions`.
    """
    if not rates:
        return None
    candidates = list(rates)
    if deliver_by is not None:
        days_left = (deliver_by - now) / timedelta(days=1)
        in_time = [
            rate
            for rate in rates
            if (rate.arrives_by <= deliver_by if rate.arrives_by is not None else rate.days <= days_left)
        ]
        candidates = in_time or candidates
    unknown = Decimal(math.inf)

    def key(rate: Rate) -> tuple[object, ...]:
        emissions = rate.emissions_kg if rate.emissions_kg is not None else unknown
        if Policy(policy) is Policy.FASTEST:
            return (rate.days, rate.amount, rate.rate_id)
        if Policy(policy) is Policy.LOWEST_EMISSIONS:
            return (emissions, rate.amount, rate.days, rate.rate_id)
        return (rate.amount, rate.days, rate.rate_id)

    return min(candidates, key=key)


# Parcel sizes: the catalog gives made parts a `mass_g`; what it leaves out takes these defaults.
DEFAULT_MADE_PART_G = Decimal(60)  # a printed part without mass_g
DEFAULT_BOUGHT_PART_G = Decimal(15)  # a bought part (a switch, a screw, a PCB): the catalog has no mass
PACKAGING_G = Decimal(150)  # box and filling, once per parcel
UNIT_BOX_CM = (Decimal(20), Decimal(15), Decimal(5))  # one unit's footprint and height; units stack
PADDING_CM = Decimal(2)


@dataclass(frozen=True, slots=True)
class PartMass:
    """One BOM line of a packed order line: the part's kind, how many, and its mass if the catalog has it."""

    kind: str  # make | buy | assembly
    qty: Decimal
    mass_g: Decimal | None = None


def line_mass_g(parts: Iterable[PartMass]) -> Decimal:
    """A packed line's mass: its made and bought parts (sub-assemblies weigh what their parts weigh)."""
    total = Decimal(0)
    for part in parts:
        if part.kind == "make":
            total += part.qty * (part.mass_g if part.mass_g is not None else DEFAULT_MADE_PART_G)
        elif part.kind == "buy":
            total += part.qty * (part.mass_g if part.mass_g is not None else DEFAULT_BOUGHT_PART_G)
    return total


def parcel_for(masses_g: Iterable[Decimal], units: int) -> Parcel:
    """The parcel of packed lines: their mass plus packaging, units stacked in one box."""
    mass_kg = ((sum(masses_g, Decimal(0)) + PACKAGING_G) / 1000).quantize(Decimal("0.001"), ROUND_UP)
    length, width, height = UNIT_BOX_CM
    return Parcel(
        mass_kg=mass_kg,
        length_cm=length + PADDING_CM,
        width_cm=width + PADDING_CM,
        height_cm=height * max(units, 1) + PADDING_CM,
    )


class BreakerState(StrEnum):
    CLOSED = "closed"  # calls go through; failures are counted
    OPEN = "open"  # paused until `retry_at`: no calls, handoffs wait or go to the fallback partner
    HALF_OPEN = "half_open"  # one probe call is under way


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """N consecutive failures pause a partner for a cool-down; then one probe decides."""

    failures_to_open: int = 3
    cooldown: timedelta = timedelta(minutes=5)


def is_paused(state: str, retry_at: datetime | None, now: datetime) -> bool:
    """No call may go to the partner now (open or probing, and the cool-down not over)."""
    if state == BreakerState.CLOSED:
        return False
    return retry_at is None or retry_at > now


def opens_after_failure(state: str, failures: int, policy: BreakerPolicy) -> bool:
    """A failed probe opens the breaker again at once; a closed one after N failures in a row."""
    return state == BreakerState.HALF_OPEN or failures >= policy.failures_to_open
