"""Recording a unit's inspection: judged by its product's applicable checks, kept with its evidence.

`record_inspection` runs each check the catalog names for the unit's options (`criteria.applicable`)
through its inspector (built by `checks`: `build_inspector({"inspector": KIND, **settings})`, the
model path resolved in `MICROFACTORY_QUALITY_MODEL_DIR`), with the colours the ordered materials
stand for (`expected.expected_colours`) in the context, applies the thresholds, and keeps one row per
verdict with the image, every finding's score and region, each inspector's kind and version, the
station and the actor. `record_manual` keeps a person's verdict the same way. What a verdict does
to the work order is `dispositions.after_verdict`: a failure opens an NCR and holds the work order,
a review holds it until a person looks, a pass releases a hold nothing else keeps.

The work order is locked first (`FOR UPDATE`), as dispositions lock it, so a verdict and a
disposition of the same work never interleave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from microfactory.catalog import service as catalog_service
from microfactory.catalog.model import Catalog, InspectionCheck, Product
from microfactory.config import QualitySettings
from microfactory.db.base import new_id
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import UnitRow
from microfactory.db.tables.quality import InspectionRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.orders.lifecycle import WorkOrderStatus
from microfactory.production.progress import live_operations
from microfactory.production.trace import get_unit
from microfactory.quality import checks, criteria, dispositions, spc_service
from microfactory.quality.evidence import Upload, keep
from microfactory.quality.expected import expected_colours
from microfactory.quality.inspectors import Finding, Inspection, InspectionContext, Inspector, Verdict
from microfactory.quality.views import inspection_view, unit_inspection_views

W = WorkOrderStatus
INSPECTABLE = frozenset({W.MADE.value, W.HELD.value})
Build = Callable[[Mapping[str, Any]], Inspector]


def _build(spec: Mapping[str, Any]) -> Inspector:
    return checks.INSPECTORS.get(spec)


def locked_unit(uow: UnitOfWork, serial: str) -> tuple[UnitRow, WorkOrderRow]:
    """The unit and its work order, the work order locked (PostgreSQL) for this transaction."""
    unit = get_unit(uow, serial)
    work_order = uow.session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.id == unit.work_order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if unit.scrapped_at is not None:
        raise Conflict(f"unit {serial} was scrapped; it is not inspected again")
    if work_order.status not in INSPECTABLE:
        raise Conflict(
            f"unit {serial}: work order {work_order.id} is {work_order.status}; "
            "units are inspected once made (or while held)"
        )
    return unit, work_order


def product_of(uow: UnitOfWork, work_order: WorkOrderRow) -> Product:
    """The product as the catalog version the work order was translated with defines it."""
    return catalog_and_product(uow, work_order)[1]


def catalog_and_product(uow: UnitOfWork, work_order: WorkOrderRow) -> tuple[Catalog, Product]:
    """The catalog version the work order was translated with, and its product there."""
    catalog = catalog_service.catalog_version(uow, work_order.catalog, work_order.catalog_version)
    product = catalog.products.get(work_order.product) if catalog is not None else None
    if catalog is None or product is None:
        raise Conflict(
            f"work order {work_order.id}: product {work_order.product} is not in catalog "
            f"{work_order.catalog} version {work_order.catalog_version}"
        )
    return catalog, product


def options_of(work_order: WorkOrderRow) -> dict[str, Any]:
    return dict(work_order.translation.get("options", {}))


def inspection_due(uow: UnitOfWork, serial: str) -> dict[str, Any]:
    """Whether the unit is sampled for inspection (pilot or steady run) and which checks apply."""
    unit = get_unit(uow, serial)
    work_order = uow.session.get(WorkOrderRow, unit.work_order_id)
    assert work_order is not None  # the foreign key keeps it
    product = product_of(uow, work_order)
    earlier = uow.session.scalar(
        select(func.count())
        .select_from(UnitRow)
        .join(WorkOrderRow, WorkOrderRow.id == UnitRow.work_order_id)
        .where(
            WorkOrderRow.configuration_key == work_order.configuration_key,
            (UnitRow.made_at < unit.made_at)
            | ((UnitRow.made_at == unit.made_at) & (UnitRow.serial < serial)),
        )
    )
    drawn = criteria.sample(serial, int(earlier or 0), product.sampling)
    checks = criteria.applicable(product.inspection, options_of(work_order))
    return {"serial": serial, **drawn.as_dict(), "checks": [check_view(check) for check in checks]}


def check_view(check: InspectionCheck) -> dict[str, Any]:
    return {"inspector": check.inspector, "threshold": check.threshold, **dict(check.settings)}


def record_inspection(
    uow: UnitOfWork,
    serial: str,
    upload: Upload,
    *,
    station: str | None,
    actor: str,
    settings: QualitySettings,
    now: datetime,
    build: Build = _build,
) -> dict[str, Any]:
    """Judge the unit's image with its applicable checks, keep the verdict and act on it."""
    unit, work_order = locked_unit(uow, serial)
    catalog, product = catalog_and_product(uow, work_order)
    options = options_of(work_order)
    context = InspectionContext(
        serial,
        work_order.product,
        {k: str(v) for k, v in options.items()},
        station,
        expected_colours(catalog, options),
    )
    results = []
    for check in criteria.applicable(product.inspection, options):
        spec = checks.check_spec(check, options, settings.model_dir)
        results.append(_check_result(check, build(spec).inspect(upload.pixels, context)))
    verdict = criteria.unit_verdict([Verdict(result["verdict"]) for result in results])
    image = keep(upload, settings)
    uow.session.add(image)
    uow.session.flush()
    row = _row(uow, unit, work_order, verdict, results, actor, station, now)
    row.image_id = image.id
    return _after(uow, unit, work_order, row, actor, now)


def record_manual(
    uow: UnitOfWork,
    serial: str,
    verdict: Verdict,
    *,
    note: str | None,
    station: str | None,
    actor: str,
    now: datetime,
    findings: tuple[Finding, ...] = (),
) -> dict[str, Any]:
    """A person's verdict on a unit (at a station, or after a review), kept like any other."""
    if verdict == Verdict.FAIL and not (note or "").strip():
        raise Conflict("a person's fail needs a note saying what is wrong")
    unit, work_order = locked_unit(uow, serial)
    inspection = Inspection(verdict, findings, "manual", "person")
    row = _row(uow, unit, work_order, verdict, [_check_result(None, inspection)], actor, station, now)
    row.manual = True
    row.note = note
    return _after(uow, unit, work_order, row, actor, now)


def _after(
    uow: UnitOfWork, unit: UnitRow, work_order: WorkOrderRow, row: InspectionRow, actor: str, now: datetime
) -> dict[str, Any]:
    uow.session.flush()
    ncr = dispositions.after_verdict(uow, unit, work_order, row, actor, now)
    view = inspection_view(row)
    view["ncr_id"] = ncr.id if ncr is not None else None
    view["work_order_status"] = work_order.status
    view["holds"] = spc_service.check_defect_rates(uow, row.site, row.machines, now)
    return view


def _check_result(check: InspectionCheck | None, inspection: Inspection) -> dict[str, Any]:
    verdict = inspection.verdict if check is None else criteria.check_verdict(check, inspection)
    return {
        "inspector": inspection.inspector,
        "version": inspection.version,
        "verdict": verdict.value,
        "score": inspection.score,
        "threshold": None if check is None else check.threshold,
        "findings": [
            {
                "label": finding.label,
                "score": finding.score,
                "region": finding.region.as_list() if finding.region is not None else None,
            }
            for finding in inspection.findings
        ],
    }


def _row(
    uow: UnitOfWork,
    unit: UnitRow,
    work_order: WorkOrderRow,
    verdict: Verdict,
    results: list[dict[str, Any]],
    actor: str,
    station: str | None,
    now: datetime,
) -> InspectionRow:
    machines = sorted({step.machine for step in live_operations(uow, work_order.id) if step.started_at})
    row = InspectionRow(
        id=new_id("insp"),
        serial=unit.serial,
        work_order_id=work_order.id,
        site=unit.site,
        product=work_order.product,
        verdict=verdict.value,
        manual=False,
        checks=results,
        machines=machines,
        station=station,
        actor=actor,
        created_at=now,
    )
    uow.session.add(row)
    return row


def serials_of_work_order(uow: UnitOfWork, work_order_id: str) -> list[str]:
    """The work order's units that are not scrapped, in the order they were numbered."""
    return list(
        uow.session.scalars(
            select(UnitRow.serial)
            .where(UnitRow.work_order_id == work_order_id, UnitRow.scrapped_at.is_(None))
            .order_by(UnitRow.seq)
        )
    )


def unit_inspections(uow: UnitOfWork, serial: str) -> list[dict[str, Any]]:
    """A unit's inspections, oldest first; `UnitNotFound` for an unknown serial."""
    get_unit(uow, serial)
    return unit_inspection_views(uow, serial)
