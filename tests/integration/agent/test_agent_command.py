"""`microfactory agent`: its token from the environment, one pass with `--once`, SIGTERM ends a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from microfactory.cli.main import app
from microfactory.production.agent.store import AgentStore
from tests.integration.agent.fake_server import FakeSite, SiteServer

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "site-token-lyon"


def quick(
    op_id: str, step: str, machine: str, capability: str, params: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """An operation planned to start now and take `seconds` on a simulated machine."""
    start = datetime.now(UTC)
    return {
        "id": op_id,
        "work_order_id": "wo_7",
        "op": step,
        "capability": capability,
        "machine": machine,
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=seconds)).isoformat(),
        "qty": 1,
        "params": params,
        "after": [],
        "status": "released",
    }


@pytest.fixture
def server() -> Iterator[SiteServer]:
    machines = [
        {
            "id": "lyo-fdm-1",
            "capability": "fdm_print",
            "materials": ["PLA-TEAL"],
            "connector": {"kind": "simulated"},
        },
        {"id": "lyo-laser-1", "capability": "laser_engrave", "materials": [], "connector": "simulated"},
        {"id": "lyo-bench-1", "capability": "assembly", "materials": [], "connector": None},
    ]
    operations = [
        quick(
            "op_print",
            "make:KEYCAP",
            "lyo-fdm-1",
            "fdm_print",
            {"part": "KEYCAP", "material": "PLA-TEAL"},
            0.3,
        ),
        quick("op_engrave", "KP:engrave-nameplate", "lyo-laser-1", "laser_engrave", {"text": "Mira"}, 0.3),
        quick("op_bench", "KP:assemble", "lyo-bench-1", "assembly", {}, 0.3),  # people report it
    ]
    running = SiteServer(FakeSite("lyon", TOKEN, machines, {op["id"]: op for op in operations}))
    running.start()
    yield running
    running.stop()


def test_without_its_token_the_agent_names_the_variable_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MICROFACTORY_AGENT_TOKEN", raising=False)
    result = CliRunner().invoke(
        app, ["agent", "--site", "lyon", "--server", "http://127.0.0.1:9", "--store", str(tmp_path / "a.db")]
    )
    assert result.exit_code == 2
    assert "MICROFACTORY_AGENT_TOKEN is not set" in result.output
    assert not (tmp_path / "a.db").exists()


def test_a_server_that_is_not_a_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROFACTORY_AGENT_TOKEN", TOKEN)
    result = CliRunner().invoke(app, ["agent", "--site", "lyon", "--server", "mf.example.org", "--once"])
    assert result.exit_code == 2
    assert "--server: 'mf.example.org' is not an http(s) URL" in result.output


def test_once_does_one_pass_with_the_site_s_programs(
    server: SiteServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    programs = tmp_path / "programs"
    programs.mkdir()
    (programs / "KEYCAP-PLA-TEAL.gcode").write_text("G28\n")
    monkeypatch.setenv("MICROFACTORY_AGENT_TOKEN", TOKEN)
    store = tmp_path / "agent.db"
    args = [
        "agent",
        "--site",
        "lyon",
        "--server",
        server.url,
        "--store",
        str(store),
        "--programs",
        str(programs),
    ]
    result = CliRunner().invoke(app, [*args, "--once"])
    assert result.exit_code == 0, result.output
    assert "online: pulled 3, dispatched 2, finished 0, failed 0, reports sent 2, queued 0" in result.output
    started = {r["operation_id"]: (r["event"], r["machine"], r["program"]) for r in server.state.applied}
    assert started["op_print"] == ("started", "lyo-fdm-1", "KEYCAP-PLA-TEAL.gcode")
    assert started["op_engrave"][:2] == ("started", "lyo-laser-1") and started["op_engrave"][2]
    assert "op_bench" not in started  # a manual station: its operators report its work
    assert [job.operation.id for job in AgentStore(store).running()] == ["op_print", "op_engrave"]


@pytest.mark.slow
def test_sigterm_ends_a_running_agent_cleanly_after_its_work_is_reported(
    server: SiteServer, tmp_path: Path
) -> None:
    store = tmp_path / "agent.db"
    command = "from microfactory.cli.main import app; app()"
    args = ["agent", "--site", "lyon", "--server", server.url, "--store", str(store), "--interval", "0.2"]
    env = {**os.environ, "MICROFACTORY_AGENT_TOKEN": TOKEN, "PYTHONPATH": str(ROOT / "src")}
    agent = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while len(server.state.applied) < 4 and time.monotonic() < deadline and agent.poll() is None:
            time.sleep(0.1)
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 0, stderr
    assert "agent stopped" in stderr
    assert sorted((r["operation_id"], r["event"]) for r in server.state.applied) == [
        ("op_engrave", "finished"),
        ("op_engrave", "started"),
        ("op_print", "finished"),
        ("op_print", "started"),
    ]
    assert AgentStore(store).queued_count() == 0
