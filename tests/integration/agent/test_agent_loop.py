"""The edge agent against a fake server on loopback, with simulated machines on a fake clock.

The link is cut by stopping the server (its port closes) and restored by starting it on the same
port: the agent keeps dispatching from its store, queues its reports, and sends them in order once
the server answers; the server applies each report exactly once, also when an answer is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from microfactory.errors import Forbidden
from microfactory.production.agent.client import AgentClient
from microfactory.production.agent.loop import EdgeAgent
from microfactory.production.agent.model import SiteMachine
from microfactory.production.agent.programs import GcodeFolder
from microfactory.production.agent.store import AgentStore, LocalState
from microfactory.production.connectors import MachineConnector
from microfactory.production.connectors.simulated import SimulatedConnector
from tests.integration.agent.fake_server import FakeSite, SiteServer

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TOKEN = "site-token-berlin"


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def operation(op_id: str, machine: str, start: float, minutes: float, **extra: Any) -> dict[str, Any]:
    begin = T0 + timedelta(minutes=start)
    return {
        "id": op_id,
        "work_order_id": "wo_1",
        "op": extra.pop("op", f"make:{op_id}"),
        "capability": extra.pop("capability", "fdm_print"),
        "machine": machine,
        "start": begin.isoformat(),
        "end": (begin + timedelta(minutes=minutes)).isoformat(),
        "qty": 1,
        "params": extra.pop("params", {"part": "HSG-TOP", "material": "PLA-TEAL"}),
        "after": extra.pop("after", []),
        "status": "released",
    }


def berlin() -> FakeSite:
    machines = [
        {"id": "fdm-1", "capability": "fdm_print", "materials": ["PLA-TEAL"], "connector": "simulated"},
        {"id": "fdm-2", "capability": "fdm_print", "materials": ["PLA-TEAL", "PLA-RED"], "connector": None},
        {"id": "fdm-3", "capability": "fdm_print", "materials": ["PLA-RED"], "connector": None},
        {"id": "laser-1", "capability": "laser_engrave", "materials": [], "connector": {"kind": "simulated"}},
    ]
    operations = [
        operation("op_a", "fdm-1", 0, 30),
        operation("op_c", "fdm-1", 30, 20, params={"part": "KEYCAP", "material": "PLA-TEAL"}),
        operation(
            "op_b",
            "laser-1",
            30,
            10,
            op="engrave",
            capability="laser_engrave",
            after=["op_a"],
            params={"text": "Mira"},
        ),
    ]
    return FakeSite("berlin", TOKEN, machines, {op["id"]: op for op in operations})


@pytest.fixture
def server() -> Iterator[SiteServer]:
    running = SiteServer(berlin())
    running.start()
    yield running
    running.stop()


def make_agent(server: SiteServer, store: AgentStore, clock: FakeClock, token: str = TOKEN) -> EdgeAgent:
    machines: dict[str, SimulatedConnector] = {}

    def connector(machine: SiteMachine) -> MachineConnector:
        return machines.setdefault(machine.id, SimulatedConnector(clock, name=machine.id))

    client = AgentClient(server.url, "berlin", token, sleep=lambda _seconds: None)
    return EdgeAgent(client, store, GcodeFolder(), connectors=connector, operator="ana", clock=clock)


def test_a_cut_link_loses_nothing_and_doubles_nothing(server: SiteServer, tmp_path: Path) -> None:
    clock, store = FakeClock(), AgentStore(tmp_path / "agent.db")
    agent, site = make_agent(server, store, clock), server.state

    first = agent.run_once()
    assert first.online and first.pulled == 3
    assert first.dispatched == ["op_a", "op_c"]  # op_c's planned printer is busy: the idle equivalent
    assert {op: site.operations[op]["status"] for op in ("op_a", "op_b", "op_c")} == {
        "op_a": "running",
        "op_b": "released",
        "op_c": "running",
    }
    assert [(r["operation_id"], r["machine"], r["operator"]) for r in site.applied] == [
        ("op_a", "fdm-1", "ana"),
        ("op_c", "fdm-2", "ana"),
    ]

    server.stop()  # the link is cut
    clock.advance(31)
    offline = agent.run_once()
    assert not offline.online
    assert offline.finished == ["op_a", "op_c"]
    assert offline.dispatched == ["op_b"]  # ready here: what it waits for finished on this site
    clock.advance(11)
    later = agent.run_once()
    assert (later.online, later.finished, later.queued) == (False, ["op_b"], 4)
    assert len(site.applied) == 2  # the server heard nothing meanwhile

    server.start()  # the link returns, and the first answer is lost on the way back
    site.lose_next_answer = True
    back = agent.run_once()
    assert back.online and back.queued == 0 and back.pulled == 0
    assert [(r["operation_id"], r["event"]) for r in site.applied] == [
        ("op_a", "started"),
        ("op_c", "started"),
        ("op_a", "finished"),
        ("op_c", "finished"),
        ("op_b", "started"),
        ("op_b", "finished"),
    ]
    assert len({r["id"] for r in site.applied}) == 6  # each applied once, although four were sent twice
    assert len(site.received) == 10
    assert all(op["status"] == "done" for op in site.operations.values())
    finished_b = site.applied[-1]
    assert finished_b["machine"] == "laser-1" and finished_b["at"] == (T0 + timedelta(minutes=42)).isoformat()
    assert store.refused() == []


def test_a_restarted_agent_goes_on_from_its_store(server: SiteServer, tmp_path: Path) -> None:
    clock = FakeClock()
    first = AgentStore(tmp_path / "agent.db")
    make_agent(server, first, clock).run_once()
    first.close()
    server.stop()

    store = AgentStore(tmp_path / "agent.db")  # a new process, offline from its start
    assert [job.operation.id for job in store.running()] == ["op_a", "op_c"]
    assert [op.id for op in store.pending()] == ["op_b"]
    assert {m.id for m in store.machines()} == {"fdm-1", "fdm-2", "fdm-3", "laser-1"}
    clock.advance(60)
    after = make_agent(server, store, clock).run_once()
    # the new process's simulated printers never saw those jobs: failed, said once, never guessed done
    assert (after.online, after.failed, after.dispatched) == (False, ["op_a", "op_c"], [])
    assert store.state_of("op_a") == (LocalState.FAILED, "machine fdm-1 no longer knows job fdm-1-1")


def test_a_withdrawn_operation_is_not_dispatched(server: SiteServer, tmp_path: Path) -> None:
    server.state.operations["op_c"]["status"] = "superseded"
    server.state.operations["op_a"]["machine"] = "fdm-2"
    agent = make_agent(server, AgentStore(tmp_path / "agent.db"), FakeClock())
    assert agent.run_once().dispatched == ["op_a"]
    assert server.state.applied[0]["machine"] == "fdm-2"


def test_a_wrong_token_stops_the_agent(server: SiteServer, tmp_path: Path) -> None:
    agent = make_agent(server, AgentStore(tmp_path / "agent.db"), FakeClock(), token="not-it")
    with pytest.raises(Forbidden, match="refused the agent's token"):
        agent.run_once()
