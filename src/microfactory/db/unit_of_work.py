"""The unit of work: one transaction per use case, events handled after it commits.

Services take a `UnitOfWork`; the API, the CLI and the workers each open one per request or job.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from microfactory.db.engine import make_session_factory, write_lock

AfterCommit = Callable[[], Any]


class UnitOfWork:
    """A session and its transaction; `commit` once at the end of a use case."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self.session: Session = factory()
        self._after_commit: list[AfterCommit] = []
        self._before_commit: dict[str, AfterCommit] = {}
        self.staged: dict[str, list[Any]] = {}  # rows written in bulk just before commit

    @property
    def session_factory(self) -> sessionmaker[Session]:
        """Where this unit's sessions come from (for helpers that need a session of their own)."""
        return self._factory

    @classmethod
    def for_engine(cls, engine: Engine) -> UnitOfWork:
        return cls(make_session_factory(engine))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.rollback()
        self.session.close()

    def after_commit(self, action: AfterCommit) -> None:
        """Run `action` once the transaction has committed (domain events, notifications)."""
        self._after_commit.append(action)

    def before_commit(self, name: str, action: AfterCommit) -> None:
        """Run `action` once, inside the transaction, just before it commits (batched writes)."""
        self._before_commit.setdefault(name, action)

    def commit(self) -> None:
        staged, self._before_commit = self._before_commit, {}
        for write in staged.values():
            write()
        self.staged.clear()
        self.session.commit()
        done, self._after_commit = self._after_commit, []
        for action in done:
            action()

    def write_turn(self) -> AbstractContextManager[Any]:
        """This database's write turn (SQLite has one writer at a time; see `db.engine.write_lock`)."""
        return write_lock(self.engine)

    @property
    def engine(self) -> Engine:
        bind = self.session.get_bind()
        return bind if isinstance(bind, Engine) else bind.engine

    def rollback(self) -> None:
        self.session.rollback()
        self._after_commit.clear()
        self._before_commit.clear()
        self.staged.clear()
