"""Machine connectors: a simulated machine in scaled time, a manual station moved by its operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from microfactory.errors import Conflict, NotFound
from microfactory.production.connectors import MachineConnector, MachineState, Program
from microfactory.production.connectors.manual import ManualConnector
from microfactory.production.connectors.simulated import SimulatedConnector

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_a_simulated_job_runs_its_minutes_scaled_by_the_clock() -> None:
    clock = FakeClock()
    machine: MachineConnector = SimulatedConnector(clock, speedup=60)  # a minute per second
    job = machine.submit(Program("HSG-TOP-PLA-BLACK.gcode", minutes=90))
    assert machine.status(job).state is MachineState.IDLE
    machine.start(job)
    clock.now = T0 + timedelta(seconds=45)
    running = machine.status(job)
    assert running.state is MachineState.RUNNING and running.progress == pytest.approx(0.5)
    clock.now = T0 + timedelta(seconds=90)
    done = machine.status(job)
    assert (done.state, done.progress, done.finished) == (MachineState.DONE, 1.0, True)
    with pytest.raises(Conflict, match="cannot be cancelled"):
        machine.cancel(job)


def test_a_simulated_machine_runs_one_job_at_a_time_and_can_cancel_or_go_offline() -> None:
    clock = FakeClock()
    machine = SimulatedConnector(clock)
    first, second = machine.submit(Program("a", minutes=10)), machine.submit(Program("b", minutes=10))
    assert first != second
    machine.start(first)
    with pytest.raises(Conflict, match=f"busy with job {first}"):
        machine.start(second)
    machine.cancel(first)
    assert machine.status(first).state is MachineState.CANCELLED
    machine.start(second)
    machine.offline = True
    assert machine.status(second).state is MachineState.OFFLINE
    with pytest.raises(NotFound):
        machine.status("sim-99")


def test_a_manual_job_moves_only_when_the_operator_confirms() -> None:
    station = ManualConnector()
    job = station.submit(Program("assemble keypad"))
    station.start(job)
    asked = station.status(job)
    assert asked.state is MachineState.IDLE and "operator" in asked.message
    with pytest.raises(Conflict, match="only a running job can finish"):
        station.confirm_finished(job)
    station.confirm_started(job)
    assert station.status(job).state is MachineState.RUNNING
    station.confirm_finished(job, ok=False, note="cracked housing")
    failed = station.status(job)
    assert (failed.state, failed.message) == (MachineState.FAILED, "cracked housing")
    with pytest.raises(Conflict):
        station.cancel(job)
