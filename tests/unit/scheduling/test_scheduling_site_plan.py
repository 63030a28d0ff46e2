"""Site plans: calendars in the site's time zone, batches, UTC dates, replanning, exports."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from site_fixtures import MONDAY_7_UTC, orders, site, translation

from microfactory.scheduling.export import demo_section, gantt_png, plan_json, plan_table
from microfactory.scheduling.reschedule import Event, FinishingLate, MachineDown, RushOrder, reschedule
from microfactory.scheduling.site_plan import (
    SitePlan,
    SitePlanSettings,
    WorkOrderInput,
    calendar_intervals,
    figures,
    plan_network,
    plan_site,
)
from microfactory.scheduling.validate import validate

QUICK = SitePlanSettings(time_limit=1.5, workers=2)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def berlin_plan() -> SitePlan:
    return plan_site(site(), orders(12), MONDAY_7_UTC, QUICK)


def test_calendar_follows_the_site_time_zone_and_working_days() -> None:
    intervals = calendar_intervals(site(), MONDAY_7_UTC, 6)
    assert intervals[0] == (0, 600)  # 08:00-18:00 Berlin is 07:00-17:00 UTC in November
    assert len(intervals) == 5  # Monday to Friday, the weekend is closed
    summer = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)  # the Friday before the clocks change
    friday, monday = calendar_intervals(site(), summer, 4)[:2]
    assert friday == (7 * 60, 17 * 60)
    assert monday[0] - friday[0] == 3 * 24 * 60 - 60  # Monday opens at 06:00 UTC (CEST)


def test_site_plan_is_valid_dated_in_utc_and_inside_working_hours(berlin_plan: SitePlan) -> None:
    assert validate(berlin_plan.problem, berlin_plan.plan) == []
    for run in berlin_plan.runs:
        assert run.start.tzinfo is not None and run.start.utcoffset() == timedelta(0)
        local_start, local_end = run.start.astimezone(BERLIN), run.end.astimezone(BERLIN)
        assert local_start.weekday() < 5 and local_start.date() == local_end.date()
        assert local_start.hour >= 8 and (local_end.hour, local_end.minute) <= (18, 0)


def test_batching_saves_material_changes_and_keeps_every_operation(berlin_plan: SitePlan) -> None:
    members = [item for batch in berlin_plan.batches for item in batch.items]
    assert len(members) == 12 * 4
    assert len({item.ref for item in members}) == len(members)
    assert len(berlin_plan.batches) < len(members)
    assert berlin_plan.material_changes <= berlin_plan.first_come_material_changes
    assert berlin_plan.on_time == 12  # two days is plenty for twelve small orders
    assert set(berlin_plan.completions) == {f"WO{n}" for n in range(12)}


def test_reschedule_keeps_started_work_and_moves_the_rest_after_now(berlin_plan: SitePlan) -> None:
    now = MONDAY_7_UTC + timedelta(hours=3)
    started = {a.operation: a for a in berlin_plan.plan.assignments if a.start < 180}
    assert started, "the fixture plan should have work running three hours in"
    down_from, down_to = now, now + timedelta(hours=24)
    rush_release = now
    rush = WorkOrderInput(
        "RUSH", translation("black", "KP-black"), rush_release, now + timedelta(hours=30), 5
    )
    running = next(a for a in started.values() if a.end > 180)
    late_batch = berlin_plan.batches[running.operation].id
    down_machine = "fdm-2" if berlin_plan.problem.machines[running.machine].id != "fdm-2" else "fdm-1"
    events: list[Event] = [
        MachineDown(down_machine, down_from, down_to),
        RushOrder(rush),
        FinishingLate(late_batch, berlin_plan.at(running.end) + timedelta(minutes=30)),
    ]
    replanned = reschedule(berlin_plan, site(), events, now, QUICK)
    assert validate(replanned.problem, replanned.plan) == []
    after = replanned.plan.assignments
    for index, before in started.items():
        interrupted = berlin_plan.problem.machines[before.machine].id == down_machine and before.end > 180
        if interrupted:  # it runs again, elsewhere or after the repair
            assert after[index].start >= 180
        else:
            assert (after[index].machine, after[index].start) == (before.machine, before.start)
    assert after[running.operation].end == running.end + 30
    for a in after:
        if a.operation not in started or a.start != started[a.operation].start:
            assert a.start >= 180
        machine = replanned.problem.machines[a.machine].id
        if machine == down_machine and a.start >= 180:
            assert a.start >= 180 + 24 * 60 or a.end <= 180
    assert "RUSH" in replanned.completions
    assert len(replanned.orders) == 13


def test_exports_json_gantt_and_demo_table(berlin_plan: SitePlan, tmp_path: Path) -> None:
    data = json.loads(json.dumps(plan_json(berlin_plan)))
    assert data["site"] == "ber" and len(data["runs"]) == len(berlin_plan.batches)
    assert data["figures"]["orders_on_time"] == berlin_plan.on_time
    assert all(run["start"].endswith("+00:00") for run in data["runs"])
    assert sum(len(run["members"]) for run in data["runs"]) == 48
    png = gantt_png(berlin_plan, tmp_path / "gantt.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = demo_section([berlin_plan])
    assert table.row_count == 1
    assert plan_table(berlin_plan, 5).row_count == 5


def test_plan_network_plans_each_site_with_orders_and_skips_the_rest() -> None:
    quiet = replace(site(), id="quiet")
    plans = plan_network([site(), quiet], {"ber": orders(3)}, MONDAY_7_UTC, SitePlanSettings(time_limit=0.5))
    assert [p.site for p in plans] == ["ber"]
    assert validate(plans[0].problem, plans[0].plan) == []


def test_site_figures_report_the_dispatch_baseline(berlin_plan: SitePlan) -> None:
    """Tardiness and material changes of the dispatcher's plan sit next to the plan's own."""
    info = figures(berlin_plan)
    baseline = berlin_plan.dispatch_baseline
    assert baseline is not None
    assert info["dispatch_weighted_tardiness_minutes"] == baseline.weighted_tardiness
    assert info["dispatch_material_changes"] == baseline.setups
    assert int(str(info["weighted_tardiness_minutes"])) <= baseline.weighted_tardiness
