"""A step without its program is held on the server with the files tried; released, it runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.production.agent.client import AgentClient
from microfactory.production.agent.loop import EdgeAgent
from microfactory.production.agent.model import SiteMachine
from microfactory.production.agent.programs import GcodeFolder
from microfactory.production.agent.store import AgentStore
from microfactory.production.connectors import MachineConnector
from microfactory.production.connectors.simulated import SimulatedConnector
from tests.integration.production.berlin_work import NOW, release, route_keypads

PARTS = ("HSG-TOP", "HSG-BOTTOM", "KEYCAP", "KEY-MODULE", "NAMEPLATE")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _agent(client: TestClient, folder: Path, clock: Clock) -> EdgeAgent:
    issued = client.post("/api/v1/tokens", json={"name": "berlin-agent", "role": "site", "site": "berlin"})
    assert issued.status_code == 201, issued.text
    machines: dict[str, SimulatedConnector] = {}

    def connector(machine: SiteMachine) -> MachineConnector:
        return machines.setdefault(machine.id, SimulatedConnector(clock, name=machine.id))

    link = AgentClient(
        "http://testserver", "berlin", issued.json()["token"], http=client, sleep=lambda _s: None
    )
    return EdgeAgent(link, AgentStore(":memory:"), GcodeFolder(folder), connectors=connector, clock=clock)


def test_a_missing_program_holds_the_step_until_a_person_gives_it_back(
    engine: Engine, examples: Path, client: TestClient, tmp_path: Path
) -> None:
    route_keypads(engine, examples, ["black"])
    release(engine)
    clock, programs = Clock(), tmp_path / "programs"
    programs.mkdir()
    agent = _agent(client, programs, clock)

    first = agent.run_once()
    held = client.get("/api/v1/sites/berlin/operations", params={"status": "held"}).json()
    running = client.get("/api/v1/sites/berlin/operations", params={"status": "running"}).json()
    assert held and {step["id"] for step in running} == set(first.dispatched)
    assert all("part" not in step["params"] for step in running)  # steps without a file run on
    for step in held:
        assert step["op"].startswith("make:") and "no program" in step["hold_reason"]
        assert step["params"]["part"] in step["hold_reason"]  # the files tried are named
    assert agent.run_once().pulled < first.pulled  # held steps are no longer the agent's

    for part in PARTS:
        (programs / f"{part}.gcode").write_text(f"; {part}\nG28\n")
    for step in held:
        assert client.post(f"/api/v1/operations/{step['id']}/unhold").status_code == 200
    clock.now += timedelta(minutes=1)
    again = agent.run_once()
    assert again.dispatched and set(again.dispatched) <= {step["id"] for step in held}
    assert not client.get("/api/v1/sites/berlin/operations", params={"status": "held"}).json()
