"""Each partner's circuit breaker in storage, shared by every process, and its `carrier` alert.

A partner that keeps failing (timeouts, 5xx, connection errors: `counts_as_failure`) is paused:
after `BreakerPolicy.failures_to_open` failures in a row its breaker opens for the cool-down, and
handoffs do not call it (they wait, or go to the site's fallback partner). When the cool-down is
over, one worker claims the probe (a conditional UPDATE, so two workers never probe at once; a
probe whose worker died is claimable again after another cool-down); its success closes the
breaker, its failure opens it again. Opening raises one open alert of kind `carrier` (`GET
/api/v1/alerts`: `machine` names the partner); closing closes it.

Every change is its own short transaction: a carrier call happens outside any transaction, and its
outcome must count even when the handoff that made it fails afterwards.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from microfactory.db.base import new_id
from microfactory.db.tables.logistics import PartnerHealthRow
from microfactory.db.tables.telemetry import AlertRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import UpstreamFailure
from microfactory.logistics.model import BreakerPolicy, BreakerState, is_paused, opens_after_failure

ALERT_KIND = "carrier"


def counts_as_failure(error: BaseException) -> bool:
    """Failures of the partner itself, not of our request (a refused address is not the carrier's fault)."""
    return isinstance(error, UpstreamFailure | httpx.TransportError | TimeoutError | ConnectionError)


def _row(session: Session, partner: str, now: datetime) -> PartnerHealthRow:
    row = session.get(PartnerHealthRow, partner)
    if row is not None:
        return row
    row = PartnerHealthRow(partner=partner, state=BreakerState.CLOSED, failures=0, updated_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # created by another worker meanwhile
        found = session.get(PartnerHealthRow, partner)
        assert found is not None
        return found
    return row


def paused_until(factory: sessionmaker[Session], partner: str, now: datetime) -> datetime | None:
    """When the partner may be called again, or None when it may be called now."""
    with factory() as session:
        row = session.get(PartnerHealthRow, partner)
        if row is None or not is_paused(row.state, row.retry_at, now):
            return None
        return row.retry_at or now


def admit(
    factory: sessionmaker[Session], partner: str, now: datetime, worker: str, policy: BreakerPolicy
) -> bool:
    """May this worker call the partner now? Closed: yes; open past its cool-down: one worker probes."""
    with UnitOfWork(factory) as uow, uow.write_turn():
        row = _row(uow.session, partner, now)
        uow.commit()
        if row.state == BreakerState.CLOSED:
            return True
        table = PartnerHealthRow
        claimed = uow.session.execute(
            update(table)
            .where(
                table.partner == partner,
                table.state != BreakerState.CLOSED,
                or_(table.retry_at.is_(None), table.retry_at <= now),
            )
            .values(
                state=BreakerState.HALF_OPEN, probe_by=worker, retry_at=now + policy.cooldown, updated_at=now
            )
        )
        uow.commit()
        return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def succeeded(factory: sessionmaker[Session], partner: str, now: datetime) -> None:
    """The partner answered: its breaker closes and its alert is closed."""
    with UnitOfWork(factory) as uow, uow.write_turn():
        row = uow.session.get(PartnerHealthRow, partner, with_for_update=True)
        if row is None or (row.state == BreakerState.CLOSED and row.failures == 0):
            return
        if row.alert_id is not None:
            alert = uow.session.get(AlertRow, row.alert_id)
            if alert is not None and alert.closed_at is None:
                alert.closed_at, alert.closed_by = now, "logistics: the partner answers again"
        row.state, row.failures, row.retry_at, row.probe_by, row.alert_id = (
            BreakerState.CLOSED,
            0,
            None,
            None,
            None,
        )
        row.updated_at = now
        uow.commit()


def failed(
    factory: sessionmaker[Session],
    partner: str,
    site: str,
    error: str,
    now: datetime,
    policy: BreakerPolicy,
) -> bool:
    """Count a failure; True when it (re)opened the breaker. Raises the partner's alert once."""
    with UnitOfWork(factory) as uow, uow.write_turn():
        _row(uow.session, partner, now)
        row = uow.session.get(PartnerHealthRow, partner, with_for_update=True, populate_existing=True)
        assert row is not None
        row.failures += 1
        row.last_error = error[:2000]
        row.updated_at = now
        opened = opens_after_failure(row.state, row.failures, policy)
        if opened:
            row.state, row.opened_at, row.retry_at, row.probe_by = (
                BreakerState.OPEN,
                now,
                now + policy.cooldown,
                None,
            )
            if row.alert_id is None:
                row.alert_id = raise_alert(
                    uow,
                    site,
                    partner,
                    f"partner {partner} paused until {row.retry_at.isoformat()} after {row.failures} "
                    f"failures in a row: {error[:300]}",
                    now,
                )
        uow.commit()
        return opened


def raise_alert(
    uow: UnitOfWork, site: str, subject: str, message: str, now: datetime, kind: str = ALERT_KIND
) -> str:
    """An open alert (the telemetry alerts table): `machine` names the partner or the shipment."""
    alert = AlertRow(id=new_id("alr"), kind=kind, site=site, machine=subject, message=message[:2000], at=now)
    uow.session.add(alert)
    return alert.id


def health_view(row: PartnerHealthRow) -> dict[str, object]:
    return {
        "partner": row.partner,
        "state": row.state,
        "failures": row.failures,
        "retry_at": row.retry_at.isoformat() if row.retry_at else None,
        "last_error": row.last_error,
    }
