"""Material-aware finish estimates: work in a material waits for the machines loaded with it.

At the example site berlin three printers print, but PLA-TEAL is loaded on ber-fdm-2 only while
PLA-BLACK is on ber-fdm-1 and ber-fdm-2: teal work queues on one printer, black on two. At lyon
PLA-BLACK and PLA-WHITE share lyo-fdm-1, PLA-RED and PLA-TEAL lyo-fdm-2.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from microfactory.network.demand import merge
from microfactory.network.document import load_network
from microfactory.network.model import Network
from microfactory.network.promise import Promise, promise
from microfactory.network.routing import Router

from .conftest import EXAMPLES
from .test_routing import NOW


@pytest.fixture(scope="module")
def example() -> Network:
    return load_network(EXAMPLES / "network.yaml")


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


def test_the_queue_follows_assign_and_unassign(example: Network, keypad_demand: Any) -> None:
    router = Router(example)
    demand = keypad_demand(color="teal")
    first = router.route(demand, NOW)
    assert first.site == "berlin"
    router.assign(first)
    state = router.states["berlin"]
    assert [q.work_order_ids for q in state.queue] == [demand.work_order_ids]
    assert state.queue[0].steps == demand.steps
    behind = router.route(keypad_demand(color="teal"), NOW).winner
    assert behind is not None and first.winner is not None
    assert behind.work_minutes > first.winner.work_minutes  # it waits behind the first on ber-fdm-2
    router.unassign("berlin", demand)
    assert state.queue == []
    again = router.route(keypad_demand(color="teal"), NOW).winner
    assert again is not None and again.work_minutes == first.winner.work_minutes


def test_a_queue_on_the_printer_of_a_colour_delays_that_colour_only(
    example: Network, keypad_demand: Any
) -> None:
    router = Router(example)
    lyon = example.sites["lyon"]
    idle = {colour: _minutes_at(router, lyon.id, keypad_demand(color=colour)) for colour in _COLOURS}
    black = [keypad_demand(color="black") for _ in range(8)]  # a day of black on lyo-fdm-1
    queued = {
        colour: _minutes_at(router, lyon.id, *black, keypad_demand(color=colour)) for colour in _COLOURS
    }
    # white shares lyo-fdm-1 with black: it waits; red and teal print on lyo-fdm-2 and do not
    assert queued["white"] > idle["white"] + 8 * black[0].minutes["fdm_print"] * 0.9
    assert queued["red"] < idle["red"] + 60
    assert queued["teal"] < idle["teal"] + 60


_COLOURS = ("black", "white", "red", "teal")


def _minutes_at(router: Router, site_id: str, *demands: Any) -> float:
    """Working minutes until the last of the demands is done, laid in order at the site."""
    found = router.queue_minutes(site_id, list(demands), NOW)[-1]
    assert found is not None
    return found


def test_work_minutes_waits_for_the_machines_loaded_with_the_material(
    example: Network, keypad_demand: Any
) -> None:
    router = Router(example)
    teal = [keypad_demand(color="teal") for _ in range(6)]
    black = [keypad_demand(color="black") for _ in range(6)]
    after_teal = _minutes_at(router, "berlin", *teal, keypad_demand(color="teal"))
    after_black = _minutes_at(router, "berlin", *black, keypad_demand(color="teal"))
    alone = _minutes_at(router, "berlin", keypad_demand(color="teal"))
    prints = teal[0].minutes["fdm_print"]
    assert after_teal >= alone + 6 * prints  # six teal keypads ahead on the one teal printer
    assert after_black < after_teal  # black ahead spreads over ber-fdm-1 and ber-fdm-2


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
