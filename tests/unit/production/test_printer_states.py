"""How the printers' own states and progress become ours, and how a connector is built from a spec."""

from __future__ import annotations

import pytest

from microfactory.errors import Invalid, MissingSetting
from microfactory.network.model import Connector
from microfactory.production.connectors import MachineState
from microfactory.production.connectors.kinds import api_key, connector_for
from microfactory.production.connectors.manual import ManualConnector
from microfactory.production.connectors.moonraker import MoonrakerConnector, history_state, moonraker_state
from microfactory.production.connectors.octoprint import OctoPrintConnector, octoprint_state
from microfactory.production.connectors.printer_http import progress_share, upload_name
from microfactory.production.connectors.simulated import SimulatedConnector


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Operational", MachineState.IDLE),
        ("Printing", MachineState.RUNNING),
        ("Printing from SD", MachineState.RUNNING),
        ("Starting", MachineState.RUNNING),
        ("Finishing", MachineState.RUNNING),
        ("Cancelling", MachineState.RUNNING),
        ("Pausing", MachineState.PAUSED),
        ("Paused", MachineState.PAUSED),
        ("Error: Thermal Runaway", MachineState.FAILED),
        ("Offline", MachineState.OFFLINE),
        ("Offline after error", MachineState.OFFLINE),
        ("Opening serial connection", MachineState.OFFLINE),
        ("Detecting serial connection", MachineState.OFFLINE),
        ("Closed", MachineState.OFFLINE),
    ],
)
def test_octoprint_state_texts(text: str, state: MachineState) -> None:
    assert octoprint_state(text) is state


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("standby", MachineState.IDLE),
        ("printing", MachineState.RUNNING),
        ("paused", MachineState.PAUSED),
        ("complete", MachineState.DONE),
        ("cancelled", MachineState.CANCELLED),
        ("error", MachineState.FAILED),
        ("something new", MachineState.FAILED),  # never reported as done by accident
    ],
)
def test_moonraker_print_stats_states(text: str, state: MachineState) -> None:
    assert moonraker_state(text) is state


def test_moonraker_history_ends() -> None:
    assert history_state("completed") is MachineState.DONE
    assert history_state("cancelled") is MachineState.CANCELLED
    assert {history_state(s) for s in ("error", "klippy_shutdown", "interrupted")} == {MachineState.FAILED}


def test_progress_is_a_share_from_zero_to_one() -> None:
    assert progress_share(42.5, 100) == pytest.approx(0.425)
    assert progress_share(0.3) == pytest.approx(0.3)
    assert progress_share(None, 100) == 0.0  # OctoPrint without a job
    assert progress_share(100.4, 100) == 1.0
    assert progress_share(-1) == 0.0
    assert progress_share(True) == 0.0


def test_each_submission_gets_a_file_of_its_own() -> None:
    first, second = upload_name("KEYCAP-PLA-TEAL.gcode"), upload_name("KEYCAP-PLA-TEAL.gcode")
    assert first != second
    assert first.startswith("KEYCAP-PLA-TEAL-") and first.endswith(".gcode")
    assert "/" not in upload_name("../../etc/passwd.gcode")


def test_the_key_comes_from_the_variable_the_spec_names() -> None:
    spec = {"kind": "octoprint", "url": "http://10.0.0.5", "api_key_env": "BER_PRINTER_1_KEY"}
    assert api_key(spec, {"BER_PRINTER_1_KEY": " k3y \n"}) == "k3y"
    assert api_key({"kind": "octoprint"}, {}) is None  # no variable named: no key sent
    for environ in ({}, {"BER_PRINTER_1_KEY": "  "}):
        with pytest.raises(MissingSetting) as missing:
            api_key(spec, environ)
        assert missing.value.name == "BER_PRINTER_1_KEY" and "octoprint printer at http://10.0.0.5" in str(
            missing.value
        )


def test_connector_for_takes_a_mapping_a_bare_kind_the_model_or_nothing() -> None:
    environ = {"KEY": "k"}
    assert isinstance(
        connector_for({"kind": "octoprint", "url": "http://127.0.0.1:9"}, environ), OctoPrintConnector
    )
    model = Connector("moonraker", "http://127.0.0.1:9", "KEY")
    assert isinstance(connector_for(model, environ), MoonrakerConnector)
    assert isinstance(connector_for("simulated", environ), SimulatedConnector)
    assert isinstance(connector_for(None, environ), ManualConnector)  # no connector: a manual station


def test_a_networked_kind_without_url_or_with_a_wrong_kind_is_invalid() -> None:
    with pytest.raises(Invalid) as no_url:
        connector_for("octoprint", {})
    assert [p.path for p in no_url.value.problems] == ["connector.url"]
    with pytest.raises(Invalid) as wrong:
        connector_for({"kind": "telnet"}, {})
    assert "not one of manual, moonraker, octoprint, simulated" in str(wrong.value)
