"""The sections of the quality and shipments pages: each a title, a template block and a query.

A page shows its sections in order. Quality's inspections, NCRs and p-charts, and logistics' carrier
labels and tracking, are added by appending a `Section` here with a template under
`templates/sections/` and a query over their service: no page route changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from microfactory.channels.shopify.fulfilment_sync import recent_shipments, shipment_view
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.telemetry.service import alert_view, open_alerts
from microfactory.production.views import held_operations, operation_view, recent_units

Query = Callable[[UnitOfWork, str | None], list[dict[str, Any]]]


@dataclass(frozen=True)
class Section:
    """One part of a page; `query(uow, site)` gets the site user's site (None: every site)."""

    key: str
    title: str
    template: str
    query: Query
    empty: str


def _alerts(uow: UnitOfWork, site: str | None) -> list[dict[str, Any]]:
    return [alert_view(a) for a in open_alerts(uow) if site is None or a.site == site]


def _holds(uow: UnitOfWork, site: str | None) -> list[dict[str, Any]]:
    return [
        {**operation_view(row), "site": row.site, "work_order_id": row.work_order_id}
        for row in held_operations(uow, site)
    ]


def _units(uow: UnitOfWork, site: str | None) -> list[dict[str, Any]]:
    return [
        {"serial": u.serial, "work_order_id": u.work_order_id, "site": u.site, "made_at": u.made_at}
        for u in recent_units(uow, site)
    ]


def _parcels(uow: UnitOfWork, site: str | None) -> list[dict[str, Any]]:
    return [shipment_view(row) for row in recent_shipments(uow)]


QUALITY_SECTIONS: tuple[Section, ...] = (
    Section("alerts", "Open telemetry alerts", "sections/alerts.html", _alerts, "No open alerts."),
    Section("holds", "Operations on hold", "sections/holds.html", _holds, "Nothing is on hold."),
    Section("units", "Units made last", "sections/units.html", _units, "No units made yet."),
)
SHIPMENT_SECTIONS: tuple[Section, ...] = (
    Section(
        "parcels",
        "Parcels reported to the store",
        "sections/parcels.html",
        _parcels,
        "No parcels recorded yet.",
    ),
)


def gather(uow: UnitOfWork, sections: tuple[Section, ...], site: str | None) -> list[dict[str, Any]]:
    return [{"section": s, "rows": s.query(uow, site)} for s in sections]
