"""Demo stage of quality: each made unit photographed, inspected by the real service, failures decided.

After production every unit has a serial. Here the station photographs each one the product's
sampling picks (`recording.inspection_due`: every unit of a configuration's pilot, then a share):
a rendered picture of its configuration (`quality.synthetic`, 512 x 384: its colour, its engraved
text), a seeded few with a defect (a scratch, a blob, the wrong colour, a misspelt engraving). The
picture goes through `recording.record_inspection` exactly as an upload would: the example
catalog's checks (colour from the ordered material, engraving by Tesseract, the variation model of
its colour, trained into the demo's model directory on first use), the verdict kept, a failure an
NCR with its work order held, and the machines' p-charts checked.

A simulated inspector then decides each NCR (mostly rework, some use-as-is, a few scrapped);
reworked work is planned and released at its site and made again by the production stage's shop
floor, and those units are inspected once more. Everything is drawn from the seed and the serial,
so two runs give the same report.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image as PilImage
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select

from microfactory.catalog import service as catalog_service
from microfactory.config import QualitySettings
from microfactory.db.base import utcnow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import UnitRow
from microfactory.db.tables.quality import NcrRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders.lifecycle import WorkOrderStatus
from microfactory.production.release import release_plan
from microfactory.quality import recording, synthetic
from microfactory.quality.dispositions import Disposition, dispose
from microfactory.quality.evidence import read_upload
from microfactory.quality.expected import expected_colours
from microfactory.scheduling.site_plan import SitePlanSettings
from microfactory.simulation.production_stage import run_production

if TYPE_CHECKING:  # demo.py imports this stage
    from microfactory.simulation.demo import DemoRun

SIZE = (512, 384)  # small photos: the stage stays a few seconds
DEFECTS = ("scratch", "blob", "wrong_colour")  # and "wrong_text" for an engraved unit
DEFECT_RATE = 0.05  # the share of first photos with a defect drawn in (a pilot's first weeks)
INSPECTOR = "demo inspector"
STATION = "demo-qa"
# The simulated inspector's decisions, by the draw: rework mostly.
DECISIONS = ((0.75, Disposition.REWORK), (0.9, Disposition.USE_AS_IS), (1.0, Disposition.SCRAP))
REASONS = {
    Disposition.REWORK: "the defect is on a printed part: print it again",
    Disposition.USE_AS_IS: "cosmetic, inside what the customer sees as normal: accepted",
    Disposition.SCRAP: "not worth saving: scrapped, a replacement is made",
}


@dataclass
class _Tally:
    """Inspections and NCRs of one site or product."""

    inspected: int = 0
    passed: int = 0
    failed: int = 0
    review: int = 0
    ncrs: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        judged = self.passed + self.failed
        return {
            "inspected": self.inspected,
            "passed": self.passed,
            "failed": self.failed,
            "review": self.review,
            "defect_rate": round(self.failed / judged, 4) if judged else 0.0,
            "ncrs": dict(sorted(self.ncrs.items())),
        }


@dataclass
class QualityFigures:
    """The stage's figures: per site and per product, the rework made again and what still waits."""

    units: int = 0  # made units the stage looked at
    sampled_out: int = 0  # not due for inspection under the product's sampling
    photographed_defects: int = 0  # units whose photo had a defect drawn in
    sites: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    products: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    holds: int = 0
    reworked_made: int = 0
    rework_waiting: int = 0
    reinspected_passed: int = 0

    def count(self, site: str, product: str, view: dict[str, Any]) -> None:
        for tally in (self.sites[site], self.products[product]):
            tally.inspected += 1
            verdict = view["verdict"]
            tally.passed += verdict == "pass"
            tally.failed += verdict == "fail"
            tally.review += verdict == "review"
        self.holds += len(view.get("holds", []))

    def as_json(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "sampled_out": self.sampled_out,
            "photographed_defects": self.photographed_defects,
            "inspected": sum(t.inspected for t in self.sites.values()),
            "failed": sum(t.failed for t in self.sites.values()),
            "machine_holds": self.holds,
            "rework_made_again": self.reworked_made,
            "rework_passed_again": self.reinspected_passed,
            "rework_waiting": self.rework_waiting,
            "sites": {site: tally.as_json() for site, tally in sorted(self.sites.items())},
            "products": {product: tally.as_json() for product, tally in sorted(self.products.items())},
        }


def inspect_units(run: DemoRun) -> None:
    """The stage: inspect, decide, rework, inspect again; print the table, keep the figures."""
    started, cpu_started = time.perf_counter(), time.process_time()
    figures = QualityFigures()
    settings = QualitySettings(model_dir=str(model_dir(run)))
    made = _made_units(run)
    _inspect_all(run, figures, settings, made, "inspecting made units")
    reworked = _decide(run, figures)
    if reworked:
        _make_again(run, reworked)
        again = _made_units(run, work_orders=reworked)
        _inspect_all(run, figures, settings, again, "inspecting reworked units", again=True)
        figures.reworked_made = len(again)
    with run.unit_of_work() as uow:
        still_open = select(NcrRow.site, WorkOrderRow.product).join(
            WorkOrderRow, WorkOrderRow.id == NcrRow.work_order_id
        )
        for site, product in uow.session.execute(still_open.where(NcrRow.status == "open")):
            figures.sites[site].ncrs["open"] += 1
            figures.products[product].ncrs["open"] += 1
        figures.rework_waiting = len(
            uow.session.scalars(
                select(WorkOrderRow.id).where(WorkOrderRow.status == WorkOrderStatus.REWORK.value)
            ).all()
        )
    run.figures["quality"] = figures.as_json()
    _print(run, figures)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    run.console.print(f"quality stage: {wall:.1f} s ({cpu:.1f} s of CPU)")


def model_dir(run: DemoRun) -> Path:
    """Where the demo's variation models live: `models/` beside its database (trained on first use)."""
    database = run.engine.url.database
    folder = Path(database).parent if database else Path("out")
    return folder / "models"


def _made_units(run: DemoRun, work_orders: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(serial, site, product) of the units to photograph, in serial order."""
    query = (
        select(UnitRow.serial, UnitRow.site, WorkOrderRow.product)
        .join(WorkOrderRow, WorkOrderRow.id == UnitRow.work_order_id)
        .where(WorkOrderRow.status == WorkOrderStatus.MADE.value, UnitRow.scrapped_at.is_(None))
        .order_by(UnitRow.serial)
    )
    if work_orders is not None:
        query = query.where(WorkOrderRow.id.in_(work_orders))
    with run.unit_of_work() as uow:
        return [(serial, site, product) for serial, site, product in uow.session.execute(query)]


def _inspect_all(
    run: DemoRun,
    figures: QualityFigures,
    settings: QualitySettings,
    units: list[tuple[str, str, str]],
    title: str,
    *,
    again: bool = False,
) -> None:
    with Progress(console=run.console, transient=True) as progress:
        task = progress.add_task(title, total=len(units))
        for serial, site, product in units:
            view = _inspect_one(run, figures, settings, serial, again)
            if view is not None:
                figures.count(site, product, view)
                figures.reinspected_passed += again and view["verdict"] == "pass"
            progress.advance(task)


def _inspect_one(
    run: DemoRun, figures: QualityFigures, settings: QualitySettings, serial: str, again: bool
) -> dict[str, Any] | None:
    """Photograph and inspect one unit if its sampling says so; its verdict's view."""
    with run.unit_of_work() as uow, uow.write_turn():
        if not again:
            figures.units += 1
            due = recording.inspection_due(uow, serial)
            if not due["inspect"] or not due["checks"]:
                figures.sampled_out += 1
                return None
        photo, defective = _photo(uow, serial, run.settings.seed, again, Path(str(settings.model_dir)))
        figures.photographed_defects += defective
        view = recording.record_inspection(
            uow,
            serial,
            read_upload(photo, settings),
            station=STATION,
            actor=INSPECTOR,
            settings=settings,
            now=utcnow(),
        )
        uow.commit()
        return view


def _photo(uow: UnitOfWork, serial: str, seed: int, again: bool, models: Path) -> tuple[bytes, bool]:
    """The unit's picture as PNG: its configuration rendered, with a defect a few times in a hundred.

    The variation model of its colour is trained first if the model directory lacks it.
    """
    unit = uow.session.get(UnitRow, serial)
    assert unit is not None
    work_order = uow.session.get(WorkOrderRow, unit.work_order_id)
    assert work_order is not None
    catalog = catalog_service.catalog_version(uow, work_order.catalog, work_order.catalog_version)
    options = recording.options_of(work_order)
    colours = expected_colours(catalog, options) if catalog is not None else {}
    text = str(options.get("engraving") or "").upper()  # the plate's laser font has capitals only
    colour = str(options.get("color", "black"))
    spec = synthetic.PartSpec(colour=colours.get("color", synthetic.COLOURS["black"]), text=text)
    synthetic.train_models(models, {colour: spec.colour}, SIZE, seed=seed)
    draw = _draw(seed, serial, "again" if again else "first")
    defects = (*DEFECTS, "wrong_text") if text else DEFECTS
    kind = synthetic.GOOD
    if not again and draw < DEFECT_RATE:
        kind = defects[int(draw * 10_000) % len(defects)]
    image = synthetic.sample(kind, int(_draw(seed, serial, "pose") * 2**31), spec, SIZE).image
    buffer = io.BytesIO()
    PilImage.fromarray(image).save(buffer, format="PNG", compress_level=1)  # fast: the photo is noisy
    return buffer.getvalue(), kind != synthetic.GOOD


def _draw(seed: int, serial: str, purpose: str) -> float:
    """A number in [0, 1) from the seed, the serial and what it is for: the same in every run."""
    digest = hashlib.sha256(f"{seed}:{serial}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _decide(run: DemoRun, figures: QualityFigures) -> list[str]:
    """The simulated inspector decides every open NCR; the work orders sent to rework."""
    reworked: list[str] = []
    with run.unit_of_work() as uow, uow.write_turn():
        open_ncrs = uow.session.scalars(
            select(NcrRow).where(NcrRow.status == "open").order_by(NcrRow.serial)
        ).all()
        for ncr in open_ncrs:
            draw = _draw(run.settings.seed, ncr.serial, "disposition")
            decision = next(choice for limit, choice in DECISIONS if draw < limit)
            work_order = uow.session.get(WorkOrderRow, ncr.work_order_id)
            assert work_order is not None
            dispose(uow, ncr.id, decision, REASONS[decision], INSPECTOR, utcnow())
            figures.sites[ncr.site].ncrs[decision.value] += 1
            figures.products[work_order.product].ncrs[decision.value] += 1
            if decision == Disposition.REWORK:
                reworked.append(work_order.id)
        uow.commit()
    return sorted(set(reworked))


def _make_again(run: DemoRun, work_orders: list[str]) -> None:
    """Plan and release the reworked work at its sites, and run the shop floor until it is made."""
    with run.unit_of_work() as uow:
        sites = sorted(
            {
                str(site)
                for site in uow.session.scalars(
                    select(WorkOrderRow.site).where(WorkOrderRow.id.in_(work_orders))
                )
            }
        )
    plan = SitePlanSettings(time_limit=run.settings.plan_seconds, deterministic=True)
    for site in sites:
        with run.unit_of_work() as uow, uow.write_turn():
            release_plan(uow, site, utcnow(), plan, actor="demo planner")
            uow.commit()
    run_production(run, "rework")


def _print(run: DemoRun, figures: QualityFigures) -> None:
    table = Table(title="quality: inspections per site")
    for column in ("site", "inspected", "passed", "failed", "defect rate", "NCRs"):
        table.add_column(column, justify="left" if column in ("site", "NCRs") else "right")
    for site, tally in sorted(figures.sites.items()):
        rows = tally.as_json()
        ncrs = ", ".join(f"{kind} {count}" for kind, count in rows["ncrs"].items()) or "-"
        table.add_row(
            site,
            str(rows["inspected"]),
            str(rows["passed"]),
            str(rows["failed"]),
            f"{rows['defect_rate']:.1%}",
            ncrs,
        )
    run.console.print(table)
    run.console.print(
        f"{figures.units} units made, {figures.units - figures.sampled_out} due for inspection under the "
        f"products' sampling; {figures.reworked_made} reworked units made again "
        f"({figures.reinspected_passed} passed), {figures.rework_waiting} rework work orders wait"
    )
