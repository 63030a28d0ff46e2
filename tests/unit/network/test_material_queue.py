"""Material-aware finish estimates: work in a material waits for the machines loaded with it.

At the example site berlin three printers print, but PLA-TEAL is loaded on ber-fdm-2 only while
PLA-BLACK is on ber-fdm-1 and ber-fdm-2: teal work queues on one printer, black on two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from microfactory.network.demand import merge
from microfactory.network.load import load_network
from microfactory.network.model import Network
from microfactory.network.promise import Promise, promise
from microfactory.network.routing import Router

from .conftest import SHARED
from .test_routing import NOW


@pytest.fixture(scope="module")
def example() -> Network:
    return load_network(SHARED / "examples" / "network.yaml")


def _promises_at_berlin(network: Network, demands: list[Any], now: datetime) -> tuple[Router, list[Promise]]:
    """Route the demands one by one with berlin the only local choice; their promises in order."""
    router = Router(network)
    others = {sid: "test: berlin only" for sid, site in network.sites.items() if sid != "berlin"}
    berlin = network.sites["berlin"]
    promises = []
    for demand in demands:
        decision = router.route(demand, now, excluded={k: v for k, v in others.items() if k != "central"})
        assert decision.site == "berlin"
        winner = decision.winner
        assert winner is not None
        router.assign(decision)
        promises.append(
            promise(berlin, network.partner_of(berlin), now, winner.work_minutes, winner.distance_km)
        )
    return router, promises


def test_teal_at_berlin_is_promised_later_than_black(example: Network, keypad_demand: Any) -> None:
    teal_router, teal = _promises_at_berlin(example, [keypad_demand(color="teal") for _ in range(6)], NOW)
    black_router, black = _promises_at_berlin(example, [keypad_demand(color="black") for _ in range(6)], NOW)
    # equal loads otherwise: the same minutes queued per capability at the end
    assert teal_router.states["berlin"].queued == pytest.approx(black_router.states["berlin"].queued)
    # teal prints on one printer, black on two: every teal promise is later, more so as they queue
    assert all(t.ship_at > b.ship_at for t, b in zip(teal, black, strict=True))
    assert teal[-1].ship_at - black[-1].ship_at > teal[0].ship_at - black[0].ship_at
    print_minutes = keypad_demand(color="teal").minutes["fdm_print"]
    assert teal[-1].work_minutes - black[-1].work_minutes >= 2 * print_minutes  # 6 vs 3 prints deep


def test_the_queue_by_material_follows_assign_and_unassign(example: Network, keypad_demand: Any) -> None:
    router = Router(example)
    demand = keypad_demand(color="teal")
    decision = router.route(demand, NOW)
    assert decision.site == "berlin"
    router.assign(decision)
    queued = router.states["berlin"].queued_materials
    assert queued == pytest.approx({("fdm_print", "PLA-TEAL"): demand.minutes["fdm_print"]})
    router.unassign("berlin", demand)
    assert queued == {("fdm_print", "PLA-TEAL"): 0.0}


def test_work_minutes_waits_for_the_machines_loaded_with_the_material(
    example: Network, keypad_demand: Any
) -> None:
    router = Router(example)
    demand = keypad_demand(color="teal")
    queued = {"fdm_print": 600.0}
    plain = router.work_minutes("berlin", demand, queued)
    teal_queue = router.work_minutes("berlin", demand, queued, {("fdm_print", "PLA-TEAL"): 600.0})
    black_queue = router.work_minutes("berlin", demand, queued, {("fdm_print", "PLA-BLACK"): 600.0})
    setup = example.sites["berlin"].material_change_minutes
    assert teal_queue == pytest.approx(setup + 600.0 + demand.minutes["fdm_print"])  # one printer
    assert black_queue == pytest.approx(plain)  # black work in the queue does not hold teal up
    assert teal_queue > plain


def test_demands_carry_and_merge_minutes_by_material(keypad_demand: Any) -> None:
    teal, black, teal_again = (
        keypad_demand(color="teal"),
        keypad_demand(color="black"),
        keypad_demand(color="teal"),
    )
    assert teal.material_minutes == {("fdm_print", "PLA-TEAL"): teal.minutes["fdm_print"]}
    merged = merge([teal, black, teal_again])
    assert merged.material_minutes == pytest.approx(
        {
            ("fdm_print", "PLA-TEAL"): 2 * teal.minutes["fdm_print"],
            ("fdm_print", "PLA-BLACK"): black.minutes["fdm_print"],
        }
    )
