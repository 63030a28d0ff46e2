"""The agent's own SQLite file: what it pulled, what runs where, and the reports it still owes.

The server may be unreachable for hours; the agent must not lose a report nor forget a job when
it restarts. So every change of an operation and the report that tells of it are written in one
transaction, and reports leave in the order they were made (`seq`). The file belongs to one agent
process; stdlib `sqlite3` is enough (WAL, `synchronous=FULL`: a report written is a report kept).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from microfactory.production.agent.model import (
    AgentOperation,
    Outcome,
    Report,
    ReportResult,
    SiteMachine,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    rank INTEGER NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    machine TEXT,
    job TEXT,
    program TEXT,
    started_at TEXT,
    finished_at TEXT,
    note TEXT
);
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    operation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS machines (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
"""


class LocalState(StrEnum):
    """An operation as this agent knows it; only `pending` ones may be replaced by a new pull."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunningJob:
    operation: AgentOperation
    machine: str
    job: str
    program: str | None
    started_at: datetime


class AgentStore:
    """One agent's durable state; open it with the path of its file (`:memory:` for a throwaway)."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- what was pulled ------------------------------------------------------------------------

    def replace_pulled(self, operations: Sequence[AgentOperation]) -> None:
        """Take the server's list: new and changed pending operations in, withdrawn pending ones out.

        An operation running here keeps its state, and so does one that ended here while a report of
        it is still unanswered: the server lists it as released only until that report arrives. One
        that ended here and that the server, having heard every report, lists as released again (a
        failed print released to run again) is pending again.
        """
        ids = [operation.id for operation in operations]
        with self._transaction() as db:
            for rank, operation in enumerate(operations):
                body = json.dumps(operation.as_json())
                db.execute(
                    "INSERT INTO operations (id, rank, body) VALUES (?, ?, ?) ON CONFLICT (id) DO "
                    "UPDATE SET rank = excluded.rank, body = excluded.body, state = 'pending', "
                    "machine = NULL, job = NULL, started_at = NULL, finished_at = NULL "
                    "WHERE state = 'pending' OR (state IN ('done', 'failed') AND NOT EXISTS "
                    "(SELECT 1 FROM reports WHERE operation_id = excluded.id AND sent_at IS NULL))",
                    (operation.id, rank, body),
                )
            marks = ",".join("?" * len(ids))
            db.execute(f"DELETE FROM operations WHERE state = 'pending' AND id NOT IN ({marks})", ids)

    def pending(self) -> list[AgentOperation]:
        """Operations not yet dispatched, in the plan's order."""
        rows = self._db.execute("SELECT body FROM operations WHERE state = 'pending' ORDER BY rank")
        return [AgentOperation.from_json(json.loads(body)) for (body,) in rows]

    def finished_here(self) -> set[str]:
        rows = self._db.execute("SELECT id FROM operations WHERE state = 'done'")
        return {operation_id for (operation_id,) in rows}

    def state_of(self, operation_id: str) -> tuple[LocalState, str | None] | None:
        """An operation's local state and note (why it waits, what failed); None if unknown."""
        row = self._db.execute("SELECT state, note FROM operations WHERE id = ?", (operation_id,)).fetchone()
        return None if row is None else (LocalState(row[0]), row[1])

    def note(self, operation_id: str, why: str) -> None:
        """Say why a pending operation waits (a missing program), for the operator."""
        self._db.execute("UPDATE operations SET note = ? WHERE id = ?", (why, operation_id))

    # -- jobs on machines -----------------------------------------------------------------------

    def running(self) -> list[RunningJob]:
        rows = self._db.execute(
            "SELECT body, machine, job, program, started_at FROM operations WHERE state = 'running' "
            "ORDER BY started_at, rank"
        )
        return [
            RunningJob(AgentOperation.from_json(json.loads(body)), m, j, p, datetime.fromisoformat(at))
            for body, m, j, p, at in rows
        ]

    def started(self, job: RunningJob, report: Report) -> None:
        """The operation runs on its machine, and the report saying so is queued: both or neither."""
        with self._transaction() as db:
            db.execute(
                "UPDATE operations SET state = 'running', machine = ?, job = ?, program = ?, "
                "started_at = ?, note = NULL WHERE id = ?",
                (job.machine, job.job, job.program, job.started_at.isoformat(), job.operation.id),
            )
            self._queue(db, report)

    def ended(self, operation_id: str, state: LocalState, report: Report) -> None:
        """The job finished (done or failed); its report is queued in the same transaction."""
        with self._transaction() as db:
            db.execute(
                "UPDATE operations SET state = ?, finished_at = ?, note = ? WHERE id = ?",
                (str(state), report.at.isoformat(), report.message, operation_id),
            )
            self._queue(db, report)

    # -- the reports queue ----------------------------------------------------------------------

    @staticmethod
    def _queue(db: sqlite3.Connection, report: Report) -> None:
        db.execute(
            "INSERT INTO reports (id, operation_id, body) VALUES (?, ?, ?)",
            (report.id, report.operation_id, json.dumps(report.as_json())),
        )

    def outgoing(self, limit: int = 100) -> list[Report]:
        """Reports not yet answered by the server, oldest first."""
        rows = self._db.execute(
            "SELECT body FROM reports WHERE sent_at IS NULL ORDER BY seq LIMIT ?", (limit,)
        )
        return [Report.from_json(json.loads(body)) for (body,) in rows]

    def queued_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM reports WHERE sent_at IS NULL").fetchone()[0])

    def answered(self, results: Iterable[ReportResult], at: datetime | None = None) -> None:
        """Record the server's answers; an answered report is never sent again."""
        when = (at or datetime.now(UTC)).isoformat()
        with self._transaction() as db:
            for result in results:
                db.execute(
                    "UPDATE reports SET outcome = ?, reason = ?, sent_at = ? WHERE id = ?",
                    (str(result.outcome), result.reason, when, result.id),
                )

    def report_ids(self) -> list[str]:
        """Every report this agent made, answered or not, in the order made (for checks and audits)."""
        return [report_id for (report_id,) in self._db.execute("SELECT id FROM reports ORDER BY seq")]

    def refused(self) -> list[tuple[Report, str]]:
        """Reports the server refused, with its reason: for the operator, never resent."""
        rows = self._db.execute(
            "SELECT body, reason FROM reports WHERE outcome = ? ORDER BY seq", (str(Outcome.REFUSED),)
        )
        return [(Report.from_json(json.loads(body)), reason or "") for body, reason in rows]

    # -- the site's machines, for a start without the server --------------------------------------

    def save_machines(self, machines: Sequence[SiteMachine]) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM machines")
            db.executemany(
                "INSERT INTO machines (id, body) VALUES (?, ?)",
                [(m.id, json.dumps(m.as_json())) for m in machines],
            )

    def machines(self) -> list[SiteMachine]:
        rows = self._db.execute("SELECT body FROM machines ORDER BY id")
        return [SiteMachine.from_json(json.loads(body)) for (body,) in rows]
