"""Loading a changed network: the new version is stored, then work follows the sites.

Work offered to a site the new version no longer has, or that a site can no longer make (a machine
removed), is withdrawn and routed again, with the reason in the audit trail, exactly as when a site
closes (`site_events.py`); the work left at each site is promised again, since calendars, machines
and partners may have changed. Started work at a removed site refuses the load (`versions.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from microfactory.db.base import utcnow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service, site_events, versions
from microfactory.network.stored_state import current
from microfactory.network.versions import LoadResult


def load_network(
    uow: UnitOfWork, document: Mapping[str, Any], now: datetime | None = None, actor: str = "system"
) -> LoadResult:
    """Store the network (a new version when it changed) and move the work its change displaced."""
    now = now or utcnow()
    result = versions.load_network(uow, document, now, actor)
    if not result.created or result.version == 1:
        return result
    ctx = current(uow)
    name = ctx.network.name
    rerouted: list[service.RoutingOutcome] = []
    for site_id in result.removed_sites:
        rows = service.movable_assignments(uow, name, site_id)
        why = f"site {site_id} removed from network {name} (version {result.version})"
        rerouted += service.reroute(uow, rows, {row.id: why for row in rows}, now, actor)
    local = [site.id for site in ctx.network.sites.values() if not site.is_central]
    for site_id in local:
        rows = service.movable_assignments(uow, name, site_id)
        reasons = service.cannot_make(uow, current(uow), site_id, rows)
        rerouted += service.reroute(uow, [r for r in rows if r.id in reasons], reasons, now, actor)
    for site_id in local:
        site_events.repromise_site(uow, site_id, now, actor)
    return replace(result, rerouted=rerouted)
