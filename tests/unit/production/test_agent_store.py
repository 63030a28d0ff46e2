"""The agent's own SQLite store: reports leave in the order they were made, a restart keeps all."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from microfactory.production.agent.model import AgentOperation, Outcome, Report, ReportEvent, ReportResult
from microfactory.production.agent.store import AgentStore, LocalState, RunningJob

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def op(op_id: str, after: tuple[str, ...] = ()) -> AgentOperation:
    return AgentOperation(op_id, "wo_1", f"make:{op_id}", "fdm_print", machine="fdm-1", after=after)


def report(number: int, operation_id: str, event: ReportEvent = ReportEvent.STARTED) -> Report:
    return Report(f"r{number}", operation_id, event, "fdm-1", T0 + timedelta(minutes=number), operator="ana")


def test_reports_leave_in_the_order_they_were_made_and_a_restart_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "site.db"
    store = AgentStore(path)
    store.replace_pulled([op("op_2"), op("op_1")])
    store.started(RunningJob(op("op_2"), "fdm-1", "job-1", "A.gcode", T0), report(3, "op_2"))
    store.ended("op_2", LocalState.DONE, report(1, "op_2", ReportEvent.FINISHED))
    store.started(RunningJob(op("op_1"), "fdm-2", "job-2", None, T0), report(2, "op_1"))
    store.close()

    again = AgentStore(path)
    assert [r.id for r in again.outgoing()] == ["r3", "r1", "r2"]  # made order, not the times inside
    assert again.outgoing()[1] == report(1, "op_2", ReportEvent.FINISHED)
    assert again.finished_here() == {"op_2"}
    assert [(j.operation.id, j.machine, j.job) for j in again.running()] == [("op_1", "fdm-2", "job-2")]

    again.answered([ReportResult("r3", Outcome.APPLIED), ReportResult("r1", Outcome.REFUSED, "out of order")])
    assert [r.id for r in again.outgoing()] == ["r2"]
    assert again.queued_count() == 1
    assert [(r.id, why) for r, why in again.refused()] == [("r1", "out of order")]


def test_a_pull_replaces_only_what_has_not_started(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.db")
    store.replace_pulled([op("op_1"), op("op_2"), op("op_3")])
    store.started(RunningJob(op("op_1"), "fdm-1", "job-1", None, T0), report(1, "op_1"))
    store.note("op_3", "no program")

    store.replace_pulled([op("op_3", after=("op_9",)), op("op_1")])  # op_2 withdrawn; op_1 still listed
    assert [(o.id, o.after) for o in store.pending()] == [("op_3", ("op_9",))]
    assert store.state_of("op_1") == (LocalState.RUNNING, None)
    assert store.state_of("op_2") is None
    assert store.state_of("op_3") == (LocalState.PENDING, "no program")
    store.replace_pulled([])
    assert store.pending() == [] and store.state_of("op_1") is not None


def test_a_report_and_the_state_it_tells_of_are_written_together(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.db")
    store.replace_pulled([op("op_1")])
    store.started(RunningJob(op("op_1"), "fdm-1", "job-1", None, T0), report(1, "op_1"))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):  # the same report id again
        store.ended("op_1", LocalState.DONE, report(1, "op_1"))
    # the whole change is refused: the operation stays as it was
    assert store.state_of("op_1") == (LocalState.RUNNING, None)
    assert store.queued_count() == 1


def test_an_operation_that_failed_here_runs_again_once_the_server_heard_and_releases_it(
    tmp_path: Path,
) -> None:
    store = AgentStore(tmp_path / "agent.db")
    store.replace_pulled([op("op_1")])
    store.started(RunningJob(op("op_1"), "fdm-1", "job-1", None, T0), report(1, "op_1"))
    store.ended("op_1", LocalState.FAILED, report(2, "op_1", ReportEvent.FAILED))
    store.answered([ReportResult("r1", Outcome.APPLIED)])

    store.replace_pulled([op("op_1")])  # still listed: the failure has not reached the server
    assert store.state_of("op_1") == (LocalState.FAILED, None)
    assert store.pending() == []

    store.answered([ReportResult("r2", Outcome.APPLIED)])
    store.replace_pulled([op("op_1")])  # released again after the server heard of the failure
    assert store.state_of("op_1") == (LocalState.PENDING, None)
    assert [o.id for o in store.pending()] == ["op_1"]
