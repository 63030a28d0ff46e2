"""Order → route → plan → agent → fake OctoPrint and Moonraker printers → made, with the link cut.

The real API on a loopback port, a site token for Berlin, the agent with its own store. The
printers are the fake OctoPrint and Moonraker servers; the site's other stations (laser, flashing,
benches) are simulated on the test's clock. Midway the server stops (its port closes) and starts
again: the agent works on, and in the end every report is applied once and every work order made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from microfactory.access.tokens import issue_token
from microfactory.api.app import create_app
from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.config import Settings
from microfactory.db.tables import production as production_tables
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.orders import service as order_service
from microfactory.orders.model import Address, NewOrder, NewOrderLine
from microfactory.production import release
from microfactory.production.agent.client import AgentClient
from microfactory.production.agent.loop import EdgeAgent, connector_from_registry
from microfactory.production.agent.model import SiteMachine
from microfactory.production.agent.programs import GcodeFolder
from microfactory.production.agent.store import AgentStore
from microfactory.production.connectors import MachineConnector
from microfactory.production.connectors.simulated import SimulatedConnector
from microfactory.scheduling.site_plan import SitePlanSettings
from tests.integration.live_server import LoopbackServer, live_server
from tests.integration.production import fake_moonraker, fake_octoprint, fake_printer

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
KREUZBERG = Address(name="Jonas Weber", city="Berlin", country="DE", latitude=52.50, longitude=13.42)
PRINTERS = ("octoprint", "moonraker")


class SimClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def berlin_with_printers_at(examples: Path, octoprint: str, moonraker: str) -> dict[str, Any]:
    document = read_network_file(examples / "network.yaml")
    for machine in document["sites"]["berlin"]["machines"]:
        kind = (machine.get("connector") or {}).get("kind")
        if kind in PRINTERS:
            machine["connector"] = {"kind": kind, "url": octoprint if kind == "octoprint" else moonraker}
    return document


def accepted_keypads(
    engine: Engine, examples: Path, network: dict[str, Any], colours: list[str]
) -> list[str]:
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, network)
        for number, colour in enumerate(colours):
            line = NewOrderLine(qty=1, product="KP", options={"keys": 4, "color": colour})
            order_service.intake(uow, NewOrder("test", f"E-{number}", (line,), ship_to=KREUZBERG))
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        rows = uow.session.scalars(select(AssignmentRow).where(AssignmentRow.site == "berlin")).all()
        for row in rows:
            network_service.accept(uow, row.id, actor="berlin")
        release.release_plan(uow, "berlin", NOW, SitePlanSettings(time_limit=2, workers=1), actor="planner")
        uow.commit()
        return [row.work_order_id for row in rows]


def site_token(engine: Engine) -> str:
    with UnitOfWork.for_engine(engine) as uow:
        return issue_token(uow, "berlin-agent", "site", "berlin").secret


def test_orders_are_made_through_the_agent_across_a_cut_link(
    engine: Engine, settings: Settings, examples: Path, tmp_path: Path
) -> None:
    printer_clock, clock = fake_printer.ManualClock(), SimClock()
    octo = fake_printer.FakePrinter(print_seconds=600, clock=printer_clock)
    moon = fake_printer.FakePrinter(print_seconds=600, clock=printer_clock)
    stations: dict[str, MachineConnector] = {}

    def connectors(machine: SiteMachine) -> MachineConnector:
        if machine.connector.get("kind") in PRINTERS:
            return connector_from_registry(machine)
        return stations.setdefault(machine.id, SimulatedConnector(clock, name=machine.id))

    with (
        live_server(fake_octoprint.build_octoprint(octo), lifespan="off") as octo_url,
        live_server(fake_moonraker.build_moonraker(moon), lifespan="off") as moon_url,
    ):
        network = berlin_with_printers_at(examples, octo_url, moon_url)
        work_orders = accepted_keypads(engine, examples, network, ["black", "teal"])
        assert len(work_orders) == 2
        programs = tmp_path / "programs"
        programs.mkdir()
        for part in ("HSG-TOP", "HSG-BOTTOM", "KEYCAP", "KEY-MODULE", "NAMEPLATE"):
            (programs / f"{part}.gcode").write_text(f"; {part}\nG28\n")

        server = LoopbackServer(create_app(settings, engine), lifespan="off")
        server.start()
        store = AgentStore(tmp_path / "agent.db")
        client = AgentClient(server.url, "berlin", site_token(engine), sleep=lambda _s: None)
        agent = EdgeAgent(
            client, store, GcodeFolder(programs), connectors=connectors, operator="Ana", clock=clock
        )
        passes = []
        try:
            for number in range(80):
                if number == 3:
                    server.stop()
                if number == 9:
                    server.start()
                passes.append(agent.run_once())
                printer_clock.advance(700)
                clock.now += timedelta(minutes=20)
                if number > 9 and not passes[-1].pulled and not store.running() and not store.queued_count():
                    break
        finally:
            server.stop()
            client.close()

    offline = [p for p in passes if not p.online]
    assert len(offline) == 6 and any(p.dispatched or p.finished for p in offline)
    assert octo.uploads and moon.uploads
    with UnitOfWork.for_engine(engine) as uow:
        statuses = uow.session.scalars(select(WorkOrderRow.status).where(WorkOrderRow.id.in_(work_orders)))
        assert set(statuses) == {"made"}
        applied = uow.session.scalar(select(func.count()).select_from(production_tables.OperationReportRow))
        lines = set(uow.session.scalars(select(OrderLineRow.status)))
        orders = set(uow.session.scalars(select(OrderRow.status)))
    made = store.report_ids()
    assert len(made) == len(set(made)) == applied  # every report applied, none twice
    assert store.refused() == [] and store.queued_count() == 0
    assert lines == {"made"}
    assert orders == {"in_production"}  # made, not yet shipped: the store hears nothing new yet
