"""Make plans visible: JSON for other programs, a Gantt chart for people, a table for the demo.

Charts are drawn on a bare matplotlib `Figure` (the Agg canvas) so that exports work on servers, in
CI without a display, and in the API's worker threads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.scheduling.site_plan import SitePlan, figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure
SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")

MATERIAL_COLOURS = {"BLACK": "#333333", "RED": "#d62728", "TEAL": "#17becf", "WHITE": "#dddddd"}


def export_paths(out: Path, site: str) -> tuple[Path, Path]:
    """`<out>/<site>-plan.json` and `<out>/<site>-gantt.png`; `Invalid` when the site id is unsafe.

    Site ids come from a network file, which is input: one like `../../etc/x` would write outside
    the folder, so only plain names (letters, digits, `_ . -`, not starting with a dot) are used.
    """
    if not SAFE_STEM.fullmatch(site) or ".." in site:
        message = f"the site id {site!r} cannot be used in a file name (letters, digits, _ . - only)"
        raise Invalid("cannot export this site's plan", [Problem("site", message)])
    folder = out.resolve()
    paths = (folder / f"{site}-plan.json", folder / f"{site}-gantt.png")
    assert all(path.parent == folder for path in paths)  # what SAFE_STEM guarantees
    return paths


def plan_json(site_plan: SitePlan) -> dict[str, Any]:
    """The site plan as JSON-ready data: runs with their members, orders with promise kept or not."""
    completions = site_plan.completions
    return {
        "site": site_plan.site,
        "origin": site_plan.origin.isoformat(),
        "figures": figures(site_plan),
        "runs": [
            {
                "batch": run.batch.id,
                "machine": run.machine,
                "start": run.start.isoformat(),
                "end": run.end.isoformat(),
                "capability": run.batch.capability,
                "material": run.batch.material,
                "qty": run.batch.qty,
                "members": [
                    {"work_order": item.order, "operation": item.operation, "qty": item.qty}
                    for item in run.batch.items
                ],
            }
            for run in sorted(site_plan.runs, key=lambda r: (r.start, r.machine))
        ],
        "orders": [
            {
                "id": order.id,
                "due": order.due.isoformat(),
                "completion": completions[order.id].isoformat(),
                "on_time": completions[order.id] <= order.due,
            }
            for order in site_plan.orders
        ],
    }


def _colour(material: str | None) -> str:
    if material is None:
        return "#8c9cb0"
    for name, colour in MATERIAL_COLOURS.items():
        if name in material.upper():
            return colour
    return "#9467bd"


def gantt_png(site_plan: SitePlan, path: Path) -> Path:
    """Draw the plan into a PNG file (see `gantt_figure`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gantt_png_bytes(site_plan))
    return path


def gantt_png_bytes(site_plan: SitePlan) -> bytes:
    """The Gantt chart as PNG bytes, for the API (`GET /api/v1/sites/{id}/plan.png`)."""
    buffer = BytesIO()
    gantt_figure(site_plan).savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def gantt_figure(site_plan: SitePlan) -> Figure:
    """Draw the plan, one row per machine, bars coloured by material, hours from the plan's origin.

    A bare `Figure` rather than pyplot: pyplot keeps global state, and the API draws in threads.
    matplotlib is imported here, not at the top: most users of this module never draw.
    """
    from matplotlib.figure import Figure

    machines = [m.id for m in site_plan.problem.machines]
    fig = Figure(figsize=(14, 0.45 * len(machines) + 1.5))
    ax = fig.subplots()
    for a in site_plan.plan.assignments:
        batch = site_plan.batches[a.operation]
        ax.barh(
            a.machine,
            (a.end - a.start) / 60,
            left=a.start / 60,
            height=0.7,
            color=_colour(batch.material),
            edgecolor="black",
            linewidth=0.3,
        )
    ax.set_yticks(range(len(machines)), labels=machines)
    ax.invert_yaxis()
    ax.set_xlabel(f"hours from {site_plan.origin:%Y-%m-%d %H:%M} UTC")
    info = figures(site_plan)
    ax.set_title(
        f"{site_plan.site}: span {info['span_hours']} h, {info['material_changes']} material changes "
        f"(first come: {info['first_come_material_changes']}), {info['orders_on_time']}/{info['orders']} on time"
    )
    fig.tight_layout()
    return fig


def demo_section(site_plans: Sequence[SitePlan], console: Console | None = None) -> Table:
    """The demo's scheduling report: per site its span, material changes saved, orders on promise."""
    table = Table(title="site plans")
    for column in (
        "site",
        "orders",
        "batches",
        "span (h)",
        "material changes",
        "first come",
        "saved",
        "on promise",
        "late min (dispatch)",
        "solver",
    ):
        table.add_column(column, justify="left" if column in ("site", "solver") else "right")
    for site_plan in site_plans:
        info = figures(site_plan)
        changes, baseline = int(str(info["material_changes"])), int(str(info["first_come_material_changes"]))
        table.add_row(
            site_plan.site,
            str(info["orders"]),
            str(info["batches"]),
            f"{info['span_hours']}",
            str(changes),
            str(baseline),
            str(baseline - changes),
            f"{info['orders_on_time']}/{info['orders']}",
            f"{info['weighted_tardiness_minutes']} ({info['dispatch_weighted_tardiness_minutes']})",
            f"{info['solver']} ({info['status']})",
        )
    if console is not None:
        console.print(table)
    return table


def plan_table(site_plan: SitePlan, limit: int | None = None) -> Table:
    """A site's runs as a table, in start order (the CLI's `schedule site`)."""
    table = Table(title=f"plan of {site_plan.site}")
    for column in ("start (UTC)", "end", "machine", "batch", "capability", "material", "qty", "work orders"):
        table.add_column(column)
    runs = sorted(site_plan.runs, key=lambda r: (r.start, r.machine))
    for run in runs[:limit]:
        orders = run.batch.orders
        shown = ", ".join(orders[:3]) + (f" +{len(orders) - 3}" if len(orders) > 3 else "")
        table.add_row(
            f"{run.start:%a %d %H:%M}",
            f"{run.end:%H:%M}",
            run.machine,
            run.batch.id,
            run.batch.capability,
            run.batch.material or "",
            str(run.batch.qty),
            shown,
        )
    return table
