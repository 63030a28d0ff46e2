"""The machine connector kinds a network document may name (`machines[].connector.kind`).

The contract (spec/network.md) makes `url` optional for every kind and accepts a bare kind
(`connector: moonraker`): a site may name its printer before it is networked. The edge agent needs
the URL to build an OctoPrint or Moonraker connector; the document does not.
"""

from __future__ import annotations

from microfactory.adapters import AdapterKind, Registry, env, url
from microfactory.production.connectors import MachineConnector
from microfactory.production.connectors.manual import ManualConnector
from microfactory.production.connectors.simulated import SimulatedConnector

CONNECTORS: Registry[MachineConnector] = Registry(
    "connector",
    [
        AdapterKind("octoprint", (), (url("url"), env("api_key_env")), None, "OctoPrint's REST API"),
        AdapterKind("moonraker", (), (url("url"), env("api_key_env")), None, "Klipper's Moonraker API"),
        AdapterKind("manual", (), (url("url"),), lambda _spec: ManualConnector(), "an operator confirms"),
        AdapterKind(
            "simulated", (), (url("url"),), lambda _spec: SimulatedConnector(), "runs in scaled time"
        ),
    ],
)
