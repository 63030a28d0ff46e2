"""Re-trying needs attention after a catalog fix: lines that now translate are released, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from microfactory.catalog import service as catalog_service
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import listing, service
from microfactory.orders.model import NewOrder, NewOrderLine
from microfactory.problems import Problem


def _keypad(examples: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    return document


def _take(engine: Engine, external_id: str, *lines: NewOrderLine) -> str:
    with UnitOfWork.for_engine(engine) as uow:
        order = service.intake(uow, NewOrder(channel="test", external_id=external_id, lines=lines)).order
        uow.commit()
        return order.id


def _retry(engine: Engine) -> service.RetryOutcome:
    with UnitOfWork.for_engine(engine) as uow:
        outcome = service.retry_needs_attention(uow, actor="test")
        uow.commit()
    return outcome


def test_a_catalog_fix_releases_the_lines_it_fixes_and_only_once(engine: Engine, examples: Path) -> None:
    document = _keypad(examples)
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, document)
        uow.commit()
    silent = NewOrderLine(qty=1, product="KP", options={"keys": 8, "firmware": "silent"})
    unknown = NewOrderLine(qty=1, product="KP-XL")
    bad_qty = NewOrderLine(qty=1, product="KP", problems=(Problem("lines[0].qty", "'two' is not a number"),))
    fixed_order = _take(engine, "R-1", silent)
    mixed_order = _take(engine, "R-2", unknown, bad_qty)
    assert _retry(engine).released == []  # nothing changed yet: nothing to release

    document["version"] = 2
    document["products"]["KP"]["options"]["firmware"]["values"].append("silent")
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, document)
        uow.commit()
    outcome = _retry(engine)
    assert [line.order_id for line in outcome.released] == [fixed_order]
    assert sorted(line.product or "" for line in outcome.waiting) == ["KP", "KP-XL"]

    with UnitOfWork.for_engine(engine) as uow:
        order = service.get_order(uow, fixed_order)
        assert order.status == "accepted"
        work_order = order.lines[0].work_order
        assert work_order is not None and work_order.catalog_version == 2
        assert work_order.status == "released"
        mixed = service.get_order(uow, mixed_order)
        assert [line.status for line in mixed.lines] == ["needs_attention", "needs_attention"]
        # the store's problem is kept for a person: a catalog cannot mend a quantity
        assert mixed.lines[1].problems == [{"path": "lines[0].qty", "message": "'two' is not a number"}]
        assert listing.page_needs_attention(uow).total == 2
        events = [e.to_status for e in listing.order_history(uow, fixed_order)]
    assert events.count("released") == 2  # the line and its work order, released once

    again = _retry(engine)
    assert again.released == []
    assert len(again.waiting) == 2
    with UnitOfWork.for_engine(engine) as uow:
        assert [e.to_status for e in listing.order_history(uow, fixed_order)] == events


def test_a_store_sku_unknown_at_intake_is_matched_after_the_catalog_is_loaded(
    engine: Engine, examples: Path
) -> None:
    line = NewOrderLine(
        qty=1,
        sku="KP8-teal",
        properties={"Engraving": "Mira"},
        problems=(
            Problem("line_items[0].sku", "unknown SKU 'KP8-teal': no catalog product's SKU pattern matches"),
        ),
    )
    order_id = _take(engine, "R-3", line)
    assert _retry(engine).released == []  # no catalog yet: the SKU is still unknown
    with UnitOfWork.for_engine(engine) as uow:
        assert service.get_order(uow, order_id).lines[0].problems[0]["path"] == "line_items[0].sku"
        catalog_service.load_catalog(uow, _keypad(examples))
        uow.commit()
    outcome = _retry(engine)
    assert [released.order_id for released in outcome.released] == [order_id]
    with UnitOfWork.for_engine(engine) as uow:
        released = service.get_order(uow, order_id).lines[0]
        assert released.product == "KP"
        assert released.options["keys"] == 8 and released.options["color"] == "teal"
        assert released.options["engraving"] == "Mira"  # the store's property, by the catalog's mapping
        assert released.work_order is not None


@pytest.mark.postgres
def test_two_retries_at_once_release_each_line_once(postgres_url: str, examples: Path) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    document = _keypad(examples)
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, document)
        uow.commit()
    _take(engine, "R-4", NewOrderLine(qty=1, product="KP", options={"firmware": "silent"}))
    document["version"] = 2
    document["products"]["KP"]["options"]["firmware"]["values"].append("silent")
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, document)
        uow.commit()
    try:
        with UnitOfWork.for_engine(engine) as first:
            taken = service.retry_needs_attention(first)  # holds its lines' locks until it commits
            assert len(taken.released) == 1
            second = _retry(engine)  # a second connection meanwhile: skips the locked line
            assert (second.released, second.waiting) == ([], [])
            first.commit()
        assert (_retry(engine).released, _retry(engine).waiting) == ([], [])
    finally:
        engine.dispose()
