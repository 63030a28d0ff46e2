"""Two workers handing off the same parcel at once, on PostgreSQL with their own connections: one label.

Both dispatch at the same moment (the outbox claim gives the message to one), and both run the handoff
of the parcel directly at once (as a worker that outlived its lease and its heir would): the carrier is
asked under the parcel's id each time, so one label is bought and one is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from microfactory.db.engine import make_engine, make_session_factory
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics import packing
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.model import BreakerPolicy
from microfactory.logistics.service import get_shipment
from microfactory.outbox.model import MessageStatus
from tests.integration.logistics.carriers import Clock
from tests.integration.logistics.conftest import dispatch, made_order, shopify_messages

pytestmark = pytest.mark.postgres


def _at_once(*work: Callable[[], object]) -> list[BaseException]:
    barrier = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failures


def _own_handoff(url: str, handoff: Handoff, worker: str) -> Handoff:
    """A second process's view: its own engine and connections, the same carrier."""
    factory = make_session_factory(make_engine(url))
    return Handoff(factory, handoff.carriers, handoff.clock, BreakerPolicy(), worker=worker)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_at_once_buy_one_label(
    database_url: str, factory: sessionmaker[Session], handoff: Handoff, courier: object, clock: Clock
) -> None:
    orders = [made_order(factory, f"60{n}") for n in range(3)]
    with UnitOfWork(factory) as uow:
        ids = [packing.pack(uow, order_id, actor="packer").shipments[0].id for order_id in orders]
        uow.commit()
    first, second = _own_handoff(database_url, handoff, "a"), _own_handoff(database_url, handoff, "b")
    reports: list[object] = []
    failures = _at_once(
        lambda: reports.append(dispatch(first.factory, first, clock(), worker="a")),
        lambda: reports.append(dispatch(second.factory, second, clock(), worker="b")),
    )
    assert failures == []
    done = sum(report.count(MessageStatus.DONE) for report in reports)  # type: ignore[attr-defined]
    assert done == 3
    assert sorted(courier.purchases) == sorted(ids)  # type: ignore[attr-defined]
    assert len(courier.buy_calls) == 3  # type: ignore[attr-defined]
    assert len(shopify_messages(factory)) == 3


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_handoffs_of_one_parcel_at_once_record_one_label(
    database_url: str, factory: sessionmaker[Session], handoff: Handoff, courier: object
) -> None:
    order_id = made_order(factory, "6100")
    with UnitOfWork(factory) as uow:
        shipment_id = packing.pack(uow, order_id, actor="packer").shipments[0].id
        uow.commit()
    first, second = _own_handoff(database_url, handoff, "a"), _own_handoff(database_url, handoff, "b")
    failures = _at_once(lambda: first.run(shipment_id), lambda: second.run(shipment_id))
    assert failures == []
    assert courier.purchases == [shipment_id]  # type: ignore[attr-defined]
    with UnitOfWork(factory) as uow:
        row = get_shipment(uow, shipment_id)
        assert row.status == "shipped" and row.tracking_number is not None
    (message,) = shopify_messages(factory)
    assert message["tracking_number"] == row.tracking_number
