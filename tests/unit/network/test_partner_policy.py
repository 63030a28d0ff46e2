"""The network file's logistics extension: a partner's rate `policy`, a site's `fallback_partner`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from microfactory.network.document import NetworkError, build_network, read_network_file

EXAMPLE = read_network_file(Path(__file__).resolve().parents[3] / "examples" / "network.yaml")


def _with(change: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(EXAMPLE)
    document["sites"]["berlin"].update(change.get("site", {}))
    document["fulfilment_partners"]["ber-cargobike"].update(change.get("partner", {}))
    return document


def test_policy_and_fallback_load_and_default() -> None:
    plain = build_network(EXAMPLE)
    assert (
        plain.partners["ber-cargobike"].policy == "cheapest"
        and plain.sites["berlin"].fallback_partner is None
    )
    network = build_network(
        _with({"site": {"fallback_partner": "lyo-courier"}, "partner": {"policy": "lowest_emissions"}})
    )
    assert network.partners["ber-cargobike"].policy == "lowest_emissions"
    assert network.sites["berlin"].fallback_partner == "lyo-courier"


def test_a_wrong_policy_or_fallback_is_named_by_its_place() -> None:
    bad = _with({"site": {"fallback_partner": "ber-cargobike"}, "partner": {"policy": "slowest"}})
    with pytest.raises(NetworkError) as refused:
        build_network(bad)
    places = {problem.path for problem in refused.value.problems}
    assert {"fulfilment_partners.ber-cargobike.policy", "sites.berlin.fallback_partner"} <= places
    with pytest.raises(NetworkError) as unknown:
        build_network(_with({"site": {"fallback_partner": "nobody"}}))
    assert [p.message for p in unknown.value.problems] == ["unknown fulfilment partner 'nobody'"]
