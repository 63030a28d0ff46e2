"""The machine connector kinds a network document may name (`machines[].connector.kind`).

The contract (spec/network.md) makes `url` optional for every kind and accepts a bare kind
(`connector: moonraker`): a site may name its printer before it is networked. The edge agent needs
the URL to build an OctoPrint or Moonraker connector; the document does not.

API keys never sit in the document: `api_key_env` names a variable of the agent's environment.
`connector_for(spec, environ)` builds a connector with the environment it is given (the agent
passes `os.environ`, tests a dict); the registry's own factories read `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from microfactory.adapters import AdapterKind, Registry, env, url
from microfactory.errors import Invalid, MissingSetting
from microfactory.problems import Problem
from microfactory.production.connectors import MachineConnector
from microfactory.production.connectors.manual import ManualConnector
from microfactory.production.connectors.simulated import SimulatedConnector

Environment = Mapping[str, str]


class ConnectorSpec(Protocol):
    """The network model's `Connector` (kind, url, api_key_env), seen without importing it."""

    @property
    def kind(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def api_key_env(self) -> str | None: ...


def api_key(spec: Mapping[str, Any], environ: Environment) -> str | None:
    """The key the variable `api_key_env` holds; None when the connector names no variable.

    A named variable that is unset (or empty) is the operator's to fix: `MissingSetting` names it.
    """
    name = spec.get("api_key_env")
    if not name:
        return None
    value = environ.get(str(name), "")
    if not value.strip():
        kind = spec.get("kind")
        raise MissingSetting(str(name), f"the {kind} printer at {spec.get('url')} takes its API key from it")
    return value.strip()


def _networked_url(spec: Mapping[str, Any]) -> str:
    address = spec.get("url")
    if not isinstance(address, str) or not address:
        problem = Problem(
            "connector.url", f"a {spec.get('kind')} connector needs the printer's url to be driven"
        )
        raise Invalid("the connector cannot be built", [problem])
    return address


def octoprint(spec: Mapping[str, Any], environ: Environment) -> MachineConnector:
    """An OctoPrint connector; imported here so that reading a network document needs no httpx."""
    from microfactory.production.connectors.octoprint import OctoPrintConnector

    return OctoPrintConnector(_networked_url(spec), api_key(spec, environ))


def moonraker(spec: Mapping[str, Any], environ: Environment) -> MachineConnector:
    from microfactory.production.connectors.moonraker import MoonrakerConnector

    return MoonrakerConnector(_networked_url(spec), api_key(spec, environ))


Factory = Callable[[Mapping[str, Any], Environment], MachineConnector]
FACTORIES: dict[str, Factory] = {
    "octoprint": octoprint,
    "moonraker": moonraker,
    "manual": lambda _spec, _environ: ManualConnector(),
    "simulated": lambda _spec, _environ: SimulatedConnector(),
}


def _from_os_environ(kind: str) -> Callable[[Mapping[str, Any]], MachineConnector]:
    return lambda spec: FACTORIES[kind](spec, os.environ)


CONNECTORS: Registry[MachineConnector] = Registry(
    "connector",
    [
        AdapterKind(
            "octoprint",
            (),
            (url("url"), env("api_key_env")),
            _from_os_environ("octoprint"),
            "OctoPrint's REST API",
        ),
        AdapterKind(
            "moonraker",
            (),
            (url("url"), env("api_key_env")),
            _from_os_environ("moonraker"),
            "Klipper's Moonraker API",
        ),
        AdapterKind("manual", (), (url("url"),), _from_os_environ("manual"), "an operator confirms"),
        AdapterKind("simulated", (), (url("url"),), _from_os_environ("simulated"), "runs in scaled time"),
    ],
)


def connector_for(
    spec: Mapping[str, Any] | ConnectorSpec | str | None, environ: Environment
) -> MachineConnector:
    """The connector a machine's `connector` describes, its key read from `environ`.

    Takes the document's mapping, a bare kind, the network model's `Connector`, or None (a machine
    without a connector is a manual station, as spec/network.md says). Raises `Invalid` for a
    mapping the registry refuses or a networked kind without its url, `MissingSetting` for a named
    key variable that is not set.
    """
    mapping = _as_mapping(spec)
    problems = CONNECTORS.problems(mapping, "connector")
    if problems:
        raise Invalid("the connector cannot be built", problems)
    return FACTORIES[str(mapping["kind"])](mapping, environ)


def _as_mapping(spec: Mapping[str, Any] | ConnectorSpec | str | None) -> Mapping[str, Any]:
    if spec is None:
        return {"kind": "manual"}
    if isinstance(spec, str):
        return {"kind": spec}
    if isinstance(spec, Mapping):
        return spec
    return {key: value for key, value in _fields(spec).items() if value is not None}


def _fields(spec: ConnectorSpec) -> dict[str, Any]:
    return {"kind": spec.kind, "url": spec.url, "api_key_env": spec.api_key_env}
