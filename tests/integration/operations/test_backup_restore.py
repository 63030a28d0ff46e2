"""`microfactory db backup --out FILE` and `db restore FILE`: back up, change, restore, and find the
data as it was; on SQLite (online backup API) and PostgreSQL (pg_dump, pg_restore)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from microfactory.cli.main import app as cli
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service
from microfactory.orders.model import Address, NewOrder, NewOrderLine

runner = CliRunner()
SHIP_TO = Address.from_dict({"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4})


@pytest.fixture
def configured(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The CLI's settings point at the test's database (migrated by the `engine` fixture)."""
    monkeypatch.setenv("MICROFACTORY_DATABASE_URL", database_url)
    from microfactory.cli import context
    from microfactory.config import get_settings

    get_settings.cache_clear()
    context.container.cache_clear()
    yield engine
    get_settings.cache_clear()
    context.container.cache_clear()


def _order(engine: Engine, external_id: str) -> str:
    with UnitOfWork.for_engine(engine) as uow:
        new = NewOrder("erp", external_id, (NewOrderLine(qty=1, product="nothing"),), ship_to=SHIP_TO)
        order_id = service.intake(uow, new).order.id
        uow.commit()
    return order_id


def _orders(engine: Engine) -> dict[str, str]:
    with UnitOfWork.for_engine(engine) as uow:
        return {row.external_id: row.status for row in uow.session.scalars(select(OrderRow))}


def test_backup_change_restore(configured: Engine, tmp_path: Path) -> None:
    engine = configured
    kept = _order(engine, "B-1")
    before = _orders(engine)
    out = tmp_path / "backups" / "nightly.backup"
    made = runner.invoke(cli, ["db", "backup", "--out", str(out), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["bytes"] == out.stat().st_size > 0
    _order(engine, "B-2")
    with UnitOfWork.for_engine(engine) as uow:
        service.cancel_order(uow, kept, "changed after the backup", actor="test")
        uow.commit()
    assert _orders(engine) != before
    engine.dispose()  # the servers are stopped for a restore
    restored = runner.invoke(cli, ["db", "restore", str(out), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert _orders(engine) == before
    with UnitOfWork.for_engine(engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(OrderRow)) == 1


def test_restore_asks_first_and_refuses_what_is_not_a_backup(configured: Engine, tmp_path: Path) -> None:
    _order(configured, "B-3")
    out = tmp_path / "one.backup"
    assert runner.invoke(cli, ["db", "backup", "--out", str(out)]).exit_code == 0
    declined = runner.invoke(cli, ["db", "restore", str(out)], input="n\n")
    assert declined.exit_code == 1 and _orders(configured) == {"B-3": "needs_attention"}
    missing = runner.invoke(cli, ["db", "restore", str(tmp_path / "none.backup"), "--yes"])
    assert missing.exit_code == 3 and "none.backup" in missing.output
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a backup")
    refused = runner.invoke(cli, ["db", "restore", str(junk), "--yes"])
    assert refused.exit_code in (2, 5), refused.output
    assert _orders(configured) == {"B-3": "needs_attention"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_place_the_backup_cannot_be_written_is_named(configured: Engine, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    places = [blocker / "nightly.backup"]
    if Path("/proc").is_dir():  # a folder that exists and refuses new files, even to root
        places.append(Path("/proc/nightly.backup"))
    for out in places:
        refused = runner.invoke(cli, ["db", "backup", "--out", str(out)])
        assert refused.exit_code == 2, refused.output
        assert "cannot write the backup" in refused.output and str(out) in refused.output


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_without_the_postgresql_tools_the_message_says_what_to_install(
    configured: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    refused = runner.invoke(cli, ["db", "backup", "--out", str(tmp_path / "x.backup")])
    assert refused.exit_code == 2
    assert "pg_dump is not installed" in refused.output and "postgresql-client" in refused.output
