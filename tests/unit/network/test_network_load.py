"""Network documents: the example loads as it is; a bad one is refused whole, every problem placed."""

from __future__ import annotations

import copy
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from microfactory.network.document import NetworkError, build_network, load_network, parse_network_text

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "network.yaml"


@pytest.fixture(scope="module")
def example_document() -> dict[str, Any]:
    return parse_network_text(EXAMPLE.read_text(encoding="utf-8"))


def test_the_example_network_loads_as_it_is() -> None:
    network = load_network(EXAMPLE)
    assert network.name == "keystone-eu"
    assert [site.id for site in network.local_sites] == ["berlin", "lyon", "milano"]
    central = network.central
    assert central is not None
    assert (central.lead_time_days, central.unit_overhead) == (42, Decimal("1.80"))
    assert "laser_engrave" in central.capabilities
    berlin = network.sites["berlin"]
    assert berlin.calendar.days == frozenset(range(5))
    assert (berlin.calendar.open, berlin.calendar.close) == (time(8), time(18))
    assert berlin.stock["NAMEPLATE"] == 120
    assert berlin.machines[0].connector is not None
    assert berlin.machines[0].connector.kind == "octoprint"
    assert berlin.machines[1].materials == ("PLA-TEAL", "PLA-WHITE", "PLA-BLACK")
    assert network.partner_of(berlin).radius_km == 25
    assert network.partners["air-freight"].carrier == "shippo"
    assert "laser_engrave" not in network.sites["lyon"].all_capabilities()


def test_every_problem_is_reported_with_its_place(example_document: dict[str, Any]) -> None:
    document = copy.deepcopy(example_document)
    berlin = document["sites"]["berlin"]
    berlin["timezone"] = "Europe/Atlantis"
    berlin["calendar"] = {"days": ["mon", "funday"], "hours": ["18:00", "08:00"]}
    berlin["machines"][1]["id"] = "BER-FDM-1"
    berlin["stock"]["SWITCH"] = -5
    berlin["location"]["lat"] = 123
    document["sites"]["lyon"]["fulfilment_partner"] = "pigeon"
    document["sites"]["milano"]["machines"][0]["connector"] = {"kind": "telnet"}
    del document["sites"]["central"]["lead_time_days"]
    document["fulfilment_partners"]["mil-pony"]["mode"] = "rocket"
    with pytest.raises(NetworkError) as caught:
        build_network(document)
    places = {problem.path for problem in caught.value.problems}
    assert places >= {
        "sites.berlin.timezone",
        "sites.berlin.calendar.days[1]",
        "sites.berlin.calendar.hours",
        "sites.berlin.machines[1].id",
        "sites.berlin.stock.SWITCH",
        "sites.berlin.location.lat",
        "sites.lyon.fulfilment_partner",
        "sites.milano.machines[0].connector.kind",
        "sites.central.lead_time_days",
        "fulfilment_partners.mil-pony.mode",
    }
    assert len(caught.value.problems) >= 10
    duplicate = next(p for p in caught.value.problems if p.path == "sites.berlin.machines[1].id")
    assert "sites.berlin.machines[0]" in duplicate.message


def test_structure_problems_are_named() -> None:
    with pytest.raises(NetworkError) as caught:
        build_network({"sites": {"a": {"kind": "central", "location": {"lat": 0, "lon": 0}}}})
    places = {problem.path for problem in caught.value.problems}
    assert {"network", "sites", "sites.a.fulfilment_partner", "sites.a.capabilities"} <= places


def test_text_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(NetworkError):
        parse_network_text("sites: [unclosed")
    with pytest.raises(NetworkError):
        parse_network_text("- a list")


def test_connector_may_be_a_plain_kind_and_closed_days_an_extension(example_document: dict[str, Any]) -> None:
    document = copy.deepcopy(example_document)
    document["sites"]["lyon"]["machines"][0]["connector"] = "moonraker"
    document["sites"]["lyon"]["calendar"]["closed"] = ["2026-12-24"]
    network = build_network(document)
    lyon = network.sites["lyon"]
    assert lyon.machines[0].connector is not None
    assert lyon.machines[0].connector.kind == "moonraker"
    assert len(lyon.calendar.closed_dates) == 1
