"""Demo stage of scheduling: plan every site that got work, and promise from the plans.

The report shows, per site, the plan's span, the material changes batching saved compared with
taking work first come first served, and how many orders the plan finishes by the date routing
promised; then how far routing's promised ship times lie from the planned finishes (a promise
should be kept, and not be needlessly late either); promises are then updated from the plans
(slips are flagged and counted).

Each site accepts work it was offered (as its manager would) and its plan is released
(`production.release`, what `schedule site ID --release` does): stored, with one operation per
step, released to the site's agent for accepted work, planned for work still only offered. A site
accepts the first `production_share` of its queue: the production stage runs that sample through
the agents (the whole of it would take minutes). Releasing plans the site once; planning first
and releasing after would solve every site twice.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.progress import Progress

from microfactory.db.base import utcnow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.stored_state import active_assignments, active_network_row, current
from microfactory.orders.lifecycle import AssignmentStatus
from microfactory.production.release import release_plan
from microfactory.scheduling.export import demo_section
from microfactory.scheduling.service import site_work_orders
from microfactory.scheduling.site_plan import SitePlan, SitePlanSettings, figures

if TYPE_CHECKING:  # demo.py imports this stage
    from microfactory.simulation.demo import DemoRun


def plan_sites(run: DemoRun) -> None:
    """Plan and release each site with work (in network order) on the simulated clock, re-promising."""
    now = utcnow()
    with run.unit_of_work() as uow:
        sites = [site.id for site in current(uow).network.local_sites if site_work_orders(uow, site, now)]
    plans: list[SitePlan] = []
    slipped = 0
    early_hours: list[float] = []  # routing's promised ship time less the planned finish
    settings = SitePlanSettings(time_limit=run.settings.plan_seconds, deterministic=True)
    with Progress(console=run.console, transient=True) as progress:
        task = progress.add_task("planning sites", total=len(sites))
        for site_id in sites:
            with run.unit_of_work() as uow, uow.write_turn():
                promised = _promised_ship(uow, site_id)
                _accept_offers(uow, site_id, run.settings.production_share)
                release = release_plan(uow, site_id, now, settings)
                uow.commit()
            site_plan = release.site_plan
            plans.append(site_plan)
            slipped += len(release.slipped)
            early_hours += [
                (promised[wid] - done).total_seconds() / 3600
                for wid, done in site_plan.completions.items()
                if wid in promised
            ]
            progress.advance(task)
    demo_section(plans, run.console)
    run.figures["scheduling"] = _figures(plans, slipped, early_hours)
    promises = run.figures["scheduling"]["promised_less_planned_hours"]
    if promises is not None:
        run.console.print(
            f"routing's promised ship times against the planned finishes: "
            f"mean {promises['mean']:+.1f} h, p90 {promises['p90']:+.1f} h"
        )
    run.console.print(
        f"promises updated from the plans; {slipped} work orders slipped past their first promise"
    )


def _figures(plans: list[SitePlan], slipped: int, early_hours: list[float]) -> dict[str, Any]:
    ordered = sorted(early_hours)
    promises = (
        {"mean": round(statistics.mean(ordered), 2), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2)}
        if ordered
        else None
    )
    return {
        "sites": {plan.site: figures(plan) for plan in plans},
        "slipped": slipped,
        "promised_less_planned_hours": promises,
    }


def _accept_offers(uow: UnitOfWork, site_id: str, share: float) -> None:
    """The site takes the first `share` of its queue (at least one), which its plan releases to its agent."""
    network = active_network_row(uow)
    if network is None:
        return
    queue = active_assignments(uow, network.name, site_id)
    for row in queue[: max(1, math.ceil(share * len(queue)))]:
        if row.status == AssignmentStatus.OFFERED.value:
            network_service.accept(uow, row.id, actor=f"{site_id} (demo)")


def _promised_ship(uow: UnitOfWork, site_id: str) -> dict[str, datetime]:
    """The ship time routing promised each open work order at the site, before the plan re-promises."""
    network = active_network_row(uow)
    if network is None:
        return {}
    return {
        row.work_order_id: row.promised_ship_at
        for row in active_assignments(uow, network.name, site_id)
        if row.promised_ship_at is not None
    }
