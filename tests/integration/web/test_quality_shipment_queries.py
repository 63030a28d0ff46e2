"""The queries behind the quality and shipments pages, without a browser: what each person sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from microfactory.access.model import Principal
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Forbidden
from microfactory.web import quality_queries, shipment_queries
from tests.browser.quality_seed import QualityWorld, seed_quality

PLANNER = Principal("u1", "pat", "planner")
BERLIN = Principal("u2", "bea", "site", "berlin")
LYON = Principal("u3", "leo", "site", "lyon")


@pytest.fixture
def world(engine: Engine, examples: Path) -> QualityWorld:
    return seed_quality(engine, examples)


def test_each_site_sees_its_own_inspections_ncrs_and_charts(engine: Engine, world: QualityWorld) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        assert [i["id"] for i in quality_queries.recent_inspections(uow, "berlin")] == [world.inspection]
        assert quality_queries.recent_inspections(uow, "lyon") == []
        (ncr,) = quality_queries.open_ncrs(uow, None)
        assert ncr["id"] == world.ncr and ncr["work_order_status"] == "held"
        assert quality_queries.open_ncrs(uow, "lyon") == []
        found = quality_queries.inspection_page(uow, world.inspection, BERLIN)
        assert found["image"] == {"width": 640, "height": 480} and found["inspection"]["regions"]
        assert [n["id"] for n in found["ncrs"]] == [world.ncr]
        with pytest.raises(Forbidden):
            quality_queries.inspection_page(uow, world.inspection, LYON)
        assert quality_queries.charts(uow, "berlin") == [
            {"by": "site", "key": "berlin", "title": "Defect rate of site berlin"}
        ]
        assert quality_queries.chart_image(uow, "site", "berlin", BERLIN).startswith(b"\x89PNG")
        with pytest.raises(Forbidden):
            quality_queries.chart_image(uow, "site", "berlin", LYON)
        with pytest.raises(Forbidden):
            quality_queries.chart_image(uow, "machine", "ber-fdm-1", LYON)


def test_parcels_and_packing_are_each_sites_own(engine: Engine, world: QualityWorld) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        seen = shipment_queries.parcels(uow, BERLIN)
        assert seen["total"] == 1
        (parcel,) = seen["parcels"]
        assert parcel["id"] == world.shipment and parcel["has_label"] and parcel["tracking_number"]
        assert parcel["retryable"] is False
        assert shipment_queries.parcels(uow, LYON) == {"parcels": [], "total": 0}
        assert shipment_queries.parcels(uow, PLANNER)["total"] == 1
        with pytest.raises(Forbidden):
            shipment_queries.parcel_page(uow, world.shipment, LYON)
        # the third keypad is not made and the second is held by quality: nothing is ready to pack
        assert shipment_queries.ready_to_pack(uow, PLANNER) == []
