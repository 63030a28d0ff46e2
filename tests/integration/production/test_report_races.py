"""Two connections send the same reports at the same moment: each report is applied exactly once.

On PostgreSQL the second insert of a report id waits for the first transaction and then fails on
the primary key (a duplicate); on SQLite the second writer waits for the write lock and then finds
the report stored. Either way nothing is counted twice.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from microfactory.db.engine import make_engine
from microfactory.db.tables.orders import AuditEventRow
from microfactory.db.tables.production import OperationReportRow, OperationRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.model import Report
from microfactory.production.reports import ReportResult, apply_reports

from .berlin_work import NOW, operations, release, report, route_keypads


def _race(database_url: str, reports: list[Report]) -> list[list[ReportResult]]:
    """Both threads, each with an engine of its own, apply the same reports after one barrier."""
    barrier = threading.Barrier(2)
    answers: list[list[ReportResult]] = []
    failures: list[BaseException] = []

    def agent() -> None:
        engine = make_engine(database_url)
        try:
            with UnitOfWork.for_engine(engine) as uow:
                barrier.wait(timeout=30)
                results = apply_reports(uow, "berlin", reports, actor="agent")
                uow.commit()
            answers.append(results)
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=agent) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    return answers


def test_racing_resends_apply_each_report_once(engine: Engine, database_url: str, examples: Path) -> None:
    (work_order,) = route_keypads(engine, examples, ["black"])
    release(engine)
    ready = [op for op in operations(engine) if op["ready"]]
    assert len(ready) >= 3
    for round_, op in enumerate(ready[:3]):
        at = NOW + timedelta(minutes=10 * round_)
        reports = [report(op, "started", at), report(op, "finished", at + timedelta(minutes=4))]
        first, second = _race(database_url, reports)
        for index in range(2):
            assert sorted([first[index].outcome, second[index].outcome]) == ["applied", "duplicate"]
    with UnitOfWork.for_engine(engine) as uow:
        rows = uow.session.scalars(
            select(OperationRow).where(OperationRow.id.in_([op["id"] for op in ready[:3]]))
        )
        assert {(row.status, row.attempts) for row in rows} == {("done", 1)}
        assert len(uow.session.scalars(select(OperationReportRow)).all()) == 6
        moves = uow.session.scalars(
            select(AuditEventRow.to_status).where(AuditEventRow.entity_id == work_order)
        ).all()
        assert moves.count("in_progress") == 1
