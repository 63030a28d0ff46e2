"""Routing on a real database: offers, reservations, declines, expiry, cancellation, site events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from microfactory.db.tables.network import AssignmentRow, ReservationRow
from microfactory.db.tables.orders import AuditEventRow, OrderLineRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service, site_events
from microfactory.network.views import line_promise, routing_view
from microfactory.orders import service as order_service
from microfactory.orders.model import Address

from .conftest import LYON, NOW, PlaceOrder

Uows = Callable[[], UnitOfWork]


def _route(open_uow: Uows, ids: list[str] | None = None, **kw: object) -> list[service.RoutingOutcome]:
    with open_uow() as uow:
        outcomes = service.route_work_orders(uow, ids, now=NOW, **kw)  # type: ignore[arg-type]
        uow.commit()
    return outcomes


def _active(uow: UnitOfWork, work_order_id: str) -> AssignmentRow:
    row = uow.session.scalar(
        select(AssignmentRow).where(
            AssignmentRow.work_order_id == work_order_id, AssignmentRow.status.in_(("offered", "accepted"))
        )
    )
    assert row is not None
    return row


def _reserved(uow: UnitOfWork, site: str, part: str) -> Decimal:
    total = uow.session.scalar(
        select(func.sum(ReservationRow.qty)).where(
            ReservationRow.site == site, ReservationRow.part == part, ReservationRow.released_at.is_(None)
        )
    )
    return Decimal(total or 0)


def test_routing_offers_the_work_reserves_parts_and_promises_dates(
    open_uow: Uows, place_order: PlaceOrder
) -> None:
    [wo] = place_order({"keys": 8, "color": "teal", "engraving": "Mira"})
    [outcome] = _route(open_uow)
    assert outcome.site == "berlin"
    with open_uow() as uow:
        work_order = uow.session.get(WorkOrderRow, wo)
        assert work_order is not None
        assert (work_order.status, work_order.site) == ("assigned", "berlin")
        line = uow.session.get(OrderLineRow, work_order.order_line_id)
        assert line is not None
        assert (line.status, line.site) == ("routed", "berlin")
        row = _active(uow, wo)
        assert row.status == "offered"
        assert row.deadline == NOW + timedelta(minutes=240)
        assert row.promised_ship_date == "2026-03-02"
        assert row.promised_delivery_date == "2026-03-03"  # cargo bike, next day
        assert _reserved(uow, "berlin", "NAMEPLATE") == 1
        assert _reserved(uow, "berlin", "SWITCH") == 8
        shown = line_promise(line)
        assert shown["promised_delivery_date"] == "2026-03-03"
        assert shown["routing"]["site"] == "berlin"
        view = routing_view(uow, wo)
        assert view["explanation"]["deciding_factor"] in ("distance", "promise", "cost", "load")
        assert {c["site"] for c in view["explanation"]["candidates"]} == {
            "berlin",
            "lyon",
            "milano",
            "central",
        }
        lyon = next(c for c in view["explanation"]["candidates"] if c["site"] == "lyon")
        assert lyon["reasons"] == ["no machine with capability laser_engrave", "stock: NAMEPLATE 0 < 1"]
        trail = uow.session.scalars(
            select(AuditEventRow.to_status).where(AuditEventRow.entity_id == wo)
        ).all()
        assert "assigned" in trail


def test_cancelling_the_order_releases_the_reservation(open_uow: Uows, place_order: PlaceOrder) -> None:
    [wo] = place_order({"keys": 4, "engraving": "Lab-7"})
    _route(open_uow)
    with open_uow() as uow:
        order_id = _active(uow, wo).order_id
        assert _reserved(uow, "berlin", "NAMEPLATE") == 1
        service.register_event_handlers()
        order_service.cancel_order(uow, order_id, "changed my mind")
        uow.commit()
    with open_uow() as uow:
        assert _reserved(uow, "berlin", "NAMEPLATE") == 0
        rows = uow.session.scalars(select(AssignmentRow).where(AssignmentRow.work_order_id == wo)).all()
        assert [row.status for row in rows] == ["released"]


def test_a_decline_passes_the_work_to_the_next_best_site(open_uow: Uows, place_order: PlaceOrder) -> None:
    [wo] = place_order({"keys": 4, "color": "teal"})
    _route(open_uow)
    with open_uow() as uow:
        first = _active(uow, wo)
        assert first.site == "berlin"
        [outcome] = service.decline(uow, first.id, "printer queue full", now=NOW)
        uow.commit()
    assert outcome.site in ("milano", "lyon")
    with open_uow() as uow:
        again = _active(uow, wo)
        assert again.site == outcome.site
        assert _reserved(uow, "berlin", "PCB-MAIN") == 0
        assert _reserved(uow, outcome.site, "PCB-MAIN") == 1
        berlin = next(c for c in again.explanation["candidates"] if c["site"] == "berlin")
        assert berlin["reasons"] == ["declined: printer queue full"]
        history = routing_view(uow, wo)["history"]
        assert [h["status"] for h in history] == ["declined", "offered"]


def test_no_answer_in_time_passes_the_work_on(open_uow: Uows, place_order: PlaceOrder) -> None:
    [wo] = place_order({"keys": 4})
    _route(open_uow)
    with open_uow() as uow:
        assert service.expire_overdue(uow, now=NOW + timedelta(minutes=10)) == []
        outcomes = service.expire_overdue(uow, now=NOW + timedelta(hours=5))
        uow.commit()
    assert [o.site for o in outcomes] != ["berlin"]
    with open_uow() as uow:
        rows = uow.session.scalars(
            select(AssignmentRow).where(AssignmentRow.work_order_id == wo).order_by(AssignmentRow.created_at)
        ).all()
        assert rows[0].status == "expired"
        assert rows[1].site != "berlin"
        assert service.accept(uow, rows[1].id).status == "accepted"


def test_an_order_that_may_not_split_moves_together(open_uow: Uows, place_order: PlaceOrder) -> None:
    ids = place_order({"keys": 4, "color": "red"}, {"keys": 8, "color": "white"})
    outcomes = _route(open_uow, [ids[0]])  # its sibling comes along
    assert len(outcomes) == 1
    assert outcomes[0].work_order_ids == ids
    with open_uow() as uow:
        first = _active(uow, ids[0])
        assert _active(uow, ids[1]).group_id == first.group_id
        service.decline(uow, first.id, "no red today", now=NOW)
        uow.commit()
    with open_uow() as uow:
        sites = {_active(uow, wo).site for wo in ids}
        assert len(sites) == 1
        assert sites != {"berlin"}


def test_a_machine_down_reroutes_the_work_it_rules_out(open_uow: Uows, place_order: PlaceOrder) -> None:
    [engraved] = place_order({"keys": 4, "engraving": "Hugo"})
    [plain] = place_order({"keys": 4})
    _route(open_uow)
    with open_uow() as uow:
        event = site_events.SiteEvent("machine_down", "berlin", machine="ber-laser-1", reason="lens cracked")
        outcome = site_events.apply_event(uow, event, now=NOW)
        uow.commit()
    assert [o.work_order_ids for o in outcome.rerouted] == [[engraved]]
    with open_uow() as uow:
        assert _active(uow, engraved).site == "milano"
        assert _active(uow, plain).site == "berlin"
        berlin = next(c for c in _active(uow, engraved).explanation["candidates"] if c["site"] == "berlin")
        assert berlin["reasons"] == ["machine ber-laser-1 down"]


def test_a_closed_day_repromises_and_flags_the_slip(open_uow: Uows, place_order: PlaceOrder) -> None:
    [wo] = place_order({"keys": 4})
    _route(open_uow)
    with open_uow() as uow:
        event = site_events.SiteEvent("site_closed", "berlin", day=date(2026, 3, 2), reason="power cut")
        outcome = site_events.apply_event(uow, event, now=NOW)
        uow.commit()
    assert outcome.slipped == [wo]
    with open_uow() as uow:
        row = _active(uow, wo)
        assert (row.promised_ship_date, row.slipped) == ("2026-03-03", True)
        reasons = uow.session.scalars(
            select(AuditEventRow.reason).where(AuditEventRow.to_status == "promise_slipped")
        ).all()
        assert reasons and "first promised 2026-03-03" in reasons[0]


def test_a_stock_count_that_falls_short_moves_the_newest_work(
    open_uow: Uows, place_order: PlaceOrder
) -> None:
    older = place_order({"keys": 4, "engraving": "One"})[0]
    newer = place_order({"keys": 4, "engraving": "Two"})[0]
    _route(open_uow)
    with open_uow() as uow:
        event = site_events.SiteEvent("stock_count", "berlin", part="NAMEPLATE", qty=Decimal(1))
        outcome = site_events.apply_event(uow, event, now=NOW)
        uow.commit()
    assert [o.work_order_ids for o in outcome.rerouted] == [[newer]]
    with open_uow() as uow:
        assert _active(uow, older).site == "berlin"
        assert _active(uow, newer).site == "milano"
        assert _reserved(uow, "berlin", "NAMEPLATE") == 1


def test_everything_down_falls_back_to_central(open_uow: Uows, place_order: PlaceOrder) -> None:
    with open_uow() as uow:
        for site, machine in (("berlin", "ber-flash-1"), ("lyon", "lyo-flash-1"), ("milano", "mil-flash-1")):
            site_events.apply_event(
                uow, site_events.SiteEvent("machine_down", site, machine=machine), now=NOW
            )
        uow.commit()
    [wo] = place_order({"keys": 4})
    [outcome] = _route(open_uow)
    assert (outcome.site, outcome.central) == ("central", True)
    with open_uow() as uow:
        row = _active(uow, wo)
        assert row.status == "accepted"  # the contract factory does not need to be asked
        assert row.promised_ship_date == "2026-04-13"  # 42 days
        assert _reserved(uow, "berlin", "PCB-MAIN") == 0


def test_an_address_without_coordinates_is_located_approximately(
    open_uow: Uows, place_order: PlaceOrder
) -> None:
    place_order({"keys": 4}, ship_to=Address(name="Ana", city="Lyon", country="FR"))
    place_order({"keys": 4}, ship_to=LYON)
    located, exact = _route(open_uow)
    assert located.site == exact.site == "lyon"
    assert located.explanation["destination"]["precision"] == "city"
    assert located.explanation["distance_approximate"] is True
    assert exact.explanation["distance_approximate"] is False
