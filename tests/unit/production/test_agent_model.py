"""The agent's pure rules: when an operation is ready, which machine takes it, reading the server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from microfactory.errors import UpstreamFailure
from microfactory.production.agent.model import AgentOperation, SiteMachine, choose_machine, is_ready

PRINT = AgentOperation(
    "op_1",
    "wo_1",
    "make:KEYCAP",
    "fdm_print",
    machine="fdm-1",
    params={"part": "KEYCAP", "material": "PLA-TEAL"},
)
MACHINES = [
    SiteMachine("fdm-3", "fdm_print", ("PLA-TEAL",)),
    SiteMachine("fdm-1", "fdm_print", ("PLA-TEAL",)),
    SiteMachine("fdm-2", "fdm_print", ("PLA-RED",)),
    SiteMachine("fdm-0", "fdm_print", ("PLA-TEAL",), up=False),
    SiteMachine("laser-1", "laser_engrave"),
]


def chosen(operation: AgentOperation, busy: set[str]) -> str | None:
    machine = choose_machine(operation, MACHINES, busy)
    return None if machine is None else machine.id


def test_the_plan_s_machine_first_then_an_idle_equivalent_loaded_with_the_material() -> None:
    assert chosen(PRINT, busy=set()) == "fdm-1"
    assert chosen(PRINT, busy={"fdm-1"}) == "fdm-3"
    assert chosen(PRINT, busy={"fdm-1", "fdm-3"}) is None  # a red printer, and one that is down


def test_an_operation_without_material_takes_any_machine_of_its_capability() -> None:
    engrave = AgentOperation("op_2", "wo_1", "engrave", "laser_engrave", params={"text": "Mira"})
    assert chosen(engrave, busy=set()) == "laser-1"


def test_ready_when_the_server_says_so_or_everything_before_finished_here() -> None:
    waiting = AgentOperation("op_3", "wo_1", "assemble", "assembly", after=("op_1", "op_2"), ready=False)
    assert not is_ready(waiting, {"op_1"})
    assert is_ready(waiting, {"op_1", "op_2"})
    assert is_ready(PRINT, set())


def test_the_server_s_json_is_read_once_with_planned_minutes_and_utc_times() -> None:
    operation = AgentOperation.from_json(
        {
            "id": "op_9",
            "work_order_id": "wo_9",
            "op": "make:HSG-TOP",
            "capability": "fdm_print",
            "machine": None,
            "start": "2026-12-01T09:00:00+01:00",
            "end": "2026-12-01T09:45:00+01:00",
            "qty": 2,
            "params": {"part": "HSG-TOP", "material": "PLA-BLACK"},
            "after": ["op_8"],
            "status": "released",
            "ready": False,
        }
    )
    assert operation.start == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert (operation.minutes, operation.material, operation.after, operation.ready) == (
        45.0,
        "PLA-BLACK",
        ("op_8",),
        False,
    )
    assert AgentOperation.from_json(operation.as_json()) == operation
    with pytest.raises(UpstreamFailure, match="cannot read"):
        AgentOperation.from_json({"id": "op_10"})


def test_a_machine_s_connector_may_be_a_mapping_a_bare_kind_or_absent() -> None:
    spec = {"kind": "octoprint", "url": "http://127.0.0.1:5001", "api_key_env": None}
    machine = {"id": "m", "capability": "fdm_print"}
    assert SiteMachine.from_json({**machine, "connector": spec}).connector == {
        "kind": "octoprint",
        "url": "http://127.0.0.1:5001",
    }
    assert SiteMachine.from_json({**machine, "connector": "moonraker"}).connector == {"kind": "moonraker"}
    assert SiteMachine.from_json(machine).connector == {"kind": "manual"}
