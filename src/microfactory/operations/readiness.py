"""Is this process ready for traffic? The database answers and its schema is the code's (at head).

`/healthz` says the process and its database are alive; `/readyz` adds what a load balancer must
know before sending requests: a database left behind by a deploy that has not migrated yet would
fail on the first query of a new column. Each check is named; more join the list (the job queue
when it lands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from microfactory.db.migrate import alembic_config


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


Checker = Callable[[], list[Check]]


@cache
def code_heads() -> frozenset[str]:
    """The migration heads this code expects (read once: the scripts do not change while running)."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(scripts.get_heads())


def database_checks(engine: Engine) -> list[Check]:
    """The database answers, and its schema revision is the code's head."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # any failure to reach or read the database: not ready
        return [Check("database", False, f"unreachable: {type(error).__name__}")]
    expected = code_heads()
    schema = (
        Check("migrations", True, f"at head {', '.join(sorted(expected))}")
        if current == expected
        else Check(
            "migrations",
            False,
            f"database at {', '.join(sorted(current)) or 'no revision'}, code expects "
            f"{', '.join(sorted(expected))}: run the migrations",
        )
    )
    return [Check("database", True, engine.dialect.name), schema]


def readiness(checkers: list[Checker]) -> tuple[bool, list[Check]]:
    """Every check of every checker; ready when all pass."""
    checks = [check for checker in checkers for check in checker()]
    return all(check.ok for check in checks), checks
