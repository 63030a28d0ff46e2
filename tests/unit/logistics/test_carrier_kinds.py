"""Building carriers from a partner's mapping: the kinds' factories, secrets from the environment."""

from __future__ import annotations

import pytest

from microfactory.errors import Invalid, MissingSetting
from microfactory.logistics.carriers.easypost import EasyPostCarrier
from microfactory.logistics.carriers.kinds import CARRIERS, carrier_for
from microfactory.logistics.carriers.local_courier import LocalCourier
from microfactory.logistics.carriers.manual import ManualCarrier
from microfactory.logistics.carriers.shippo import ShippoCarrier
from microfactory.network.model import FulfilmentPartner

ENV = {"MIL_EP_KEY": "ep-key", "EASYPOST_API_KEY": "ep-default", "SHIPPO_API_KEY": "sh", "BIKE_SECRET": "s3"}


def test_every_contract_kind_can_be_built() -> None:
    assert all(kind.available for kind in CARRIERS)


def test_a_shipping_api_takes_its_key_from_the_variable_it_names() -> None:
    partner = {
        "kind": "parcel_network",
        "mode": "van",
        "carrier": "easypost",
        "api_key_env": "MIL_EP_KEY",
        "base_url": "http://127.0.0.1:9/v2",
    }
    assert isinstance(carrier_for(partner, ENV), EasyPostCarrier)
    assert isinstance(carrier_for({"carrier": "easypost"}, ENV), EasyPostCarrier)  # default EASYPOST_API_KEY
    assert isinstance(carrier_for({"carrier": "shippo"}, ENV), ShippoCarrier)
    with pytest.raises(MissingSetting, match="MIL_EP_KEY is not set"):
        carrier_for(partner, {})
    with pytest.raises(MissingSetting, match="SHIPPO_API_KEY"):
        carrier_for({"carrier": "shippo"}, {"SHIPPO_API_KEY": "  "})


def test_a_courier_needs_its_shared_secret() -> None:
    api = {"kind": "webhook", "url": "http://127.0.0.1:5101/pickups", "secret_env": "BIKE_SECRET"}
    partner = {"id": "ber-cargobike", "kind": "local_courier", "mode": "cargo_bike", "api": api}
    assert isinstance(carrier_for(partner, ENV), LocalCourier)
    with pytest.raises(MissingSetting, match="BIKE_SECRET"):
        carrier_for(partner, {})
    with pytest.raises(
        MissingSetting, match=r"network file's fulfilment_partners\.ber-cargobike\.api\.secret_env"
    ):
        carrier_for({**partner, "api": {"kind": "webhook", "url": api["url"]}}, ENV)


def test_the_network_model_partner_builds_too() -> None:
    bike = FulfilmentPartner(
        "ber-cargobike",
        "local_courier",
        "cargo_bike",
        25.0,
        None,
        "http://127.0.0.1:5101/pickups",
        api_secret_env="BIKE_SECRET",
    )
    assert isinstance(carrier_for(bike, ENV), LocalCourier)
    lyon = FulfilmentPartner("lyo-courier", "local_courier", "van", 60.0)
    assert isinstance(carrier_for(lyon, ENV), ManualCarrier)
    air = FulfilmentPartner("air-freight", "parcel_network", "air", carrier="shippo")
    assert isinstance(carrier_for(air, ENV), ShippoCarrier)


def test_a_refused_mapping_names_its_problem() -> None:
    with pytest.raises(Invalid) as refused:
        carrier_for({"id": "x", "carrier": "easypost", "base_url": "ftp://nope"}, ENV)
    assert "fulfilment_partners.x.base_url" in str(refused.value)
    with pytest.raises(Invalid, match="not one of"):
        carrier_for({"carrier": "pigeon"}, ENV)
