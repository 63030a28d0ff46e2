"""The queue, read back from storage in the order promised and laid again when a site re-promises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import pairwise

import pytest
from sqlalchemy import select

from microfactory.db.tables.network import AssignmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service, site_events
from microfactory.network.stored_state import current

from .conftest import NOW, PlaceOrder

Uows = Callable[[], UnitOfWork]


def _ship_times(uow: UnitOfWork, ids: list[str]) -> list[datetime]:
    rows = {
        row.work_order_id: row
        for row in uow.session.scalars(select(AssignmentRow).where(AssignmentRow.work_order_id.in_(ids)))
    }
    times = [rows[wid].promised_ship_at for wid in ids]
    assert all(t is not None for t in times)
    return [t for t in times if t is not None]


def test_teal_queued_at_berlin_is_read_back_and_repromised_alike(
    open_uow: Uows, place_order: PlaceOrder
) -> None:
    ids = [wid for _ in range(4) for wid in place_order({"keys": 4, "color": "teal"})]
    ids += place_order({"keys": 4, "color": "black"})
    with open_uow() as uow:
        outcomes = service.route_work_orders(uow, ids, now=NOW)
        uow.commit()
    assert [o.site for o in outcomes] == ["berlin"] * 5
    with open_uow() as uow:
        state = current(uow).router.states["berlin"]
        assert [queued.work_order_ids for queued in state.queue] == [(wid,) for wid in ids]
        teal = sum(step.minutes for queued in state.queue[:4] for step in queued.steps if step.material)
        black = sum(step.minutes for step in state.queue[4].steps if step.material)
        assert teal == pytest.approx(4 * black)
        assert teal + black == pytest.approx(state.queued["fdm_print"])
        routed = _ship_times(uow, ids)
    assert all(a < b for a, b in pairwise(routed[:4]))  # teal waits on one printer
    with open_uow() as uow:
        repromised, slipped = site_events.repromise_site(uow, "berlin", NOW)
        uow.commit()
    assert (len(repromised), slipped) == (5, [])
    with open_uow() as uow:
        assert _ship_times(uow, ids) == routed  # the same estimate as when routed: nothing moves
