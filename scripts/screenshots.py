"""`make screenshots`: a PNG of each main page of the web UI, with the demo's data.

Runs the demo into its own SQLite file, lets Berlin accept its work and release a plan, makes one
work order at the bench (so the pages show operations, units and history), adds a telemetry reading
and an alert, serves the app with uvicorn on loopback and photographs each page with Debian's
Chromium through Playwright. Writes docs/screenshots/*.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from pydantic import SecretStr
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
DB = ROOT / "out" / "screenshots.db"
CHROMIUM = os.environ.get("MICROFACTORY_TEST_CHROMIUM", "/usr/bin/chromium")
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
PASSWORD = "screenshots only"
PAGES = (
    ("login", "/login", None),
    ("overview", "/", "pat"),
    ("orders", "/orders", "pat"),
    ("needs-attention", "/needs-attention", "pat"),
    ("order-trace", "ORDER", "pat"),
    ("site-berlin", "/sites/berlin", "bea"),
    ("quality", "/quality", "pat"),
    ("shipments", "/shipments", "pat"),
)


def run_demo() -> None:
    DB.parent.mkdir(exist_ok=True)
    command = [sys.executable, "-c", "from microfactory.cli.main import app; app()"]
    subprocess.run([*command, "demo", "--orders", "60", "--db", str(DB), "--fresh"], check=True, cwd=ROOT)


def enrich(engine: object) -> str:
    """Berlin accepts and releases; two work orders made (one packed and labelled, one failing its
    inspection: an NCR); a reading and an alert. The first made order's id."""
    from microfactory.db.tables.network import AssignmentRow
    from microfactory.db.tables.telemetry import AlertRow, TelemetryReadingRow
    from microfactory.db.unit_of_work import UnitOfWork
    from microfactory.network import service as network_service
    from microfactory.orders import service as order_service
    from microfactory.production.release import release_plan
    from microfactory.scheduling.site_plan import SitePlanSettings
    from microfactory.web import users

    with UnitOfWork.for_engine(engine) as uow:  # type: ignore[arg-type]
        for row in uow.session.scalars(
            select(AssignmentRow).where(AssignmentRow.site == "berlin", AssignmentRow.status == "offered")
        ).all():
            network_service.accept(uow, row.id, actor="berlin")
        uow.commit()
        release_plan(uow, "berlin", START, SitePlanSettings(time_limit=2, workers=1), actor="planner")
        uow.commit()
    first, at = make_one(engine, START, None)
    assert first is not None, "Berlin got no work in the demo"
    parcel_of(engine, first)
    second, at = make_one(engine, at, first)
    if second is not None:
        fail_inspection(engine, second, at + timedelta(minutes=5))
    with UnitOfWork.for_engine(engine) as uow:  # type: ignore[arg-type]
        uow.session.add(
            TelemetryReadingRow(site="berlin", machine="ber-fdm-1", metric="nozzle_temp", ts=at, value=214.5)
        )
        uow.session.add(
            TelemetryReadingRow(site="berlin", machine="ber-fdm-1", metric="bed_temp", ts=at, value=60.2)
        )
        uow.session.add(
            AlertRow(
                id="alr_demo",
                kind="limit",
                site="berlin",
                machine="ber-fdm-2",
                metric="nozzle_temp",
                message="nozzle_temp 271.0 above the limit 260",
                at=at,
            )
        )
        uow.commit()
        for name, role, site in (("pat", "planner", None), ("bea", "site", "berlin")):
            users.add_user(uow, name, PASSWORD, role, site)
        return order_service.get_work_order(uow, first).line.order_id


def make_one(engine: object, at: datetime, skip: str | None) -> tuple[str | None, datetime]:
    """Run every step of one released Berlin work order (not `skip`) at the bench, as the agent reports."""
    from microfactory.db.unit_of_work import UnitOfWork
    from microfactory.production.model import Event, Report
    from microfactory.production.reports import apply_reports
    from microfactory.production.views import site_operations

    chosen = None
    while True:
        with UnitOfWork.for_engine(engine) as uow:  # type: ignore[arg-type]
            ready = [op for op in site_operations(uow, "berlin", ["released"]) if op["ready"]]
        ready = [op for op in ready if op["work_order_id"] != skip]
        chosen = chosen or (ready[0]["work_order_id"] if ready else None)
        ready = [op for op in ready if op["work_order_id"] == chosen]
        if not ready:
            return chosen, at
        for op in ready:
            for event in (Event.STARTED, Event.FINISHED):
                at += timedelta(minutes=7)
                report = Report(f"shot-{op['id']}-{event.value}", op["id"], event, op["machine"], at, "Ana")
                with UnitOfWork.for_engine(engine) as uow:  # type: ignore[arg-type]
                    apply_reports(uow, "berlin", [report], actor="berlin-agent")
                    uow.commit()


def parcel_of(engine: object, work_order_id: str) -> None:
    """Pack the made line and hand it to Berlin's courier (simulated here): a parcel with its label."""
    from microfactory.db.engine import make_session_factory
    from microfactory.db.unit_of_work import UnitOfWork
    from microfactory.logistics import packing
    from microfactory.logistics.carrier_book import CarrierBook
    from microfactory.logistics.carriers.simulated import SimulatedCarrier
    from microfactory.logistics.handoff import Handoff
    from microfactory.orders import service as order_service

    with UnitOfWork.for_engine(engine) as uow:  # type: ignore[arg-type]
        line = order_service.get_work_order(uow, work_order_id).line
        done = packing.pack(uow, line.order_id, line_ids=[line.id], actor="Ana")
        uow.commit()
        shipment = done.shipments[0]
        partner = shipment.partner
        shipment_id = shipment.id
    book = CarrierBook()
    book.use(partner, SimulatedCarrier())
    Handoff(make_session_factory(engine), book, worker="screenshots").run(shipment_id)  # type: ignore[arg-type]


class _FlawFinder:
    """Stands in for the keypad's checks in the screenshots: it finds the chip where it was drawn."""

    def __init__(self, region: object) -> None:
        self.region = region

    def inspect(self, image: object, context: object) -> object:
        from microfactory.quality.inspectors import Finding, Inspection, Verdict

        return Inspection(Verdict.FAIL, (Finding("chip", 9.5, self.region),), "variation", "kp-housing-1")  # type: ignore[arg-type]


def fail_inspection(engine: object, work_order_id: str, at: datetime) -> None:
    """A photo of a chipped keypad judged at Berlin's station: a failed verdict and an open NCR."""
    import cv2

    from microfactory.config import QualitySettings
    from microfactory.db.unit_of_work import UnitOfWork
    from microfactory.production.units import serials_of
    from microfactory.quality import recording, synthetic
    from microfactory.quality.evidence import read_upload

    photo = synthetic.sample("chip", seed=7, size=(640, 480))
    _ok, encoded = cv2.imencode(".png", photo.image[..., ::-1])
    models = Path(tempfile.mkdtemp(prefix="mf-models-"))  # the catalog's checks need their model files
    synthetic.train_models(models, dict(synthetic.COLOURS), count=3)
    settings = QualitySettings(model_dir=str(models))
    finder = _FlawFinder(photo.region)
    with UnitOfWork.for_engine(engine) as uow:  # type: ignore[arg-type]
        serial = serials_of(uow, work_order_id)[0]
        upload = read_upload(encoded.tobytes(), settings)
        recording.record_inspection(
            uow,
            serial,
            upload,
            station="ber-qc",
            actor="ber-qc",
            settings=settings,
            now=at,
            build=lambda _spec: finder,  # type: ignore[arg-type,return-value]
        )
        uow.commit()


def serve(app: object) -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8765, log_level="warning"))  # type: ignore[arg-type]
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    return server, "http://127.0.0.1:8765"


def photograph(base: str, order_id: str) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        sessions: dict[str | None, object] = {}
        for name, path, user in PAGES:
            if user not in sessions:
                context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
                if user is not None:
                    tab = context.new_page()
                    tab.goto("/login")
                    tab.get_by_label("Username").fill(user)
                    tab.get_by_label("Password").fill(PASSWORD)
                    tab.get_by_role("button", name="Log in").click()
                    tab.wait_for_load_state()
                    tab.close()
                sessions[user] = context
            tab = sessions[user].new_page()  # type: ignore[attr-defined]
            tab.goto(f"/orders/{order_id}" if path == "ORDER" else path)
            tab.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "order-trace")
            tab.close()
            print(f"wrote {OUT / (name + '.png')}")
        browser.close()


def main() -> None:
    from microfactory.api.app import create_app
    from microfactory.config import Settings
    from microfactory.db.engine import make_engine

    run_demo()
    url = f"sqlite:///{DB}"
    engine = make_engine(url)
    order_id = enrich(engine)
    settings = Settings(
        database_url=url,
        admin_token=SecretStr("screenshots"),
        auto_route=False,
        outbox_interval_seconds=0,
        session_secret=SecretStr("screenshots-session-secret"),
    )
    server, base = serve(create_app(settings, engine))
    try:
        photograph(base, order_id)
    finally:
        server.should_exit = True
        engine.dispose()


if __name__ == "__main__":
    main()
