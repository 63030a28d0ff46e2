"""The OctoPrint and Moonraker connectors against fake printers on loopback speaking their APIs.

Every behaviour runs on both kinds: the agent drives them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from microfactory.errors import Conflict, MissingSetting, NotFound, UpstreamFailure
from microfactory.production.connectors import MachineConnector, MachineState, Program, ProgramKind
from microfactory.production.connectors.kinds import connector_for
from microfactory.production.connectors.moonraker import MoonrakerConnector
from microfactory.production.connectors.octoprint import OctoPrintConnector
from tests.integration.live_server import live_server
from tests.integration.production.conftest import KEY, moonraker_at, octoprint_at
from tests.integration.production.fake_moonraker import build_moonraker
from tests.integration.production.fake_octoprint import build_octoprint
from tests.integration.production.fake_printer import FakePrinter, ManualClock, refused_url

KEYCAP = Program("KEYCAP-PLA-TEAL.gcode", b"G28\nG1 X10 Y10\n", minutes=32, material="PLA-TEAL")
BUILDERS = {"octoprint": (build_octoprint, octoprint_at), "moonraker": (build_moonraker, moonraker_at)}


@dataclass
class Rig:
    kind: str
    printer: FakePrinter
    url: str
    machine: OctoPrintConnector | MoonrakerConnector
    clock: ManualClock


@pytest.fixture(params=["octoprint", "moonraker"])
def rig(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[Rig]:
    build, connect = BUILDERS[request.param]
    printer = FakePrinter(print_seconds=60, clock=clock, api_key=KEY)
    with live_server(build(printer), lifespan="off") as url:
        machine = connect(url)
        yield Rig(request.param, printer, url, machine, clock)
        machine.close()


def test_a_job_is_uploaded_started_followed_and_done(rig: Rig) -> None:
    machine: MachineConnector = rig.machine
    job = machine.submit(KEYCAP)
    assert job.startswith("KEYCAP-PLA-TEAL-") and job.endswith(".gcode")
    assert rig.printer.uploads == [job] and rig.printer.files[job] == KEYCAP.content
    assert machine.status(job).state is MachineState.IDLE
    machine.start(job)
    assert machine.status(job).state is MachineState.RUNNING
    rig.clock.advance(30)
    halfway = machine.status(job)
    assert halfway.state is MachineState.RUNNING and halfway.progress == pytest.approx(0.5, abs=0.01)
    rig.clock.advance(31)
    done = machine.status(job)
    assert (done.state, done.progress, done.finished) == (MachineState.DONE, 1.0, True)
    assert set(rig.printer.keys_seen) == {KEY}  # every request carried the key in X-Api-Key


def test_a_done_job_stays_done_when_the_printer_moves_on(rig: Rig) -> None:
    first = rig.machine.submit(KEYCAP)
    rig.machine.start(first)
    rig.clock.advance(61)
    second = rig.machine.submit(KEYCAP)
    assert second != first  # two submissions never share a file
    rig.machine.start(second)
    rig.clock.advance(10)
    assert rig.machine.status(first).state is MachineState.DONE
    assert rig.machine.status(second).state is MachineState.RUNNING


def test_a_busy_printer_refuses_the_start_with_a_conflict(rig: Rig) -> None:
    rig.printer.busy_with("someone-else.gcode")
    job = rig.machine.submit(KEYCAP)
    with pytest.raises(Conflict, match="busy"):
        rig.machine.start(job)
    assert rig.machine.status(job).state is MachineState.IDLE
    assert rig.printer.current == "someone-else.gcode" and rig.printer.state == "printing"


def test_a_printer_that_is_offline_says_so(rig: Rig) -> None:
    job = rig.machine.submit(KEYCAP)
    rig.machine.start(job)
    rig.printer.offline = True
    assert rig.machine.status(job).state is MachineState.OFFLINE
    rig.printer.offline = False
    assert rig.machine.status(job).state is MachineState.RUNNING


def test_a_server_that_does_not_answer_is_offline_and_refuses_uploads() -> None:
    for connect in (octoprint_at, moonraker_at):
        machine = connect(refused_url())
        status = machine.status("KEYCAP-PLA-TEAL-00000000.gcode")
        assert status.state is MachineState.OFFLINE and "could not connect" in status.message
        with pytest.raises(UpstreamFailure) as failure:
            machine.submit(KEYCAP)
        assert failure.value.retryable  # nothing was sent: the agent may try again


def test_cancel_stops_our_running_job(rig: Rig) -> None:
    job = rig.machine.submit(KEYCAP)
    rig.machine.start(job)
    rig.clock.advance(10)
    rig.machine.cancel(job)
    assert rig.machine.status(job).state is MachineState.CANCELLED
    assert [(r.file, r.outcome) for r in rig.printer.history] == [(job, "cancelled")]
    with pytest.raises(Conflict, match="already cancelled"):
        rig.machine.cancel(job)


def test_cancelling_a_job_not_started_leaves_the_printer_alone(rig: Rig) -> None:
    rig.printer.busy_with("someone-else.gcode")
    job = rig.machine.submit(KEYCAP)
    rig.machine.cancel(job)
    assert rig.machine.status(job).state is MachineState.CANCELLED
    assert rig.printer.state == "printing" and rig.printer.history == []


def test_a_print_that_fails_on_the_printer_is_failed(rig: Rig) -> None:
    job = rig.machine.submit(KEYCAP)
    rig.machine.start(job)
    rig.clock.advance(5)
    rig.printer.fail("Heater extruder not heating at expected rate")
    status = rig.machine.status(job)
    assert status.state is MachineState.FAILED and "Heater extruder" in status.message
    with pytest.raises(Conflict):
        rig.machine.cancel(job)


def test_a_wrong_key_is_an_upstream_failure_naming_the_setting(rig: Rig) -> None:
    machine = BUILDERS[rig.kind][1](rig.url, "not-the-key")
    with pytest.raises(UpstreamFailure, match="api_key_env") as failure:
        machine.submit(KEYCAP)
    assert not failure.value.retryable
    assert rig.printer.uploads == []


def test_an_unknown_job_is_not_found_and_svg_is_refused(rig: Rig) -> None:
    with pytest.raises(NotFound):
        rig.machine.status("never-submitted.gcode")
    with pytest.raises(Conflict, match="G-code"):
        rig.machine.submit(Program("KP-engrave.svg", b"<svg/>", kind=ProgramKind.SVG))
    assert rig.printer.uploads == []


def test_connector_for_reads_the_key_from_the_agents_environment(rig: Rig) -> None:
    spec = {"kind": rig.kind, "url": rig.url, "api_key_env": "BER_PRINTER_KEY"}
    machine = connector_for(spec, {"BER_PRINTER_KEY": KEY})
    machine.status(machine.submit(KEYCAP))
    assert set(rig.printer.keys_seen) == {KEY}
    with pytest.raises(MissingSetting, match="BER_PRINTER_KEY") as missing:
        connector_for(spec, {})
    assert missing.value.name == "BER_PRINTER_KEY"
