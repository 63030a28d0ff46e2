"""The carrier kinds a network document may name: a partner's `carrier`, or what its kind implies.

`carrier: easypost | shippo` names a shipping API; a `local_courier` with `api: {kind: webhook}` is
reached by a plain HTTP handoff; any other partner is booked by hand (`manual`).

Secrets never sit in the document: a partner names the variables that hold them. EasyPost and Shippo
take `api_key_env` (default `EASYPOST_API_KEY` / `SHIPPO_API_KEY`) and `webhook_secret_env` (default
`EASYPOST_WEBHOOK_SECRET` / `SHIPPO_WEBHOOK_SECRET`), a courier `api.secret_env`. The API key and the
courier's secret are read when the carrier is built (unset: `MissingSetting` naming the variable); a
webhook secret is read then too, but only reading an event needs it, so a partner without webhooks
still buys labels. `carrier_for(partner, environ)` builds with the environment it is given (tests pass
a dict); the registry's factories read `os.environ`.

Adding a carrier: write a module with the four `Carrier` calls (and `PickupBooking`, `CarrierEvents`
where the carrier has them), a factory here taking the partner's mapping and the environment, and an
`AdapterKind` in `CARRIERS` naming the fields a document may give (docs/integrations/logistics.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

from microfactory.adapters import AdapterKind, Field, FieldType, Registry, env, url
from microfactory.errors import Invalid, MissingSetting
from microfactory.logistics.carriers import Carrier
from microfactory.logistics.carriers.manual import ManualCarrier
from microfactory.logistics.carriers.simulated import SimulatedCarrier

Environment = Mapping[str, str]
_SHIPPING_API = (env("api_key_env"), env("webhook_secret_env"), url("base_url"))


def secret(environ: Environment, name: str, why: str) -> str:
    """The value of variable `name`; unset or blank is the operator's to fix (`MissingSetting`)."""
    value = environ.get(name, "").strip()
    if not value:
        raise MissingSetting(name, why)
    return value


def _optional(environ: Environment, name: str) -> str | None:
    return environ.get(name, "").strip() or None


def easypost(spec: Mapping[str, Any], environ: Environment) -> Carrier:
    from microfactory.logistics.carriers.easypost import DEFAULT_BASE_URL, EasyPostCarrier

    key_env = str(spec.get("api_key_env") or "EASYPOST_API_KEY")
    secret_env = str(spec.get("webhook_secret_env") or "EASYPOST_WEBHOOK_SECRET")
    return EasyPostCarrier(
        secret(environ, key_env, "the EasyPost partner's API key"),
        webhook_secret=_optional(environ, secret_env),
        base_url=str(spec.get("base_url") or DEFAULT_BASE_URL),
        key_env=key_env,
        secret_env=secret_env,
    )


def shippo(spec: Mapping[str, Any], environ: Environment) -> Carrier:
    from microfactory.logistics.carriers.shippo import DEFAULT_BASE_URL, ShippoCarrier

    key_env = str(spec.get("api_key_env") or "SHIPPO_API_KEY")
    secret_env = str(spec.get("webhook_secret_env") or "SHIPPO_WEBHOOK_SECRET")
    return ShippoCarrier(
        secret(environ, key_env, "the Shippo partner's API token"),
        webhook_secret=_optional(environ, secret_env),
        base_url=str(spec.get("base_url") or DEFAULT_BASE_URL),
        key_env=key_env,
        secret_env=secret_env,
    )


def local_courier(spec: Mapping[str, Any], environ: Environment) -> Carrier:
    from microfactory.logistics.carriers.local_courier import LocalCourier

    api = spec.get("api") or {}
    secret_env = api.get("secret_env")
    name = str(spec.get("id") or "local_courier")
    if not secret_env:  # the network file's, not a variable: say where it goes
        raise MissingSetting(
            f"the network file's fulfilment_partners.{name}.api.secret_env",
            "name the variable holding the secret the courier signs its handoff and callbacks with",
        )
    why = f"the courier {name} signs its handoff and callbacks with it"
    return LocalCourier(
        str(api["url"]), secret(environ, str(secret_env), why), name=name, secret_env=str(secret_env)
    )


Factory = Callable[[Mapping[str, Any], Environment], Carrier]
FACTORIES: dict[str, Factory] = {
    "easypost": easypost,
    "shippo": shippo,
    "local_courier": local_courier,
    "manual": lambda _spec, _environ: ManualCarrier(),
    "simulated": lambda _spec, _environ: SimulatedCarrier(),
}


def _from_os_environ(kind: str) -> Callable[[Mapping[str, Any]], Carrier]:
    return lambda spec: FACTORIES[kind](spec, os.environ)


CARRIERS: Registry[Carrier] = Registry(
    "carrier",
    [
        AdapterKind("easypost", (), _SHIPPING_API, _from_os_environ("easypost"), "EasyPost's shipping API"),
        AdapterKind("shippo", (), _SHIPPING_API, _from_os_environ("shippo"), "Shippo's shipping API"),
        AdapterKind(
            "local_courier",
            (),
            (Field("api", FieldType.MAPPING),),
            _from_os_environ("local_courier"),
            "a courier's webhook",
        ),
        AdapterKind("manual", (), (), _from_os_environ("manual"), "a person books it"),
        AdapterKind("simulated", (), (), _from_os_environ("simulated"), "deterministic rates"),
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


def partner_mapping(partner: Mapping[str, Any] | object) -> dict[str, Any]:
    """A partner as the document's mapping, from the mapping itself or the network's `FulfilmentPartner`."""
    if isinstance(partner, Mapping):
        return dict(partner)
    if not is_dataclass(partner) or isinstance(partner, type):
        raise TypeError(f"not a fulfilment partner: {partner!r}")
    fields = asdict(partner)
    spec = {k: v for k, v in fields.items() if k not in ("api_url", "api_secret_env") and v is not None}
    if fields.get("api_url"):
        spec["api"] = {
            "kind": "webhook",
            "url": fields["api_url"],
            "secret_env": fields.get("api_secret_env"),
        }
    return spec


def carrier_for(partner: Mapping[str, Any] | object, environ: Environment | None = None) -> Carrier:
    """The carrier that books a partner's parcels, its secrets read from `environ` (default: os.environ).

    Takes the document's mapping (with `id` when known) or the network's `FulfilmentPartner`. Raises
    `Invalid` for a mapping the registry refuses, `MissingSetting` for a secret that is not set.
    """
    spec = partner_mapping(partner)
    kind = str(carrier_kind(spec))
    problems = CARRIERS.problems(spec, f"fulfilment_partners.{spec.get('id', '?')}", kind)
    if problems:
        raise Invalid("the carrier cannot be built", problems)
    return FACTORIES[kind](spec, os.environ if environ is None else environ)
