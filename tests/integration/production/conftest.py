"""Fixtures of the production tests: fake OctoPrint and Moonraker printers on loopback, on a clock
the test moves, and connectors to them that never sleep between retries; the loopback Mosquitto
broker, and a database with the example network (whose ber-fdm-1 has limits).

MQTT tests skip with a visible reason when no broker answers, except under CI=true, where they must run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.outbound_http import RetryPolicy
from microfactory.production.connectors.moonraker import MoonrakerConnector
from microfactory.production.connectors.octoprint import OctoPrintConnector
from microfactory.production.telemetry.subscriber import BrokerAddress
from tests.integration.live_server import live_server
from tests.integration.production.fake_moonraker import build_moonraker
from tests.integration.production.fake_octoprint import build_octoprint
from tests.integration.production.fake_printer import FakePrinter, ManualClock

KEY = "printer-test-key"
QUICK = RetryPolicy(attempts=2, base_delay=0.0, jitter=0.0)


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def octoprint(clock: ManualClock) -> Iterator[tuple[FakePrinter, str]]:
    printer = FakePrinter(print_seconds=60, clock=clock, api_key=KEY)
    with live_server(build_octoprint(printer), lifespan="off") as url:
        yield printer, url


@pytest.fixture
def moonraker(clock: ManualClock) -> Iterator[tuple[FakePrinter, str]]:
    printer = FakePrinter(print_seconds=60, clock=clock, api_key=KEY)
    with live_server(build_moonraker(printer), lifespan="off") as url:
        yield printer, url


def octoprint_at(url: str, key: str | None = KEY) -> OctoPrintConnector:
    return OctoPrintConnector(url, key, policy=QUICK, sleep=no_sleep)


def moonraker_at(url: str, key: str | None = KEY) -> MoonrakerConnector:
    return MoonrakerConnector(url, key, policy=QUICK, sleep=no_sleep)


EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MQTT_URL = os.environ.get("MICROFACTORY_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _broker_available(address: BrokerAddress) -> str | None:
    try:
        with socket.create_connection((address.host, address.port), timeout=3):
            return None
    except OSError as error:
        return f"{type(error).__name__}: {error}"


@pytest.fixture(scope="session")
def mqtt_broker() -> BrokerAddress:
    address = BrokerAddress.parse(MQTT_URL)
    reason = _broker_available(address)
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the MQTT broker at {MQTT_URL} does not answer: {reason}")
        pytest.skip(f"MQTT broker not reachable at {MQTT_URL} ({reason})")
    return address


@pytest.fixture
def networked(engine: Engine) -> Engine:
    """The test database with the example network loaded."""
    with UnitOfWork.for_engine(engine) as uow:
        network_service.load_network(uow, read_network_file(EXAMPLES / "network.yaml"))
        uow.commit()
    return engine
