"""SPC from storage: defect rates from inspections, telemetry from readings, and machine holds.

Charts are built by the pure `quality.spc`; this module feeds them and acts on what they say. A
signal on a machine's chart (its defect rate, or one of its telemetry metrics) that shows at the
newest point puts the machine **on hold for new jobs**: one `machine_holds` row in force per
machine (a partial unique index; a second signal while it holds changes nothing), with the signal
explained, and an `spc` alert beside the telemetry alerts. Routing, planning and the agent's
reports leave a held machine out of new work (`held_machines`); running jobs finish. Only a person
releases a hold, with a reason (a conditional UPDATE: two releases at once, one wins).

Defect rates are charted per UTC day (subgroups of varying size) and judged once there are
`MIN_SUBGROUPS` days, so the first few units of a new machine never hold it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from microfactory.db.base import new_id
from microfactory.db.tables.quality import InspectionRow, MachineHoldRow
from microfactory.db.tables.telemetry import AlertRow, TelemetryReadingRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid
from microfactory.problems import Problem
from microfactory.quality import spc
from microfactory.quality.views import hold_view

MIN_SUBGROUPS = 5
MIN_READINGS = 16
TELEMETRY_POINTS = 500
BY = ("machine", "site", "product")


def defect_chart(uow: UnitOfWork, by: str, key: str) -> spc.Chart:
    """The p-chart of one machine's, site's or product's defect rate, one point per UTC day."""
    if by not in BY:
        raise Invalid("unknown chart", [Problem("by", f"{by!r} is not one of {', '.join(BY)}")])
    query = select(InspectionRow.created_at, InspectionRow.verdict, InspectionRow.machines)
    if by == "site":
        query = query.where(InspectionRow.site == key)
    elif by == "product":
        query = query.where(InspectionRow.product == key)
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for at, verdict, machines in uow.session.execute(query.order_by(InspectionRow.created_at)):
        if by == "machine" and key not in machines:
            continue
        if verdict == "review":
            continue  # not judged yet: neither good nor defective
        day = days[at.date().isoformat()]
        day[0] += verdict == "fail"
        day[1] += 1
    groups = [(label, d, n) for label, (d, n) in sorted(days.items())]
    return spc.p_chart(f"{by} {key} defect rate", groups)


def telemetry_chart(
    uow: UnitOfWork, machine: str, metric: str, size: int = 1, baseline: int | None = None
) -> spc.Chart:
    """An individuals chart (size 1) or X-bar/R chart (size 2..10) of a machine's newest readings.

    Limits come from the older half of the readings unless `baseline` says how many.
    """
    rows = uow.session.execute(
        select(TelemetryReadingRow.ts, TelemetryReadingRow.value)
        .where(TelemetryReadingRow.machine == machine, TelemetryReadingRow.metric == metric)
        .order_by(TelemetryReadingRow.ts.desc(), TelemetryReadingRow.id.desc())
        .limit(TELEMETRY_POINTS)
    ).all()
    readings = [(ts.isoformat(), float(value)) for ts, value in reversed(rows)]
    subject = f"machine {machine} {metric}"
    if size == 1:
        return spc.individuals_chart(subject, readings, baseline or max(8, len(readings) // 2))
    groups = len(readings) // size
    return spc.xbar_r_chart(subject, readings, size, baseline or max(4, groups // 2))


def fresh_signals(chart: spc.Chart, minimum: int) -> list[spc.Signal]:
    """Signals that show at the chart's newest point, once it has `minimum` points."""
    if len(chart.points) < minimum:
        return []
    newest = len(chart.points) - 1
    return [signal for signal in chart.signals() if signal.last == newest]


def check_defect_rates(
    uow: UnitOfWork, site: str, machines: Iterable[str], now: datetime
) -> list[dict[str, Any]]:
    """Chart each of the site's machines' defect rate and hold those whose newest day is out of control."""
    holds = []
    for machine in machines:
        chart = defect_chart(uow, "machine", machine)
        for signal in fresh_signals(chart, MIN_SUBGROUPS)[:1]:
            held = hold_machine(uow, site, machine, "p:defects", signal, chart, now)
            if held is not None:
                holds.append(hold_view(held))
    return holds


def check_telemetry(
    uow: UnitOfWork, subjects: Iterable[tuple[str, str, str]], now: datetime
) -> list[dict[str, Any]]:
    """Chart each (site, machine, metric) that reported (an individuals chart of its newest
    readings) and hold the machines whose newest reading breaks a Western Electric rule.

    Run by the telemetry subscriber after its batches, throttled (`Housekeeping.spc_every`), not
    per reading: a chart reads a few hundred readings.
    """
    holds = []
    for site, machine, metric in sorted(set(subjects)):
        chart = telemetry_chart(uow, machine, metric)
        for signal in fresh_signals(chart, MIN_READINGS)[:1]:
            held = hold_machine(uow, site, machine, f"x:{metric}", signal, chart, now)
            if held is not None:
                holds.append(hold_view(held))
    return holds


def hold_machine(
    uow: UnitOfWork,
    site: str,
    machine: str,
    chart_name: str,
    signal: spc.Signal,
    chart: spc.Chart,
    now: datetime,
) -> MachineHoldRow | None:
    """Put the machine on hold for new jobs (None when a hold is already in force) and raise an alert."""
    if in_force(uow, site, machine) is not None:
        return None
    row = MachineHoldRow(
        id=new_id("hold"),
        site=site,
        machine=machine,
        chart=chart_name,
        rule=signal.rule,
        explanation=signal.explanation,
        signal={**signal.as_dict(), "points": [chart.point_view(i) for i in signal.points]},
        held_at=now,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:  # another process held it a moment ago
        return None
    metric = chart_name.split(":", 1)[1] if chart_name.startswith("x:") else None
    uow.session.add(
        AlertRow(
            id=new_id("alert"),
            kind="spc",
            site=site,
            machine=machine,
            metric=metric,
            message=f"on hold for new jobs: {signal.explanation}",
            at=now,
            operation_id=None,
            closed_at=None,
            closed_by=None,
        )
    )
    return row


def in_force(uow: UnitOfWork, site: str, machine: str) -> MachineHoldRow | None:
    return uow.session.scalars(
        select(MachineHoldRow).where(
            MachineHoldRow.site == site,
            MachineHoldRow.machine == machine,
            MachineHoldRow.released_at.is_(None),
        )
    ).one_or_none()


def list_holds(uow: UnitOfWork, *, everything: bool = False, site: str | None = None) -> list[MachineHoldRow]:
    """Holds in force (all of them with `everything`), oldest first."""
    query = select(MachineHoldRow).order_by(MachineHoldRow.held_at, MachineHoldRow.id)
    if not everything:
        query = query.where(MachineHoldRow.released_at.is_(None))
    if site:
        query = query.where(MachineHoldRow.site == site)
    return list(uow.session.scalars(query))


def release_hold(
    uow: UnitOfWork, machine: str, reason: str, actor: str, now: datetime, site: str | None = None
) -> MachineHoldRow:
    """A person releases a machine's hold with a reason; `Conflict` when none is in force."""
    if not reason.strip():
        raise Invalid("a release needs a reason", [Problem("reason", "must not be empty")])
    query = select(MachineHoldRow).where(
        MachineHoldRow.machine == machine, MachineHoldRow.released_at.is_(None)
    )
    if site:
        query = query.where(MachineHoldRow.site == site)
    held = uow.session.scalars(query).all()
    if not held:
        from microfactory.quality.spc_runs import machine_site

        machine_site(uow, machine)  # NotFound for a machine the network does not have
        raise Conflict(f"machine {machine} is not on hold")
    if len(held) > 1:
        raise Invalid(
            "which site?",
            [Problem("site", f"machine {machine} is held at {', '.join(h.site for h in held)}")],
        )
    row = held[0]
    done = uow.session.execute(
        update(MachineHoldRow)
        .where(MachineHoldRow.id == row.id, MachineHoldRow.released_at.is_(None))
        .values(released_at=now, released_by=actor, release_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"machine {machine}'s hold was released a moment ago by someone else")
    uow.session.refresh(row)
    return row


def held_machines(uow: UnitOfWork, sites: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
    """Machines on hold for new jobs, by site: machine → the signal's explanation."""
    query = select(MachineHoldRow.site, MachineHoldRow.machine, MachineHoldRow.explanation).where(
        MachineHoldRow.released_at.is_(None)
    )
    if sites is not None:
        query = query.where(MachineHoldRow.site.in_(sites))
    held: dict[str, dict[str, str]] = defaultdict(dict)
    for site, machine, explanation in uow.session.execute(query):
        held[site][machine] = explanation
    return dict(held)
