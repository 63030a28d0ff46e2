"""What the agent knows, without storage or HTTP: operations, machines, reports, and its two rules.

The rules: an operation is **ready** when the server said so or every operation it waits for has
finished here (so work flows on while the link is down), and the **machine** is the one the plan
chose when it is idle, else an idle machine of the same capability loaded with the material.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from microfactory.errors import UpstreamFailure

DEFAULT_MINUTES = 30.0


class ReportEvent(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"


class Outcome(StrEnum):
    """What the server did with a report; a duplicate is a resend it had already applied."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time from the server as aware UTC (a naive one is read as UTC); None if absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UpstreamFailure("server", f"a time must be ISO 8601 text, not {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UpstreamFailure("server", f"{value!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AgentOperation:
    """One released operation as the server hands it to the site (its JSON, read once)."""

    id: str
    work_order_id: str
    op: str
    capability: str
    machine: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    qty: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    ready: bool = True

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AgentOperation:
        """Read the server's JSON; a missing id or capability is the server's fault, not ours."""
        try:
            return cls(
                id=str(data["id"]),
                work_order_id=str(data.get("work_order_id") or ""),
                op=str(data.get("op") or ""),
                capability=str(data["capability"]),
                machine=data.get("machine") or None,
                start=parse_time(data.get("start")),
                end=parse_time(data.get("end")),
                qty=int(data.get("qty") or 1),
                params=dict(data.get("params") or {}),
                after=tuple(str(a) for a in data.get("after") or ()),
                ready=bool(data.get("ready", True)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UpstreamFailure("server", f"an operation the agent cannot read: {error!r}") from None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "work_order_id": self.work_order_id,
            "op": self.op,
            "capability": self.capability,
            "machine": self.machine,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "qty": self.qty,
            "params": dict(self.params),
            "after": list(self.after),
            "ready": self.ready,
        }

    @property
    def material(self) -> str | None:
        value = self.params.get("material")
        return str(value) if value else None

    @property
    def minutes(self) -> float:
        """The planned run time: what a simulated machine takes as the truth."""
        if self.start and self.end and self.end > self.start:
            return (self.end - self.start).total_seconds() / 60
        return DEFAULT_MINUTES


@dataclass(frozen=True, slots=True)
class SiteMachine:
    """A machine of the site as the server describes it, with its connector's spec."""

    id: str
    capability: str
    materials: tuple[str, ...] = ()
    up: bool = True
    connector: Mapping[str, Any] = field(default_factory=lambda: {"kind": "manual"})
    held: bool = False  # on hold for new jobs (quality's SPC): running jobs finish, none start

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SiteMachine:
        """A bare kind (`"moonraker"`) and no connector at all (a manual station) are both accepted."""
        connector = data.get("connector")
        if isinstance(connector, str):
            connector = {"kind": connector}
        spec = {k: v for k, v in dict(connector or {"kind": "manual"}).items() if v is not None}
        try:
            return cls(
                id=str(data["id"]),
                capability=str(data["capability"]),
                materials=tuple(str(m) for m in data.get("materials") or ()),
                up=bool(data.get("up", True)),
                connector=spec,
                held=bool(data.get("held", False)),
            )
        except KeyError as error:
            raise UpstreamFailure("server", f"a machine without {error.args[0]}") from None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "capability": self.capability,
            "materials": list(self.materials),
            "up": self.up,
            "connector": dict(self.connector),
            "held": self.held,
        }

    def can_make(self, operation: AgentOperation) -> bool:
        material = operation.material
        fits = material is None or not self.materials or material in self.materials
        return self.up and not self.held and self.capability == operation.capability and fits


@dataclass(frozen=True, slots=True)
class Report:
    """What happened to an operation on a machine; its id is made here once and never changes."""

    id: str
    operation_id: str
    event: ReportEvent
    machine: str
    at: datetime
    operator: str | None = None
    message: str | None = None
    program: str | None = None
    material_lot: str | None = None  # sent only when known; else the server takes the site's lot

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation_id": self.operation_id,
            "event": str(self.event),
            "machine": self.machine,
            "at": self.at.astimezone(UTC).isoformat(),
            "operator": self.operator,
            "message": self.message,
            "program": self.program,
            **({"material_lot": self.material_lot} if self.material_lot else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        """A queued report back from the agent's store (written there by `as_json`)."""
        return cls(
            id=data["id"],
            operation_id=data["operation_id"],
            event=ReportEvent(data["event"]),
            machine=data["machine"],
            at=datetime.fromisoformat(data["at"]),
            operator=data.get("operator"),
            message=data.get("message"),
            program=data.get("program"),
            material_lot=data.get("material_lot"),
        )


@dataclass(frozen=True, slots=True)
class ReportResult:
    id: str
    outcome: Outcome
    reason: str | None = None


def is_ready(operation: AgentOperation, finished_here: Collection[str]) -> bool:
    """Ready when the server said so, or when all it waits for has finished on this site."""
    return operation.ready or all(before in finished_here for before in operation.after)


def choose_machine(
    operation: AgentOperation, machines: Iterable[SiteMachine], busy: Collection[str]
) -> SiteMachine | None:
    """The plan's machine if it is idle and able, else the first idle equivalent by id; None if none."""
    able = [m for m in machines if m.id not in busy and m.can_make(operation)]
    planned = [m for m in able if m.id == operation.machine]
    ranked = planned or sorted(able, key=lambda m: m.id)
    return ranked[0] if ranked else None
