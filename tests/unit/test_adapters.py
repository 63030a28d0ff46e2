"""The registry of adapter kinds: what a document may name, what it must give, what can be built."""

from __future__ import annotations

import pytest

from microfactory.adapters import AdapterKind, Registry, env, url
from microfactory.errors import Conflict, Invalid, MissingSetting
from microfactory.logistics.carriers.kinds import CARRIERS
from microfactory.production.connectors import Program
from microfactory.production.connectors.kinds import CONNECTORS
from microfactory.production.connectors.manual import ManualConnector
from microfactory.production.connectors.octoprint import OctoPrintConnector
from microfactory.quality.inspectors.kinds import INSPECTORS


def _registry() -> Registry[str]:
    return Registry(
        "widget",
        [
            AdapterKind("hook", (url("url"),), (env("secret_env"),), lambda spec: f"hook at {spec['url']}"),
            AdapterKind("later", (), (), None),
        ],
    )


def test_an_unknown_kind_is_named_with_the_known_ones() -> None:
    (problem,) = _registry().problems({"kind": "telnet"}, "things[0]")
    assert problem.path == "things[0].kind"
    assert problem.message == "widget kind 'telnet' is not one of hook, later"


def test_a_missing_required_field_and_a_malformed_one_are_placed() -> None:
    problems = _registry().problems({"kind": "hook", "secret_env": "not a name"}, "things[1]")
    assert {p.path: p.message for p in problems} == {
        "things[1].url": "hook requires url",
        "things[1].secret_env": "secret_env must name an environment variable (such as SHOP_API_KEY), "
        "not 'not a name'",
    }
    (wrong_url,) = _registry().problems({"kind": "hook", "url": "ftp://x"}, "t")
    assert wrong_url.path == "t.url" and "http(s) URL" in wrong_url.message


def test_build_makes_an_available_kind_and_refuses_the_rest() -> None:
    registry = _registry()
    assert registry.build({"kind": "hook", "url": "http://127.0.0.1:9/x"}) == "hook at http://127.0.0.1:9/x"
    with pytest.raises(Invalid) as invalid:
        registry.build({"kind": "hook"}, "things[0]")
    assert [p.path for p in invalid.value.problems] == ["things[0].url"]
    with pytest.raises(Conflict, match="widget kind 'later' is not yet available"):
        registry.build({"kind": "later"})


def test_a_kind_is_registered_once() -> None:
    registry = _registry()
    with pytest.raises(Conflict, match="already registered"):
        registry.register(AdapterKind("hook"))
    registry.register(AdapterKind("new"))
    assert "new" in registry and registry.names() == ("hook", "later", "new")


def test_the_families_know_the_contract_kinds() -> None:
    assert set(CONNECTORS.names()) == {"octoprint", "moonraker", "manual", "simulated"}
    assert {"easypost", "shippo", "local_courier", "manual", "simulated"} == set(CARRIERS.names())
    assert {"variation", "colour", "engraving", "dimension", "http", "manual", "simulated"} == set(
        INSPECTORS.names()
    )
    assert [kind.name for kind in CONNECTORS if kind.available] == [
        "manual",
        "moonraker",
        "octoprint",
        "simulated",
    ]


def test_building_from_the_families() -> None:
    connector = CONNECTORS.build({"kind": "manual"})
    assert isinstance(connector, ManualConnector)
    assert connector.status(connector.submit(Program("p"))).state == "idle"
    assert isinstance(
        CONNECTORS.build({"kind": "octoprint", "url": "http://127.0.0.1:5001"}), OctoPrintConnector
    )
    with pytest.raises(MissingSetting, match="MF_TEST_UNSET_EASYPOST_KEY"):  # built, once its key is set
        CARRIERS.build({"carrier": "easypost", "api_key_env": "MF_TEST_UNSET_EASYPOST_KEY"})
    with pytest.raises(Invalid):
        INSPECTORS.build({"inspector": "http"})  # http requires its url
