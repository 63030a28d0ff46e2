"""Pure rules of production: an operation's states, what a report does to them, unit serials.

An operation is one step of one work order at one site, released by a stored plan. The agent (or a
person at a manual station) reports what happened to it; each report is an event that moves the
operation through `OPERATION_MOVES`, a table like `orders.lifecycle`'s. A report id is the agent's
idempotency key: the same id with the same content is a duplicate, with other content a refusal
that names what differs (`differences`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class OperationStatus(StrEnum):
    PLANNED = "planned"  # in the stored plan, not yet given to the site (its work is only offered)
    RELEASED = "released"  # the site's agent may run it once its predecessors are done
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # may be started again
    HELD = "held"  # quality stopped it, with a reason


class Event(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"


S = OperationStatus
# (status, event) -> the status it leads to; a pair not in the table is refused with a reason.
OPERATION_MOVES: Mapping[tuple[OperationStatus, Event], OperationStatus] = {
    (S.RELEASED, Event.STARTED): S.RUNNING,
    (S.FAILED, Event.STARTED): S.RUNNING,
    (S.RUNNING, Event.FINISHED): S.DONE,
    (S.RUNNING, Event.FAILED): S.FAILED,
}
# Statuses a new release may replace: nothing happened to them yet.
NOT_STARTED = frozenset({S.PLANNED, S.RELEASED})
# Statuses the agent is shown by default.
ACTIONABLE = frozenset({S.RELEASED, S.FAILED})
REPORT_FIELDS = ("operation_id", "event", "machine", "at", "operator", "message", "program", "material_lot")


@dataclass(frozen=True, slots=True)
class Report:
    """What the agent saw happen to an operation; `id` is made by the agent, once per happening."""

    id: str
    operation_id: str
    event: Event
    machine: str
    at: datetime  # aware UTC
    operator: str | None = None
    message: str | None = None
    program: str | None = None
    material_lot: str | None = None  # the lot of the material used, when the reporter knows it

    def content(self) -> dict[str, Any]:
        """The report without its id: what a resend must repeat exactly.

        `material_lot` appears only when given, so reports stored before lots existed keep their hash.
        """
        lot = {"material_lot": self.material_lot} if self.material_lot is not None else {}
        return {
            "operation_id": self.operation_id,
            "event": self.event.value,
            "machine": self.machine,
            "at": self.at.isoformat(),
            "operator": self.operator,
            "message": self.message,
            "program": self.program,
            **lot,
        }


def content_hash(content: Mapping[str, Any]) -> str:
    """A stable digest of a report's content (key order and spacing do not matter)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The fields whose values differ between a stored report and a resend, named with both values."""
    return [
        f"{name}: {before.get(name)!r} before, {now.get(name)!r} now"
        for name in REPORT_FIELDS
        if before.get(name) != now.get(name)
    ]


def next_status(operation_id: str, status: OperationStatus, event: Event) -> OperationStatus | str:
    """The status an event leads to, or why the event cannot apply (a refusal's reason)."""
    moved = OPERATION_MOVES.get((status, event))
    if moved is not None:
        return moved
    allowed = sorted(e.value for (s, e) in OPERATION_MOVES if s == status)
    expected = f"it accepts {', '.join(allowed)}" if allowed else "it accepts no reports"
    return f"operation {operation_id} is {status.value}; {event.value} does not apply ({expected})"


def is_ready(after: Iterable[str], statuses: Mapping[str, OperationStatus]) -> bool:
    """An operation may run once every predecessor is done (`statuses` by op id of its work order)."""
    return all(statuses.get(op) == S.DONE for op in after)


def serial(site: str, made_at: datetime, work_order_id: str, seq: int) -> str:
    """A unit's serial: readable (site, day made, work order, number) and stable for the same unit.

    `MF-BERLIN-260302-3F2A9C1D-001`: the work order's id (random) keeps serials of two work orders
    made the same day apart without a shared counter two processes would have to lock. A work order
    made again (after rework) keeps the units, and serials, it had.
    """
    code = work_order_id.rsplit("_", 1)[-1][:8].upper()
    return f"MF-{site.upper()}-{made_at:%y%m%d}-{code}-{seq:03d}"


# Quality (or a person) may hold a step that is not running; releasing the hold gives it back to the site.
HOLDABLE = frozenset({S.PLANNED, S.RELEASED, S.FAILED})
