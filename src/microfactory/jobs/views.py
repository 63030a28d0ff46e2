"""The operator's view of the job queue: jobs waiting, running and failed, and the live workers.

Read straight from procrastinate's tables in our own session (the read side needs no event loop).
Jobs that succeeded are deleted by the worker (the rows they worked on say what happened), so the
list is what still needs attention. On SQLite there is no queue: the view says so instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.problems import Problem

STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")


def jobs_view(uow: UnitOfWork, status: str | None = None, limit: int = 100) -> dict[str, Any]:
    """`{"queue", "counts", "jobs", "workers"}`: newest jobs first, counts by status."""
    if status is not None and status not in STATUSES:
        raise Invalid(
            "unknown job status", [Problem("status", f"{status!r} is not one of {', '.join(STATUSES)}")]
        )
    session = uow.session
    if session.get_bind().dialect.name != "postgresql":
        return {"queue": "in-process threads (SQLite)", "counts": {}, "jobs": [], "workers": []}
    where = "WHERE status = CAST(:status AS procrastinate_job_status)" if status else ""
    rows = session.execute(
        text(
            "SELECT id, task_name, status::text AS status, attempts, queueing_lock, scheduled_at, worker_id "
            f"FROM procrastinate_jobs {where} ORDER BY id DESC LIMIT :limit"
        ),
        {"status": status, "limit": limit},
    ).mappings()
    counts = session.execute(
        text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status ORDER BY 1")
    ).all()
    workers = session.execute(
        text("SELECT id, last_heartbeat FROM procrastinate_workers ORDER BY id")
    ).mappings()
    return {
        "queue": "procrastinate (PostgreSQL)",
        "counts": {name: int(count) for name, count in counts},
        "jobs": [_job(row) for row in rows],
        "workers": [{"id": w["id"], "last_heartbeat": _at(w["last_heartbeat"])} for w in workers],
    }


def _job(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "task": row["task_name"],
        "status": row["status"],
        "attempts": row["attempts"],
        "scheduled_at": _at(row["scheduled_at"]),
        "worker_id": row["worker_id"],
    }


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
