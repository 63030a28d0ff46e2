"""`microfactory telemetry ...`: store machine telemetry from MQTT, read a metric, see and close alerts."""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import timedelta
from types import FrameType

import typer
from rich.table import Table

from microfactory.cli.context import console, container, errors, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.db.base import utcnow
from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.production.telemetry import service
from microfactory.production.telemetry.model import TOPIC_FILTER, parse_ts
from microfactory.production.telemetry.subscriber import subscriber_for

app = command_group("Machine telemetry over MQTT: listen, show a metric, alerts.")


@app.command()
def listen(
    client_id: str | None = typer.Option(None, "--client-id", help="MQTT client id (default from settings)"),
    seconds: float = typer.Option(0, "--seconds", help="stop after this long; 0: until SIGTERM or Ctrl-C"),
) -> None:
    """Subscribe to every machine's telemetry and store it until stopped (SIGTERM ends it cleanly)."""
    built = container()
    subscriber = subscriber_for(built.settings, built.engine, client_id=client_id)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = signal.signal(signal.SIGTERM, stop)
    subscriber.start()
    errors.print(f"listening on {built.settings.mqtt_url} to {TOPIC_FILTER}")
    started = time.monotonic()
    try:
        while not stopping.wait(1.0):
            if seconds and time.monotonic() - started >= seconds:
                break
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.stop()
        signal.signal(signal.SIGTERM, previous)
    stats = subscriber.ingest.stats
    errors.print(
        f"stored {stats.readings} readings from {stats.messages} messages; {stats.rejected} refused,"
        f" {stats.alerts} alerts raised"
    )


@app.command()
def show(
    machine: str = typer.Argument(..., help="machine id"),
    metric: str = typer.Option(..., "--metric", help="the reading, e.g. nozzle_temp"),
    since: str | None = typer.Option(None, "--since", help="ISO 8601 with offset (default: one hour ago)"),
    as_json: bool = typer.Option(False, "--json", help='print [{"ts", "value"}]'),
) -> None:
    """A metric's values since a time, oldest first (minute means where older readings are rolled up)."""
    problems: list[Problem] = []
    start = parse_ts(since, problems, "--since") if since is not None else utcnow() - timedelta(hours=1)
    if start is None:
        raise Invalid("--since is not a time", problems)
    with unit_of_work() as uow:
        points = [point.as_dict() for point in service.series(uow, machine, metric, start)]
    if as_json:
        print(json.dumps(points))
        return
    table = Table(title=f"{machine} {metric}")
    table.add_column("ts")
    table.add_column("value", justify="right")
    for point in points:
        table.add_row(point["ts"], f"{point['value']:g}")
    console.print(table)


@app.command()
def alerts(
    machine: str | None = typer.Option(None, "--machine", help="only this machine"),
    as_json: bool = typer.Option(False, "--json", help="print the alerts as JSON"),
) -> None:
    """Open alerts, oldest first: limits breached, machines gone silent."""
    with unit_of_work() as uow:
        views = [service.alert_view(alert) for alert in service.open_alerts(uow, machine)]
    if as_json:
        print(json.dumps(views, ensure_ascii=False, indent=2))
        return
    table = Table(title="open alerts")
    for column in ("id", "kind", "site", "machine", "at", "message"):
        table.add_column(column)
    for view in views:
        table.add_row(view["id"], view["kind"], view["site"], view["machine"], view["at"], view["message"])
    console.print(table)


@app.command()
def ack(alert_id: str = typer.Argument(..., help="alert id (alr_...)")) -> None:
    """Acknowledge (close) an alert; a limit breached again raises a new one."""
    with unit_of_work() as uow:
        view = service.alert_view(service.acknowledge(uow, alert_id, "cli"))
        uow.commit()
    print(json.dumps(view, ensure_ascii=False, indent=2))
