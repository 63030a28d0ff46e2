"""Demo stage of scheduling: plan every site that got work, and promise from the plans.

The report shows, per site, the plan's span, the material changes batching saved compared with
taking work first come first served, and how many orders the plan finishes by the date routing
promised; promises are then updated from the plans (slips are flagged and counted).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.progress import Progress

from microfactory.network.state import current
from microfactory.scheduling.export import demo_section
from microfactory.scheduling.service import plan_and_promise, site_work_orders
from microfactory.scheduling.site_plan import SitePlan, SitePlanSettings

if TYPE_CHECKING:  # demo.py imports this stage
    from microfactory.simulation.demo import DemoRun

SECONDS_PER_SITE = 4.0


def plan_sites(run: DemoRun) -> None:
    now = datetime.now(UTC)
    with run.unit_of_work() as uow:
        sites = [site.id for site in current(uow).network.local_sites if site_work_orders(uow, site, now)]
    plans: list[SitePlan] = []
    slipped = 0
    settings = SitePlanSettings(time_limit=SECONDS_PER_SITE)
    with Progress(console=run.console, transient=True) as progress:
        task = progress.add_task("planning sites", total=len(sites))
        for site_id in sites:
            with run.unit_of_work() as uow, uow.write_turn():
                site_plan, late = plan_and_promise(uow, site_id, now, settings)
                uow.commit()
            plans.append(site_plan)
            slipped += len(late)
            progress.advance(task)
    demo_section(plans, run.console)
    run.console.print(
        f"promises updated from the plans; {slipped} work orders slipped past their first promise"
    )
