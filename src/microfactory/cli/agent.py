"""`microfactory agent`: a site's edge agent, one pass (`--once`, for cron and tests) or until stopped.

The composition root of the agent process: the token from `MICROFACTORY_AGENT_TOKEN` (never an
option: it would show in `ps`), the HTTP client, the agent's own SQLite store and the program
folder. It never opens the server's database. SIGTERM and Ctrl-C end it after the current pass.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import typer

from microfactory.cli.context import console, errors
from microfactory.errors import Invalid, MissingSetting
from microfactory.problems import Problem
from microfactory.production.agent.client import AgentClient
from microfactory.production.agent.loop import EdgeAgent
from microfactory.production.agent.programs import site_programs
from microfactory.production.agent.store import AgentStore

TOKEN_VARIABLE = "MICROFACTORY_AGENT_TOKEN"


def agent_token() -> str:
    """The site token the agent authenticates with; `MissingSetting` (exit 2) names the variable."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise MissingSetting(TOKEN_VARIABLE, "the agent needs its site's token to talk to the server")
    return token


def agent(
    site: str = typer.Option(..., "--site", help="the site this agent runs (its id in the network)"),
    server: str = typer.Option(..., "--server", help="the server's base URL, e.g. https://mf.example.org"),
    programs: Path | None = typer.Option(
        None,
        "--programs",
        file_okay=False,
        exists=True,
        help="the site's program folder (P-M.gcode, P.gcode)",
    ),
    store: Path | None = typer.Option(
        None, "--store", dir_okay=False, help="the agent's SQLite file (default: agent-SITE.db)"
    ),
    once: bool = typer.Option(False, "--once", help="one pass, then exit (cron, tests)"),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="seconds between passes"),
    operator: str | None = typer.Option(None, "--operator", help="who runs the site, sent with reports"),
) -> None:
    """Run a site's edge agent: pull released operations, drive the machines, report back.

    Keeps working while the server is unreachable and sends its queued reports in order later.
    """
    token = agent_token()
    if not server.startswith(("http://", "https://")):
        raise Invalid(
            "the server cannot be reached", [Problem("--server", f"{server!r} is not an http(s) URL")]
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    client = AgentClient(server, site, token)
    local = AgentStore(store or Path(f"agent-{site}.db"))
    edge = EdgeAgent(client, local, site_programs(programs), operator=operator)
    try:
        if once:
            console.print(edge.run_once().summary())
            return
        stop = threading.Event()
        _stop_on_signals(stop)
        errors.print(f"agent for site {site} running against {server}; SIGTERM or Ctrl-C stops it")
        edge.run(stop, interval)
        errors.print("agent stopped")
    finally:
        local.close()
        client.close()


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (systemd, docker) and SIGINT end the run after the pass in progress."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda _signum, _frame: stop.set())
