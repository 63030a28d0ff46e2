"""Fixtures of the production tests: fake OctoPrint and Moonraker printers on loopback, on a clock
the test moves, and connectors to them that never sleep between retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from microfactory.outbound_http import RetryPolicy
from microfactory.production.connectors.moonraker import MoonrakerConnector
from microfactory.production.connectors.octoprint import OctoPrintConnector
from tests.integration.production.fake_moonraker import build_moonraker
from tests.integration.production.fake_octoprint import build_octoprint
from tests.integration.production.fake_printer import FakePrinter, ManualClock, serve

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
    with serve(build_octoprint(printer)) as url:
        yield printer, url


@pytest.fixture
def moonraker(clock: ManualClock) -> Iterator[tuple[FakePrinter, str]]:
    printer = FakePrinter(print_seconds=60, clock=clock, api_key=KEY)
    with serve(build_moonraker(printer)) as url:
        yield printer, url


def octoprint_at(url: str, key: str | None = KEY) -> OctoPrintConnector:
    return OctoPrintConnector(url, key, policy=QUICK, sleep=no_sleep)


def moonraker_at(url: str, key: str | None = KEY) -> MoonrakerConnector:
    return MoonrakerConnector(url, key, policy=QUICK, sleep=no_sleep)
