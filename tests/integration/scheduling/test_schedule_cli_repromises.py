"""`schedule site` and `schedule export` on stored work re-promise it from the plan.

Work routed a month ago was promised to ship then; planned now, it finishes later: the command moves
the promise to the planned finish, flags the slip, audits it and marks the work scheduled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from tests.conftest import CommandLine
from typer.testing import CliRunner

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.cli.main import app
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.orders import audit
from microfactory.orders import service as order_service
from microfactory.orders.model import Address, NewOrder, NewOrderLine

KREUZBERG = Address(name="Jonas Weber", city="Berlin", country="DE", latitude=52.50, longitude=13.42)


@pytest.fixture
def cli_on(database_url: str, engine: Engine, command_line: CommandLine) -> Engine:
    """The CLI's container on the test's database."""
    command_line.use_database(database_url)
    return engine


def _routed_a_month_ago(engine: Engine, examples: Path) -> datetime:
    then = datetime.now(UTC) - timedelta(days=30)
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        for number, color in enumerate(["black", "red", "teal"]):
            line = NewOrderLine(qty=1, product="KP", options={"keys": 8, "color": color})
            new = NewOrder(channel="test", external_id=f"R-{number}", lines=(line,), ship_to=KREUZBERG)
            order_service.intake(uow, new)
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        assert {outcome.site for outcome in network_service.route_work_orders(uow, now=then)} == {"berlin"}
        uow.commit()
    return then


@pytest.mark.parametrize("command", ["site", "export"])
def test_planning_stored_work_moves_late_promises_and_flags_the_slip(
    cli_on: Engine, examples: Path, tmp_path: Path, command: str
) -> None:
    then = _routed_a_month_ago(cli_on, examples)
    with UnitOfWork.for_engine(cli_on) as uow:
        before = {
            row.work_order_id: row.promised_ship_at for row in uow.session.scalars(select(AssignmentRow))
        }
    assert len(before) == 3 and all(
        at is not None and at < then + timedelta(days=3) for at in before.values()
    )

    extra = ["--json"] if command == "site" else ["--out", str(tmp_path)]
    started = datetime.now(UTC)
    result = CliRunner().invoke(app, ["schedule", command, "berlin", "--time-limit", "2", *extra])
    assert result.exit_code == 0, result.output

    with UnitOfWork.for_engine(cli_on) as uow:
        for row in uow.session.scalars(select(AssignmentRow)):
            assert row.promised_ship_at is not None and row.promised_ship_at >= started  # moved to the plan
            assert row.first_promised_delivery_at is not None
            assert row.promised_delivery_at is not None
            assert row.promised_delivery_at > row.first_promised_delivery_at and row.slipped
            trail = audit.history(uow, [row.work_order_id])
            assert [e.actor for e in trail if e.to_status == "promise_slipped"] == ["cli"]
            work_order = uow.session.get(WorkOrderRow, row.work_order_id)
            assert work_order is not None and work_order.status == "scheduled"
