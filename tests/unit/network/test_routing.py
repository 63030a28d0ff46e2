"""Routing: who can make it, who wins, and why; the cases of issue 4's "done when"."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from microfactory.errors import Invalid
from microfactory.network.geo import GeoPoint
from microfactory.network.model import Network
from microfactory.network.routing import (
    CENTRAL_FALLBACK,
    ONLY_FEASIBLE,
    Demand,
    Router,
    RoutingWeights,
    SiteState,
)

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
POTSDAM = (52.39, 13.06)  # 25 km from Berlin
LEIPZIG = (51.34, 12.37)  # 150 km from Berlin
Site = Callable[..., dict[str, Any]]
Net = Callable[..., Network]


def test_the_nearest_capable_site_wins_when_loads_are_equal(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    router = Router(make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG)))
    decision = router.route(keypad_demand(), NOW)
    assert decision.site == "near"
    assert decision.deciding_factor == "distance"
    explanation = decision.as_dict()
    assert explanation["summary"].startswith("near wins on distance")
    far = next(c for c in explanation["candidates"] if c["site"] == "far")
    assert "lost most on distance" in far["result"]
    assert far["distance_km"] > 100


def test_a_site_without_the_laser_never_gets_an_engraving(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    router = Router(make_network(near=make_site(*POTSDAM, laser=False), far=make_site(*LEIPZIG)))
    for _ in range(30):
        decision = router.route(keypad_demand(engraving="Mira"), NOW)
        router.assign(decision)
        assert decision.site == "far"
        near = next(c for c in decision.candidates if c.site == "near")
        assert near.reasons == ("no machine with capability laser_engrave",)
    assert router.route(keypad_demand(), NOW).site == "near"  # without engraving it is the nearest again


def test_a_material_no_machine_is_loaded_with_rules_a_site_out(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    router = Router(make_network(near=make_site(*POTSDAM, materials=["PLA-BLACK"]), far=make_site(*LEIPZIG)))
    decision = router.route(keypad_demand(color="teal"), NOW)
    assert decision.site == "far"
    near = next(c for c in decision.candidates if c.site == "near")
    assert near.reasons == ("no machine loaded with PLA-TEAL for fdm_print",)


def test_stock_runs_out_and_the_next_orders_go_elsewhere(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    stock = {"NAMEPLATE": 2, "PCB-MAIN": 100, "SWITCH": 2000, "SCREW-M2": 2000}
    router = Router(make_network(near=make_site(*POTSDAM, stock=stock), far=make_site(*LEIPZIG)))
    sites = []
    for _ in range(4):
        decision = router.route(keypad_demand(engraving="Lab-7"), NOW)
        router.assign(decision)
        sites.append(decision.site)
    assert sites == ["near", "near", "far", "far"]
    near = next(c for c in decision.candidates if c.site == "near")
    assert near.reasons == ("stock: NAMEPLATE 0 < 1",)
    assert router.states["near"].available["NAMEPLATE"] == 0
    router.unassign("near", keypad_demand(engraving="Lab-7"))  # a cancellation gives the plate back
    assert router.route(keypad_demand(engraving="Lab-7"), NOW).site == "near"


def test_everything_down_falls_back_to_central(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    network = make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG))
    states = {sid: SiteState.initial(site) for sid, site in network.sites.items()}
    for sid in ("near", "far"):
        states[sid].down = {machine.id for machine in network.sites[sid].machines}
    decision = Router(network, states).route(keypad_demand(), NOW)
    assert decision.site == "central"
    assert decision.central
    assert decision.deciding_factor == CENTRAL_FALLBACK
    near = next(c for c in decision.candidates if c.site == "near")
    assert "machine near-fdm-1 down" in near.reasons
    assert decision.as_dict()["summary"] == "central: no local site can make it, so the central factory does"


def test_a_machine_down_names_the_machine_and_refresh_brings_it_back(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    router = Router(make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG)))
    router.states["near"].down.add("near-laser-1")
    router.refresh("near")
    decision = router.route(keypad_demand(engraving="Hugo"), NOW)
    assert decision.site == "far"
    assert next(c for c in decision.candidates if c.site == "near").reasons == ("machine near-laser-1 down",)
    router.states["near"].down.clear()
    router.refresh("near")
    assert router.route(keypad_demand(engraving="Hugo"), NOW).site == "near"


def test_a_closed_site_is_not_a_candidate(make_site: Site, make_network: Net, keypad_demand: Any) -> None:
    router = Router(make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG)))
    router.states["near"].open = False
    decision = router.route(keypad_demand(), NOW)
    assert decision.site == "far"
    assert decision.deciding_factor == ONLY_FEASIBLE
    assert next(c for c in decision.candidates if c.site == "near").reasons == ("closed",)


def test_a_closed_day_delays_the_promise(make_site: Site, make_network: Net, keypad_demand: Any) -> None:
    router = Router(make_network(near=make_site(*POTSDAM)))
    before = router.route(keypad_demand(), NOW).winner
    router.states["near"].closed_dates.add(date(2026, 3, 2))
    after = router.route(keypad_demand(), NOW).winner
    assert before is not None and after is not None
    assert after.ship_days == pytest.approx(before.ship_days + 1)


def test_cost_decides_when_distance_does_not_count(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    network = make_network(near=make_site(*POTSDAM, labour=60), far=make_site(*LEIPZIG, labour=25))
    decision = Router(network, weights=RoutingWeights(distance=0)).route(keypad_demand(), NOW)
    assert decision.site == "far"
    assert decision.deciding_factor == "cost"
    assert "far makes it for" in decision.as_dict()["summary"]


def test_load_moves_work_to_an_idle_site(make_site: Site, make_network: Net, keypad_demand: Any) -> None:
    router = Router(
        make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG)), weights=RoutingWeights(promise=0)
    )
    router.states["near"].queued["fdm_print"] = 3000.0  # a full week of printing waits
    decision = router.route(keypad_demand(), NOW)
    assert decision.site == "far"
    assert decision.deciding_factor == "load"


def test_an_excluded_site_says_why(make_site: Site, make_network: Net, keypad_demand: Any) -> None:
    router = Router(make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG)))
    decision = router.route(keypad_demand(), NOW, excluded={"near": "declined: printer busy"})
    assert decision.site == "far"
    assert next(c for c in decision.candidates if c.site == "near").reasons == ("declined: printer busy",)


def test_an_order_stays_together_unless_the_store_allows_a_split(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    # one site engraves but has no teal; the other prints teal but has no laser
    network = make_network(
        laser=make_site(*POTSDAM, materials=["PLA-BLACK"]), teal=make_site(*LEIPZIG, laser=False)
    )
    lines = [keypad_demand(engraving="Ana"), keypad_demand(color="teal")]
    together = Router(network).route_order(lines, allow_split=False, now=NOW)
    assert [d.site for d in together] == ["central"]
    assert together[0].demand.work_order_ids == (lines[0].work_order_ids[0], lines[1].work_order_ids[0])
    split = Router(network).route_order(lines, allow_split=True, now=NOW)
    assert [d.site for d in split] == ["laser", "teal"]
    whole = Router(network).route_order(
        [keypad_demand(), keypad_demand(color="black")], allow_split=True, now=NOW
    )
    assert len(whole) == 1  # a split is made only when no site can make the whole order


def test_the_explanation_lists_every_candidate(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    router = Router(
        make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG), mute=make_site(1, 1, laser=False))
    )
    explanation = router.route(keypad_demand(engraving="Tom"), NOW).as_dict()
    assert [c["site"] for c in explanation["candidates"]] == ["near", "far", "central", "mute"]
    results = {c["site"]: c["result"] for c in explanation["candidates"]}
    assert results["near"] == "chosen"
    assert results["central"].startswith("fallback only")
    assert results["mute"] == "cannot make it: no machine with capability laser_engrave"
    assert set(explanation["candidates"][0]["components"]) == {"distance", "load", "cost", "promise"}
    assert explanation["weights"] == {"distance": 1.0, "load": 1.0, "cost": 1.0, "promise": 1.0}
    assert explanation["destination"]["approximate"] is False


def test_an_unlocated_customer_is_routed_on_the_other_components(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    network = make_network(near=make_site(*POTSDAM, labour=40), far=make_site(*LEIPZIG, labour=30))
    decision = Router(network).route(keypad_demand(to=None), NOW)
    assert decision.site == "far"
    assert decision.as_dict()["distance_approximate"] is True


def test_nothing_can_make_it(make_site: Site, make_network: Net, catalog: Any) -> None:
    router = Router(make_network(near=make_site(*POTSDAM)))
    demand = Demand(("wo-x",), {"cnc_mill": 30.0}, frozenset(), {}, 1, GeoPoint(52.5, 13.4))
    decision = router.route(demand, NOW)
    assert decision.site is None
    assert "no machine with capability cnc_mill" in decision.candidates[-1].reasons


@pytest.mark.parametrize("weight", [-1.0, float("nan")])
def test_weights_must_not_be_negative(weight: float) -> None:
    with pytest.raises(Invalid, match="weight distance"):
        RoutingWeights(distance=weight)


def test_a_busier_site_promises_later_and_the_work_goes_elsewhere_on_promise(
    make_site: Site, make_network: Net, keypad_demand: Any
) -> None:
    """Two sites alike but for distance: as the nearer one's printer fills up, its promise moves out
    and the farther one wins on promise."""
    router = Router(make_network(near=make_site(*POTSDAM), far=make_site(*LEIPZIG)))
    promised: dict[str, list[float]] = {"near": [], "far": []}
    factors = []
    for _ in range(40):
        decision = router.route(keypad_demand(color="teal"), NOW)
        assert decision.site is not None and decision.winner is not None
        promised[decision.site].append(decision.winner.ship_days)
        factors.append(decision.deciding_factor)
        router.assign(decision)
    assert promised["near"] and promised["far"]
    assert promised["near"] == sorted(promised["near"])  # each one queued behind the ones before
    assert "promise" in factors[len(promised["near"]) :]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, -0.5])
def test_weights_must_be_finite_and_at_least_0(value: float) -> None:
    with pytest.raises(Invalid) as refused:
        RoutingWeights(cost=value)
    assert [problem.path for problem in refused.value.problems] == ["cost"]
