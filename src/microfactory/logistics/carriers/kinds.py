"""The carrier kinds a network document may name: a partner's `carrier`, or what its kind implies.

`carrier: easypost | shippo` names a shipping API; a `local_courier` with `api: {kind: webhook}` is
reached by a plain HTTP handoff; any other partner is booked by hand (`manual`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from microfactory.adapters import AdapterKind, Field, FieldType, Registry, env, url
from microfactory.logistics.carriers import Carrier
from microfactory.logistics.carriers.manual import ManualCarrier
from microfactory.logistics.carriers.simulated import SimulatedCarrier

_SHIPPING_API = (env("api_key_env"), env("webhook_secret_env"), url("base_url"))

CARRIERS: Registry[Carrier] = Registry(
    "carrier",
    [
        AdapterKind("easypost", (), _SHIPPING_API, None, "EasyPost's shipping API"),
        AdapterKind("shippo", (), _SHIPPING_API, None, "Shippo's shipping API"),
        AdapterKind("local_courier", (), (Field("api", FieldType.MAPPING),), None, "a courier's webhook"),
        AdapterKind("manual", (), (), lambda _spec: ManualCarrier(), "a person books it"),
        AdapterKind("simulated", (), (), lambda _spec: SimulatedCarrier(), "deterministic rates"),
    ],
    kind_key="carrier",
)


def carrier_kind(partner: Mapping[str, Any]) -> object:
    """The carrier kind a partner's mapping names or implies (`carrier`, else by its kind)."""
    if partner.get("carrier") is not None:
        return partner["carrier"]
    if partner.get("kind") == "local_courier" and partner.get("api") is not None:
        return "local_courier"
    return "manual"
