"""Fixtures of the carrier tests: the fake EasyPost, Shippo and courier servers on loopback, adapters
pointed at them that never sleep between retries and give up waiting quickly, and a webhook receiver
that reads what a fake sends with an adapter's `read_event`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from microfactory.errors import Forbidden, Invalid
from microfactory.logistics.carriers import CarrierEvents, Parcel, Place, TrackingStatus
from microfactory.logistics.carriers.easypost import EasyPostCarrier
from microfactory.logistics.carriers.local_courier import LocalCourier
from microfactory.logistics.carriers.shippo import ShippoCarrier
from microfactory.outbound_http import RetryPolicy
from tests.fakes.carriers import FakeCourier, FakeEasyPost, FakeShippo
from tests.integration.live_server import live_server

QUICK = RetryPolicy(attempts=3, base_delay=0.0, jitter=0.0)
CLIENT_TIMEOUT = 0.5  # the fakes hang 1.5 s when told to time out
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BERLIN = Place("DE", "Berlin", "10997", "Wiener Str. 12", "Microfactory Berlin", 52.4986, 13.4035)
CUSTOMER = Place("DE", "Potsdam", "14467", "Brandenburger Str. 3", "A. Customer", 52.3906, 13.0645)
PARCEL = Parcel(Decimal("1.2"))


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def easypost_fake() -> Iterator[FakeEasyPost]:
    with FakeEasyPost() as fake:
        yield fake


@pytest.fixture
def shippo_fake() -> Iterator[FakeShippo]:
    with FakeShippo() as fake:
        yield fake


@pytest.fixture
def courier_fake() -> Iterator[FakeCourier]:
    with FakeCourier() as fake:
        yield fake


def easypost_at(fake: FakeEasyPost, key: str | None = None, secret: str | None = None) -> EasyPostCarrier:
    return EasyPostCarrier(
        key or fake.api_key,
        webhook_secret=secret or fake.webhook_secret,
        base_url=fake.api_url,
        policy=QUICK,
        sleep=no_sleep,
        timeout=CLIENT_TIMEOUT,
    )


def shippo_at(fake: FakeShippo, key: str | None = None, secret: str | None = None) -> ShippoCarrier:
    return ShippoCarrier(
        key or fake.api_key,
        webhook_secret=secret or fake.webhook_secret,
        base_url=fake.api_url,
        policy=QUICK,
        sleep=no_sleep,
        timeout=CLIENT_TIMEOUT,
    )


def courier_at(fake: FakeCourier, secret: str | None = None) -> LocalCourier:
    return LocalCourier(
        fake.handoff_url,
        secret or fake.secret,
        name="ber-cargobike",
        secret_env="BER_CARGOBIKE_SECRET",
        clock=lambda: T0,
        policy=QUICK,
        sleep=no_sleep,
        timeout=CLIENT_TIMEOUT,
    )


@dataclass
class Receiver:
    """Our side of the webhooks: each POST is read by `events`; 200, 403 or 422 as the API would."""

    events: CarrierEvents | None = None
    url: str = ""
    read: list[TrackingStatus | None] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    app = FastAPI()

    @app.post("/webhooks/{carrier:path}")
    async def webhook(carrier: str, request: Request) -> JSONResponse:
        assert found.events is not None
        try:
            status = found.events.read_event(
                await request.body(), dict(request.headers), dict(request.query_params)
            )
        except Forbidden as refused:
            return JSONResponse({"error": str(refused)}, 403)
        except Invalid as invalid:
            return JSONResponse(invalid.as_dict(), 422)
        found.read.append(status)
        return JSONResponse({"ok": True})

    with live_server(app) as url:
        found.url = url
        yield found
