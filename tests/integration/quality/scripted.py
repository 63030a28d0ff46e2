"""A controllable inspector for the quality tests: the image decides the verdict.

`scripted` scores an image by its brightness (a bright photo is a "defect" scoring 0.9, a dark one
0.1), so a test chooses pass or fail by the picture it uploads and the catalog's threshold does
the judging, as it would for a real inspector.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PilImage
from sqlalchemy import Engine, select

from microfactory.adapters import AdapterKind
from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.orders import service as order_service
from microfactory.orders.model import NewOrder, NewOrderLine
from microfactory.quality.inspectors import (
    Finding,
    Image,
    Inspection,
    InspectionContext,
    Inspector,
    Region,
    Verdict,
)
from microfactory.quality.inspectors.kinds import INSPECTORS
from tests.integration.production.berlin_work import KREUZBERG, NOW

KIND = "scripted"


class ScriptedInspector:
    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        bright = float(image.mean()) > 128
        score = 0.9 if bright else 0.1
        region = Region(4, 4, 8, 8) if bright else None
        return Inspection(Verdict.PASS, (Finding("glare", score, region),), KIND, "scripted-2")


SCRIPTED: AdapterKind[Inspector] = AdapterKind(
    KIND, (), (), lambda _spec: ScriptedInspector(), "test: brightness"
)


@contextmanager
def scripted_kind() -> Iterator[None]:
    """The `scripted` kind, known to the registry only while a test runs (see conftest.py)."""
    INSPECTORS.register(SCRIPTED)
    try:
        yield
    finally:
        INSPECTORS.unregister(KIND)


def png(bright: bool, size: tuple[int, int] = (32, 48)) -> bytes:
    pixels = np.full((*size, 3), 220 if bright else 30, dtype=np.uint8)
    buffer = io.BytesIO()
    PilImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


DEFAULT_CHECKS = [
    {"inspector": KIND, "threshold": 0.5},
    {"inspector": "manual", "when": {"engraving": "present"}},
]


def keypad_catalog(examples: Path, checks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The example catalog, its keypad judged by `scripted` with a threshold (and an engraving-only check)."""
    document = read_catalog_file(examples / "catalog-keypad.yaml")
    document["products"]["KP"]["inspection"] = {"checks": checks or DEFAULT_CHECKS}
    return document


def ordered_and_accepted(
    engine: Engine, examples: Path, checks: list[dict[str, Any]] | None = None
) -> tuple[str, str]:
    """One keypad ordered from Berlin (a Shopify order), routed there and accepted: (order, work order)."""
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, keypad_catalog(examples, checks))
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        line = NewOrderLine(qty=1, product="KP", options={"keys": 4, "color": "teal"})
        order = NewOrder(channel="shopify", external_id="Q-1", lines=(line,), ship_to=KREUZBERG)
        result = order_service.intake(uow, order)
        uow.commit()
        order_id = result.order.id
    with UnitOfWork.for_engine(engine) as uow:
        network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        (row,) = uow.session.scalars(select(AssignmentRow)).all()
        network_service.accept(uow, row.id, actor="berlin")
        uow.commit()
        return order_id, row.work_order_id


LATER = NOW + timedelta(hours=4)
