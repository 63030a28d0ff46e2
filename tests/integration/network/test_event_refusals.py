"""Site events and explanations that name what is wrong: a missing machine, an unknown part or work order."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid, NotFound
from microfactory.network import site_events
from microfactory.network.views import routing_view

from .conftest import NOW

Uows = Callable[[], UnitOfWork]


def test_machine_down_without_a_machine_asks_for_one(open_uow: Uows) -> None:
    with open_uow() as uow, pytest.raises(Invalid) as refused:
        site_events.apply_event(uow, site_events.SiteEvent("machine_down", "berlin"), now=NOW)
    assert "None" not in str(refused.value)
    assert [p.path for p in refused.value.problems] == ["machine"]
    assert "needs a machine" in refused.value.problems[0].message


def test_a_stock_count_of_an_unknown_part_is_refused(open_uow: Uows) -> None:
    event = site_events.SiteEvent("stock_count", "berlin", part="UNOBTAINIUM", qty=Decimal(3))
    with open_uow() as uow, pytest.raises(Invalid) as refused:
        site_events.apply_event(uow, event, now=NOW)
    assert [p.path for p in refused.value.problems] == ["part"]
    assert "UNOBTAINIUM" in refused.value.problems[0].message
    known = site_events.SiteEvent("stock_count", "berlin", part="KEYCAP", qty=Decimal(3))
    with open_uow() as uow:  # a catalog part the site did not stock before is fine
        site_events.apply_event(uow, known, now=NOW)


def test_explaining_a_work_order_that_does_not_exist_says_so(open_uow: Uows) -> None:
    with open_uow() as uow, pytest.raises(NotFound, match="no such work order 'wo_nope'"):
        routing_view(uow, "wo_nope")
