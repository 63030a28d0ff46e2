"""Order intake, correction and cancellation on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.tables.orders import AuditEventRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import audit, listing, service
from microfactory.orders.model import Address, LineKind, NewOrder, NewOrderLine
from microfactory.problems import Problem


@pytest.fixture
def loaded(engine: Engine, examples: Path) -> Engine:
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        uow.commit()
    return engine


def order(external_id: str, *lines: NewOrderLine) -> NewOrder:
    return NewOrder(
        channel="test",
        external_id=external_id,
        lines=lines,
        ship_to=Address(name="Zoë Łukasiewicz", city="Berlin", country="DE", latitude=52.5, longitude=13.4),
        total_price=Decimal("134.90"),
        source_updated_at=datetime(2026, 11, 20, 9, 15, tzinfo=UTC),
    )


def test_intake_translates_and_keeps_problems(loaded: Engine) -> None:
    new = order(
        "A-1",
        NewOrderLine(qty=2, product="KP", options={"keys": 8, "color": "teal", "engraving": "Mira's Deck"}),
        NewOrderLine(qty=1, product="KP", options={"keys": 10}),
        NewOrderLine(qty=1, sku="GIFT-25", kind=LineKind.FULFILMENT_ONLY),
        NewOrderLine(qty=1, sku="XX-9", problems=(Problem("sku", "unknown SKU 'XX-9'"),)),
    )
    with UnitOfWork.for_engine(loaded) as uow:
        result = service.intake(uow, new)
        uow.commit()
        order_id = result.order.id
    with UnitOfWork.for_engine(loaded) as uow:
        stored = service.get_order(uow, order_id)
        assert stored.status == "needs_attention"
        assert stored.total_price == Decimal("134.90")
        assert stored.source_updated_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
        assert stored.created_at.tzinfo is not None
        assert stored.ship_to["name"] == "Zoë Łukasiewicz"
        good, wrong, gift, unknown = stored.lines
        assert good.status == "released"
        assert good.work_order is not None
        assert good.work_order.translation["bom"][3] == {
            "part": "KEY-MODULE",
            "qty": 16,
            "kind": "assembly",
            "level": 1,
            "material": None,
            "unit_cost": None,
            "rules": ["products.KP.bom[3]"],
        }
        assert wrong.status == "needs_attention"
        assert wrong.problems == [{"path": "options.keys", "message": "10 is not one of 4, 8, 12"}]
        assert wrong.work_order is None
        assert gift.status == "fulfilment_only"
        assert unknown.problems == [{"path": "sku", "message": "unknown SKU 'XX-9'"}]


def test_intake_is_idempotent_per_channel_and_external_id(loaded: Engine) -> None:
    new = order("A-2", NewOrderLine(qty=1, product="KP"))
    with UnitOfWork.for_engine(loaded) as uow:
        first = service.intake(uow, new)
        uow.commit()
    with UnitOfWork.for_engine(loaded) as uow:
        second = service.intake(uow, new)
        uow.commit()
        assert second.created is False
        assert second.order.id == first.order.id
        assert len(uow.session.scalars(select(WorkOrderRow)).all()) == 1


def test_correct_line_releases_it(loaded: Engine) -> None:
    with UnitOfWork.for_engine(loaded) as uow:
        created = service.intake(
            uow, order("A-3", NewOrderLine(qty=1, product="KP", options={"color": "gold"}))
        )
        uow.commit()
        order_id, line_id = created.order.id, created.order.lines[0].id
    with UnitOfWork.for_engine(loaded) as uow:
        line = service.correct_line(uow, order_id, line_id, options={"color": "red"}, actor="ops")
        uow.commit()
        assert line.status == "released"
        assert line.problems == []
    with UnitOfWork.for_engine(loaded) as uow:
        stored = service.get_order(uow, order_id)
        assert stored.status == "accepted"
        assert stored.lines[0].work_order is not None
        assert stored.lines[0].work_order.translation["operations"][0]["material"] == "PLA-RED"
        with pytest.raises(service.LineNotCorrectable):
            service.correct_line(uow, order_id, line_id, options={"color": "teal"})
        trail = uow.session.scalars(select(AuditEventRow).where(AuditEventRow.entity_id == line_id)).all()
        assert [(e.from_status, e.to_status, e.actor) for e in trail] == [
            (None, "needs_attention", "intake"),
            ("needs_attention", "released", "ops"),
        ]


def test_cancel_cancels_unstarted_work_and_flags_started_work(loaded: Engine) -> None:
    with UnitOfWork.for_engine(loaded) as uow:
        created = service.intake(
            uow, order("A-4", NewOrderLine(qty=1, product="KP"), NewOrderLine(qty=1, product="KEY-MODULE-R"))
        )
        started = created.order.lines[1].work_order
        assert started is not None
        started.status = "in_progress"
        uow.commit()
        order_id = created.order.id
    with UnitOfWork.for_engine(loaded) as uow:
        cancelled = service.cancel_order(uow, order_id, "customer changed their mind")
        uow.commit()
        assert [line.status for line in cancelled.lines] == ["cancelled", "decision_needed"]
        assert cancelled.status == "decision_needed"
        first = cancelled.lines[0].work_order
        assert first is not None
        assert first.status == "cancelled"


def test_new_catalog_version_leaves_work_orders_untouched(loaded: Engine, examples: Path) -> None:
    with UnitOfWork.for_engine(loaded) as uow:
        service.intake(uow, order("A-5", NewOrderLine(qty=1, product="KP")))
        uow.commit()
    document = read_catalog_file(examples / "catalog-keypad.yaml")
    document["version"] = 2
    document["products"]["KP"]["routing"][2]["minutes"] = {"base": 60, "per": {"keys": 0.5}}
    with UnitOfWork.for_engine(loaded) as uow:
        catalog_service.load_catalog(uow, document)
        uow.commit()
    with UnitOfWork.for_engine(loaded) as uow:
        old = service.find_order(uow, "test", "A-5")
        assert old is not None
        result = service.intake(uow, order("A-6", NewOrderLine(qty=1, product="KP")))
        uow.commit()
        old_wo, new_wo = old.lines[0].work_order, result.order.lines[0].work_order
        assert old_wo is not None
        assert new_wo is not None
        assert (old_wo.catalog_version, new_wo.catalog_version) == (1, 2)
        assert old_wo.total_minutes + 54 == new_wo.total_minutes


def test_same_catalog_version_with_other_content_is_refused(loaded: Engine, examples: Path) -> None:
    document = read_catalog_file(examples / "catalog-keypad.yaml")
    document["products"]["KP"]["name"] = "Renamed"
    with UnitOfWork.for_engine(loaded) as uow, pytest.raises(Exception, match="raise the version"):
        catalog_service.load_catalog(uow, document)


def test_intake_many_writes_a_batch_once_and_knows_repeats(loaded: Engine) -> None:
    with UnitOfWork.for_engine(loaded) as uow:
        first = service.intake(uow, order("B-1", NewOrderLine(qty=1, product="KP")))
        uow.commit()
    batch = [
        order("B-1", NewOrderLine(qty=1, product="KP")),  # stored before
        order("B-2", NewOrderLine(qty=2, product="KEY-MODULE-R", options={"color": "teal"})),
        order("B-2", NewOrderLine(qty=2, product="KEY-MODULE-R", options={"color": "teal"})),  # repeat
        order("B-3", NewOrderLine(qty=1, product="KP", options={"keys": 7})),
    ]
    with UnitOfWork.for_engine(loaded) as uow:
        results = service.intake_many(uow, batch)
        uow.commit()
        assert [r.created for r in results] == [False, True, False, True]
        assert results[0].order.id == first.order.id
        assert results[1].order.id == results[2].order.id
        assert results[3].order.status == "needs_attention"
    with UnitOfWork.for_engine(loaded) as uow:
        assert len(listing.page_orders(uow, channel="test").items) == 3
        trail = audit.history(uow, [results[1].order.id])
        assert [e.to_status for e in trail] == ["accepted"]  # one order, recorded once
