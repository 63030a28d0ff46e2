"""Demo stage of production: each site's edge agent runs its released plan on simulated machines.

The plans were released by the scheduling stage. Here every site with released operations gets
a site token and its edge agent (`production.agent.loop.EdgeAgent`), which talks to the real API
in this process (`AgentClient` over a `TestClient`) with that token, keeps its own store (in
memory) and drives the site's simulated machines; a simulated operator works the benches
(`shop_floor`). The clock jumps from one event to the next (a job ends, a person finishes), rounded
up to the agent's poll interval, until nothing is left to run; the server makes each finished work
order's units with their serials.

`run_production` returns the figures (`ProductionFigures`); `produce` is the stage that prints
them and puts them in the report. Later stages (quality, logistics) start from the units made.
"""

from __future__ import annotations

import math
import secrets
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from microfactory.access.tokens import issue_token
from microfactory.api.app import create_app
from microfactory.bootstrap import bootstrap
from microfactory.config import Settings
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationReportRow, OperationRow, UnitRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.agent.client import AgentClient
from microfactory.production.agent.loop import EdgeAgent, ServerLink
from microfactory.production.agent.model import AgentOperation, Report, ReportResult, SiteMachine
from microfactory.production.agent.store import AgentStore
from microfactory.production.model import OperationStatus
from microfactory.scheduling.service import local_site
from microfactory.simulation.shop_floor import (
    BENCH_WORK,
    OPERATOR,
    BenchOperator,
    DemoMachines,
    DemoPrograms,
    SimClock,
    step_minutes,
)

if TYPE_CHECKING:  # demo.py imports this stage
    from microfactory.simulation.demo import DemoRun

SERVER = "http://demo.invalid"  # the TestClient answers every request in-process; nothing leaves it
MAX_MOMENTS = 20_000  # a guard: a plan that cannot finish stops here with its operations left


@dataclass(frozen=True, slots=True)
class SiteProduction:
    """What one site made: its operations, units, when, and how busy its machines were."""

    site: str
    operations: int  # released to the site's agent (its accepted work)
    planned: int  # in the site's plan, not released: work only offered to it (outside the sample)
    done: int
    failed: int  # attempts that failed (each was given back and run again)
    left: int
    work_orders_made: int
    units: int
    first_unit: datetime | None
    last_unit: datetime | None
    utilisation: dict[str, float]  # machine -> share of the site's production window it was busy

    def mean_utilisation(self) -> float:
        return sum(self.utilisation.values()) / len(self.utilisation) if self.utilisation else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "planned_not_released": self.planned,
            "done": self.done,
            "failed": self.failed,
            "left": self.left,
            "work_orders_made": self.work_orders_made,
            "units": self.units,
            "first_unit": _second(self.first_unit),
            "last_unit": _second(self.last_unit),
            "mean_utilisation": round(self.mean_utilisation(), 3),
            "utilisation": {machine: round(share, 3) for machine, share in self.utilisation.items()},
        }


@dataclass(frozen=True, slots=True)
class ProductionFigures:
    """The production stage's figures: per site, and the simulated time it took."""

    start: datetime
    end: datetime
    agent_passes: int
    sites: tuple[SiteProduction, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "start": _second(self.start),
            "end": _second(self.end),
            "simulated_hours": round((self.end - self.start).total_seconds() / 3600, 2),
            "agent_passes": self.agent_passes,
            "units": sum(site.units for site in self.sites),
            "sites": {site.site: site.as_json() for site in self.sites},
        }


@dataclass
class _Site:
    """One site on the shop floor: its agent and machines, its operator, and when it acts next."""

    id: str
    agent: EdgeAgent
    machines: DemoMachines
    operator: BenchOperator
    store: AgentStore
    due: datetime | None

    def next_due(self) -> datetime | None:
        dues = [d for d in (self.machines.next_due(), self.operator.next_due()) if d is not None]
        return min(dues, default=None)


def produce(run: DemoRun) -> None:
    """The stage: run production, print its table, keep its figures for the report."""
    figures = run_production(run)
    run.figures["production"] = figures.as_json()
    _print(run, figures)


def run_production(run: DemoRun, round_name: str = "") -> ProductionFigures:
    """Run every site's released operations to the end on the simulated clock; the figures.

    A later round (the quality stage's rework) names itself, so its agents get tokens of their own.
    """
    if run.replay is None:
        raise RuntimeError("the production stage runs inside the demo's replay")
    clock = SimClock(run.replay)
    start = clock.peek()
    with run.unit_of_work() as uow:
        site_ids = _sites_with_work(uow)
        total = _released(uow)
    with _in_process(_quiet_app(run)) as http:  # one event loop for every request of the stage
        sites = [_site(run, site_id, clock, http, round_name) for site_id in site_ids]
        try:
            passes = _until_done(run, sites, clock, start, total)
        finally:
            for site in sites:
                site.store.close()
    end = clock.peek()
    with run.unit_of_work() as uow:
        return ProductionFigures(start, end, passes, tuple(_figures(uow, s, start) for s in site_ids))


def _until_done(run: DemoRun, sites: list[_Site], clock: SimClock, start: datetime, total: int) -> int:
    """Move the clock from event to event until no site has anything due; the agents' passes.

    The agents poll on a grid from `start`; a site takes a step only when something of its own is due.
    """
    poll = timedelta(minutes=run.settings.agent_poll_minutes)
    passes = 0
    with Progress(console=run.console, transient=True) as progress:
        task = progress.add_task("making: operations done", total=total)
        for _moment in range(MAX_MOMENTS):
            now = clock.peek()
            for site in sites:
                if site.due is not None and site.due <= now:
                    progress.advance(task, _step(run, site, clock))
                    passes += 1
                    site.due = _on_tick(site.next_due(), start, poll)
            dues = [site.due for site in sites if site.due is not None]
            if not dues:
                break
            clock.advance_to(min(dues))
    return passes


def _in_process(app: Any) -> Any:
    """An HTTP client that answers from `app` in this process (Starlette's `TestClient`).

    Requests run on its event loop in the caller's context, so the server side reads the demo's
    simulated clock and seeded ids too. Imported here, quietly: Starlette asks for `httpx2` in
    its test client, and the demo does not need it to talk to itself.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from starlette.testclient import TestClient
    return TestClient(app, base_url=SERVER)


def _quiet_app(run: DemoRun) -> Any:
    """The API over the demo's database, without background workers (they keep their own clocks)."""
    quiet = Settings(
        database_url=run.engine.url.render_as_string(hide_password=False),
        auto_route=False,
        outbox_interval_seconds=0,
        shopify_inbox_autoprocess=False,
        telemetry_listen=False,
        session_secret=secrets.token_urlsafe(32),  # no web logins in the demo: no warning about one
    )
    return create_app(container=bootstrap(quiet, engine=run.engine), migrate=False)


class _SteadyNetwork:
    """The agent's link, reading the site's machines once: the demo's network does not change.

    The site view the agent reads its machines from is the network's whole state of the site;
    read on every pass it would cost the demo more than the work itself.
    """

    def __init__(self, link: ServerLink) -> None:
        self._link = link
        self._machines: list[SiteMachine] | None = None

    def operations(self) -> list[AgentOperation]:
        return self._link.operations()

    def machines(self) -> list[SiteMachine]:
        if self._machines is None:
            self._machines = self._link.machines()
        return self._machines

    def send_reports(self, reports: Sequence[Report]) -> list[ReportResult]:
        return self._link.send_reports(reports)

    def hold(self, operation_id: str, reason: str) -> bool:
        return self._link.hold(operation_id, reason)


def _site(run: DemoRun, site_id: str, clock: SimClock, http: httpx.Client, round_name: str = "") -> _Site:
    """A site's agent with a token of its own, its simulated machines and its operator."""
    with run.unit_of_work() as uow:
        name = f"{site_id}-demo-agent" + (f"-{round_name}" if round_name else "")
        token = issue_token(uow, name, "site", site_id).secret
        minutes = step_minutes(
            (row.id, row.translation)
            for row in uow.session.scalars(
                select(WorkOrderRow).where(
                    WorkOrderRow.id.in_(
                        select(OperationRow.work_order_id).where(OperationRow.site == site_id)
                    )
                )
            )
        )
        benches = [
            SiteMachine(m.id, m.capability, m.materials, connector={"kind": "manual"})
            for m in local_site(uow, site_id).machines
            if m.capability in BENCH_WORK
        ]
    machines = DemoMachines(site_id, clock, run.settings.seed, run.settings.failure_rate)
    store = AgentStore(":memory:")
    client = AgentClient(SERVER, site_id, token, http=http, sleep=lambda _s: None)
    agent = EdgeAgent(
        _SteadyNetwork(client),
        store,
        DemoPrograms(minutes),
        connectors=machines,
        operator=f"{site_id} agent",
        clock=clock,
    )
    operator = BenchOperator(site_id, benches, minutes)
    return _Site(site_id, agent, machines, operator, store, clock.peek())


def _step(run: DemoRun, site: _Site, clock: SimClock) -> int:
    """One moment at a site: people finish and give back, the agent passes, people start; ops done."""
    now = clock.peek()
    with run.unit_of_work() as uow, uow.write_turn():
        finished = site.operator.finish_due(uow, now)
        site.operator.give_back_failed(uow, now)
        uow.commit()
    report = site.agent.run_once()
    site.operator.failed(report.failed, now)
    with run.unit_of_work() as uow, uow.write_turn():
        site.operator.start_ready(uow, now)
        uow.commit()
    return finished + len(report.finished)


def _on_tick(moment: datetime | None, start: datetime, poll: timedelta) -> datetime | None:
    """The first poll of the agent at or after `moment` (polls every `poll` from `start`)."""
    if moment is None:
        return None
    ticks = math.ceil((moment - start) / poll)
    return start + ticks * poll


def _sites_with_work(uow: UnitOfWork) -> list[str]:
    rows = uow.session.scalars(
        select(OperationRow.site)
        .where(OperationRow.status == OperationStatus.RELEASED.value, OperationRow.superseded_at.is_(None))
        .distinct()
        .order_by(OperationRow.site)
    )
    return list(rows)


def _released(uow: UnitOfWork) -> int:
    count = uow.session.scalar(
        select(func.count())
        .select_from(OperationRow)
        .where(OperationRow.status == OperationStatus.RELEASED.value, OperationRow.superseded_at.is_(None))
    )
    return int(count or 0)


def _figures(uow: UnitOfWork, site: str, start: datetime) -> SiteProduction:
    """A site's figures, read back from storage: what the server recorded is what counts."""
    live = list(
        uow.session.scalars(
            select(OperationRow.status).where(OperationRow.site == site, OperationRow.superseded_at.is_(None))
        )
    )
    done = live.count(OperationStatus.DONE.value)
    planned = live.count(OperationStatus.PLANNED.value)
    reports = [
        row.content
        for row in uow.session.scalars(
            select(OperationReportRow).where(OperationReportRow.site == site).order_by(OperationReportRow.id)
        )
    ]
    units = uow.session.execute(
        select(func.count(), func.min(UnitRow.made_at), func.max(UnitRow.made_at)).where(UnitRow.site == site)
    ).one()
    made = uow.session.scalar(
        select(func.count(func.distinct(UnitRow.work_order_id))).where(UnitRow.site == site)
    )
    machines = [m.id for m in local_site(uow, site).machines]
    return SiteProduction(
        site=site,
        operations=len(live) - planned,
        planned=planned,
        done=done,
        failed=sum(1 for report in reports if report["event"] == "failed"),
        left=len(live) - planned - done,
        work_orders_made=int(made or 0),
        units=int(units[0] or 0),
        first_unit=units[1],
        last_unit=units[2],
        utilisation=utilisation(reports, machines, start),
    )


def utilisation(
    reports: Sequence[dict[str, Any]], machines: Sequence[str], start: datetime
) -> dict[str, float]:
    """Each machine's busy share of the window from `start` to the site's last report.

    A step is busy from its `started` report to the `finished` or `failed` that follows it.
    """
    if not reports:
        return dict.fromkeys(machines, 0.0)
    busy = dict.fromkeys(machines, 0.0)
    running: dict[str, tuple[str, datetime]] = {}
    ordered = sorted(reports, key=lambda r: (datetime.fromisoformat(r["at"]), r["event"] != "started"))
    for report in ordered:
        at = datetime.fromisoformat(report["at"])
        if report["event"] == "started":
            running[report["operation_id"]] = (report["machine"], at)
        elif report["operation_id"] in running:
            machine, since = running.pop(report["operation_id"])
            busy[machine] = busy.get(machine, 0.0) + (at - since).total_seconds()
    window = (datetime.fromisoformat(ordered[-1]["at"]) - start).total_seconds()
    return {machine: (seconds / window if window > 0 else 0.0) for machine, seconds in busy.items()}


def _print(run: DemoRun, figures: ProductionFigures) -> None:
    table = Table(title="production: what each site made")
    columns = (
        "site",
        "operations done",
        "failed",
        "left",
        "units",
        "first unit",
        "last unit",
        "machines busy",
    )
    # "operations done" counts the released ones: the work the site accepted (the demo's sample)
    for column in columns:
        table.add_column(column, justify="left" if column == "site" else "right")
    for site in figures.sites:
        table.add_row(
            site.site,
            f"{site.done}/{site.operations}",
            str(site.failed),
            str(site.left),
            str(site.units),
            _when(site.first_unit),
            _when(site.last_unit),
            f"{site.mean_utilisation():.0%}",
        )
    run.console.print(table)
    hours = (figures.end - figures.start).total_seconds() / 3600
    run.console.print(
        f"{sum(s.units for s in figures.sites)} units made with serials in {hours:,.1f} simulated hours "
        f"({figures.agent_passes} agent passes); bench steps by {OPERATOR}"
    )


def _second(moment: datetime | None) -> str | None:
    """A time in the report, to the second (the replay clock's microsecond ticks are noise)."""
    return None if moment is None else moment.isoformat(timespec="seconds")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%a %d %b %H:%M}"
