"""The declarative base and the column types every table shares.

Money is `Numeric` read back as `Decimal`; times are stored as UTC and always come back aware, on
SQLite as on PostgreSQL, so no naive datetime ever leaves the storage layer.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from microfactory.errors import Invalid
from microfactory.problems import Problem

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime; refuses naive values so that no local time slips in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Money = Numeric(14, 4, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy's own class attribute
        datetime: UTCDateTime(),
        Decimal: Money,
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


@dataclass
class Replay:
    """Ids and times drawn from a seed and a simulated clock instead of the machine's.

    A simulation (the demo) runs inside `replaying(seed, start)`, so that the same seed gives the
    same rows: the same ids (which break ties in queues and batches) and the same timestamps (which
    order work), and therefore the same routing and the same plans.
    """

    ids: random.Random
    clock: datetime
    tick: timedelta = timedelta(microseconds=1)  # every stamp later than the last: no ties

    def now(self) -> datetime:
        self.clock += self.tick
        return self.clock


_REPLAY: ContextVar[Replay | None] = ContextVar("microfactory_replay", default=None)


@contextmanager
def replaying(seed: int, start: datetime) -> Iterator[Replay]:
    """Within the block, `new_id` and `utcnow` follow `seed` and a clock starting at `start` (aware)."""
    if start.tzinfo is None:
        raise Invalid("no simulated start", [Problem("start", "a time zone is needed (e.g. ...Z)")])
    replay = Replay(random.Random(seed), start.astimezone(UTC))
    token = _REPLAY.set(replay)
    try:
        yield replay
    finally:
        _REPLAY.reset(token)


def utcnow() -> datetime:
    replay = _REPLAY.get()
    return replay.now() if replay is not None else datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A stable, readable identifier such as `ord_3f2a...`: the prefix says what it names."""
    replay = _REPLAY.get()
    if replay is None:
        return f"{prefix}_{uuid.uuid4().hex}"
    return f"{prefix}_{uuid.UUID(int=replay.ids.getrandbits(128), version=4).hex}"
