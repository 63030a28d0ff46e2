"""`quality spc` for the API and the CLI: the chart asked for, its signals, and the holds they put.

One subject at a time: a machine (its defect rate, and a telemetry metric with `metric`), a site or
a product (defect rates). Only a machine's charts hold anything: a site or a product out of
control is a finding for a person, not for one machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid, NotFound
from microfactory.network.stored_state import NoNetwork, active_network_row, network_of
from microfactory.problems import Problem
from microfactory.quality import spc, spc_service
from microfactory.quality.views import hold_view


@dataclass(frozen=True, slots=True)
class SpcRun:
    charts: list[spc.Chart]
    holds: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"charts": [chart.as_dict() for chart in self.charts], "holds": self.holds}


def machine_site(uow: UnitOfWork, machine: str) -> str:
    """The site of a machine of the loaded network."""
    row = active_network_row(uow)
    if row is None:
        raise NoNetwork
    for site in network_of(row).sites.values():
        if any(m.id == machine for m in site.machines):
            return site.id
    raise NotFound("machine", machine, f"no machine {machine!r} in the loaded network")


def _check_known(uow: UnitOfWork, by: str, key: str) -> None:
    """A misspelt site or product is refused (a chart of nothing would read as "in control")."""
    from microfactory.catalog.service import active_catalogs

    if by == "site":
        row = active_network_row(uow)
        if row is None:
            raise NoNetwork
        if key not in network_of(row).sites:
            raise NotFound("site", key, f"no site {key!r} in the loaded network")
    elif by == "product" and active_catalogs(uow).find_product(key) is None:
        raise NotFound("product", key, f"no product {key!r} in the loaded catalogs")


def run_spc(
    uow: UnitOfWork,
    now: datetime,
    *,
    machine: str | None = None,
    site: str | None = None,
    product: str | None = None,
    metric: str | None = None,
    size: int = 1,
    hold: bool = True,
) -> SpcRun:
    """Chart the subject; with `hold`, a machine's fresh signal puts it on hold for new jobs."""
    subjects = [(by, key) for by, key in (("machine", machine), ("site", site), ("product", product)) if key]
    if len(subjects) != 1:
        raise Invalid("one subject", [Problem("machine|site|product", "name exactly one of them")])
    if metric and not machine:
        raise Invalid("a metric is a machine's", [Problem("metric", "use it with a machine")])
    if not 1 <= size <= 10:
        raise Invalid(
            "subgroup size", [Problem("size", f"must be 1 (individuals) to 10 (X-bar/R), not {size}")]
        )
    by, key = subjects[0]
    _check_known(uow, by, key)
    charts = [spc_service.defect_chart(uow, by, key)]
    holds: list[dict[str, Any]] = []
    if machine is not None:
        where = machine_site(uow, machine)
        if metric:
            charts.append(spc_service.telemetry_chart(uow, machine, metric, size))
        if hold:
            minimums = [spc_service.MIN_SUBGROUPS, max(2, spc_service.MIN_READINGS // size)]
            names = ["p:defects", f"x:{metric}"]
            for chart, minimum, name in zip(charts, minimums, names, strict=False):
                for signal in spc_service.fresh_signals(chart, minimum)[:1]:
                    held = spc_service.hold_machine(uow, where, machine, name, signal, chart, now)
                    if held is not None:
                        holds.append(hold_view(held))
    return SpcRun(charts, holds)
