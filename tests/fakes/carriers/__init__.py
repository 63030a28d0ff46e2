"""Fake EasyPost, Shippo and local courier servers on loopback (see `base` for their common API)."""

from tests.fakes.carriers.base import FakeCarrierServer, tiny_pdf
from tests.fakes.carriers.courier import FakeCourier
from tests.fakes.carriers.easypost import FakeEasyPost
from tests.fakes.carriers.shippo import FakeShippo

__all__ = ["FakeCarrierServer", "FakeCourier", "FakeEasyPost", "FakeShippo", "tiny_pdf"]
