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


def test_adapter_kinds_and_fields_are_checked_against_the_registries(
    example_document: dict[str, Any],
) -> None:
    document = copy.deepcopy(example_document)
    berlin = document["sites"]["berlin"]["machines"]
    berlin[2]["connector"] = {"kind": "telnet"}
    berlin[1]["connector"]["api_key_env"] = "the key itself"
    partners = document["fulfilment_partners"]
    partners["mil-pony"]["carrier"] = "fedex"
    partners["air-freight"]["base_url"] = "api.goshippo.com"
    partners["ber-cargobike"]["api"]["secret_env"] = "s3cr3t!"
    with pytest.raises(NetworkError) as caught:
        build_network(document)
    problems = {problem.path: problem.message for problem in caught.value.problems}
    assert problems == {
        "sites.berlin.machines[2].connector.kind": "connector kind 'telnet' is not one of manual, moonraker, "
        "octoprint, simulated",
        "sites.berlin.machines[1].connector.api_key_env": "api_key_env must name an environment variable "
        "(such as SHOP_API_KEY), not 'the key itself'",
        "fulfilment_partners.mil-pony.carrier": "carrier kind 'fedex' is not one of easypost, local_courier, "
        "manual, shippo, simulated",
        "fulfilment_partners.air-freight.base_url": "base_url must be an http(s) URL, not 'api.goshippo.com'",
        "fulfilment_partners.ber-cargobike.api.secret_env": "secret_env must name an environment variable, "
        "not 's3cr3t!'",
    }


def test_partners_carry_their_carrier_kind_and_secret_names(example_document: dict[str, Any]) -> None:
    document = copy.deepcopy(example_document)
    document["fulfilment_partners"]["mil-pony"].update(
        api_key_env="EASYPOST_API_KEY", webhook_secret_env="EASYPOST_WEBHOOK_SECRET"
    )
    document["fulfilment_partners"]["ber-cargobike"]["api"]["secret_env"] = "CARGOBIKE_SECRET"
    document["sites"]["berlin"]["machines"][0]["connector"]["api_key_env"] = "OCTOPRINT_KEY"
    network = build_network(document)
    kinds = {pid: partner.carrier_kind for pid, partner in network.partners.items()}
    assert kinds == {
        "ber-cargobike": "local_courier",  # reached through its webhook
        "lyo-courier": "manual",  # no API: a person books it
        "mil-pony": "easypost",
        "air-freight": "shippo",
    }
    pony = network.partners["mil-pony"]
    assert (pony.api_key_env, pony.webhook_secret_env) == ("EASYPOST_API_KEY", "EASYPOST_WEBHOOK_SECRET")
    assert network.partners["ber-cargobike"].api_secret_env == "CARGOBIKE_SECRET"
    connector = network.sites["berlin"].machines[0].connector
    assert connector is not None and connector.api_key_env == "OCTOPRINT_KEY"
