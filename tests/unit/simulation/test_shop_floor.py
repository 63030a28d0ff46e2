"""The demo's shop floor without a database: simulated machines, the poll grid, utilisation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from microfactory.db.base import Replay
from microfactory.production.agent.model import SiteMachine
from microfactory.production.connectors import MachineState, Program
from microfactory.simulation.production_stage import _on_tick, utilisation
from microfactory.simulation.shop_floor import DemoMachine, DemoMachines, SimClock, step_minutes

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)  # each reading of the replay's clock moves it on by this much


def _clock() -> SimClock:
    return SimClock(Replay(random.Random(1), T0))


def test_a_job_ends_when_its_minutes_have_passed_on_the_simulated_clock() -> None:
    clock = _clock()
    machine = DemoMachine("m", clock, random.Random(1), failure_rate=0.0)
    job = machine.submit(Program("p", minutes=30))
    machine.start(job)
    assert machine.next_due() == T0 + TICK + timedelta(minutes=30)
    clock.advance_to(T0 + timedelta(minutes=29))
    assert machine.status(job).state is MachineState.RUNNING
    clock.advance_to(T0 + timedelta(minutes=31))
    assert machine.status(job).state is MachineState.DONE and machine.next_due() is None
    clock.advance_to(T0)  # the clock never goes back
    assert clock.peek() >= T0 + timedelta(minutes=31)


def test_a_failing_job_fails_part_way_and_frees_the_machine_even_when_polled_late() -> None:
    clock = _clock()
    machine = DemoMachine("m", clock, random.Random(1), failure_rate=1.0)
    job = machine.submit(Program("p", minutes=10))
    machine.start(job)
    assert machine.next_due() == T0 + TICK + timedelta(minutes=4)
    clock.advance_to(T0 + timedelta(hours=1))  # polled after the whole run would have ended
    status = machine.status(job)
    assert status.state is MachineState.FAILED and "came loose" in status.message
    again = machine.submit(Program("p", minutes=10))
    machine.start(again)  # not busy
    assert machine.status(again).state is MachineState.RUNNING


def test_benches_are_left_to_people_and_each_machine_is_built_once() -> None:
    machines = DemoMachines("berlin", _clock(), seed=7, failure_rate=0.0)
    printer = SiteMachine("ber-fdm-1", "fdm_print")
    assert machines(SiteMachine("ber-bench-1", "assembly")) is None
    assert machines(printer) is machines(printer)


def test_polls_fall_on_a_grid_from_the_start() -> None:
    poll = timedelta(minutes=10)
    assert _on_tick(None, T0, poll) is None
    assert _on_tick(T0 + timedelta(minutes=1), T0, poll) == T0 + poll
    assert _on_tick(T0 + poll, T0, poll) == T0 + poll


def test_utilisation_is_busy_time_over_the_site_window() -> None:
    def at(minutes: int) -> str:
        return (T0 + timedelta(minutes=minutes)).isoformat()

    reports = [
        {"operation_id": "a", "event": "started", "machine": "m1", "at": at(0)},
        {"operation_id": "a", "event": "failed", "machine": "m1", "at": at(10)},
        {"operation_id": "a", "event": "started", "machine": "m1", "at": at(20)},
        {"operation_id": "a", "event": "finished", "machine": "m1", "at": at(50)},
        {"operation_id": "b", "event": "started", "machine": "m2", "at": at(50)},
        {"operation_id": "b", "event": "finished", "machine": "m2", "at": at(100)},
    ]
    assert utilisation(reports, ["m1", "m2", "m3"], T0) == {"m1": 0.4, "m2": 0.5, "m3": 0.0}
    assert utilisation([], ["m1"], T0) == {"m1": 0.0}


def test_step_minutes_come_from_the_translations() -> None:
    translation = {"operations": [{"id": "make:KEYCAP", "minutes": 12.5}, {"id": "KP:pack", "minutes": 2}]}
    assert step_minutes([("wo_1", translation)]) == {("wo_1", "make:KEYCAP"): 12.5, ("wo_1", "KP:pack"): 2.0}
