"""Quality and logistics on top of the browser world: a failed inspection of a Berlin keypad (an
open NCR, its photo with the flaw's region) and a Berlin parcel whose label the simulated carrier
sold (through the real handoff), for the quality and shipments pages."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
from sqlalchemy import Engine

from microfactory.config import QualitySettings
from microfactory.db.engine import make_session_factory
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics import packing
from microfactory.logistics.carrier_book import CarrierBook
from microfactory.logistics.carriers.simulated import SimulatedCarrier
from microfactory.logistics.handoff import Handoff
from microfactory.production.units import serials_of
from microfactory.quality import recording, synthetic
from microfactory.quality.evidence import read_upload
from microfactory.quality.inspectors import (
    Finding,
    Image,
    Inspection,
    InspectionContext,
    Inspector,
    Region,
    Verdict,
)
from tests.browser.seed import World, seed
from tests.integration.production.berlin_work import make_work_order

PARTNER = "ber-cargobike"


@dataclass(frozen=True)
class QualityWorld:
    base: World
    inspection: str
    ncr: str
    shipment: str


class FlawFinder:
    """Stands in for every check of the keypad: finds the synthetic flaw where it was drawn."""

    def __init__(self, region: Region) -> None:
        self.region = region

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        return Inspection(Verdict.FAIL, (Finding("chip", 9.5, self.region),), "seeded", "seeded-1")


def failed_inspection(engine: Engine, serial: str, at: datetime) -> dict[str, Any]:
    """Record a failing inspection of the unit from a synthetic photo of a chipped keypad."""
    photo = synthetic.sample("chip", seed=7, size=(640, 480))
    assert photo.region is not None
    ok, encoded = cv2.imencode(".png", photo.image[..., ::-1])
    assert ok
    models = Path(tempfile.mkdtemp(prefix="mf-models-"))  # the catalog's checks need their model files
    synthetic.train_models(models, dict(synthetic.COLOURS), count=3)
    settings = QualitySettings(model_dir=str(models))
    finder = FlawFinder(photo.region)

    def build(_spec: Mapping[str, Any]) -> Inspector:
        return finder

    with UnitOfWork.for_engine(engine) as uow:
        upload = read_upload(encoded.tobytes(), settings)
        view = recording.record_inspection(
            uow, serial, upload, station="ber-qc", actor="ber-qc", settings=settings, now=at, build=build
        )
        uow.commit()
    return view


def packed_and_labelled(engine: Engine, order_id: str) -> str:
    """Pack the order at Berlin and run its handoff with the simulated carrier: the label is kept."""
    with UnitOfWork.for_engine(engine) as uow:
        done = packing.pack(uow, order_id, actor="packer")
        uow.commit()
        shipment = done.shipments[0].id
    book = CarrierBook()
    book.use(PARTNER, SimulatedCarrier())
    Handoff(make_session_factory(engine), book, worker="seed").run(shipment)
    return shipment


def seed_quality(engine: Engine, examples: Path) -> QualityWorld:
    base = seed(engine, examples)
    pending = [wo for wo in base.work_orders if wo != base.made_work_order]
    at = make_work_order(engine, pending[0]) + timedelta(minutes=5)
    with UnitOfWork.for_engine(engine) as uow:
        serial = serials_of(uow, pending[0])[0]
    view = failed_inspection(engine, serial, at)
    shipment = packed_and_labelled(engine, base.made_order)
    return QualityWorld(base, view["id"], view["ncr_id"], shipment)
