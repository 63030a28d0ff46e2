"""`microfactory orders ...` and `work-orders ...` as an operator types them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from microfactory.cli import context
from microfactory.cli.main import app
from tests.conftest import CommandLine

runner = CliRunner()


@pytest.fixture
def cli(database_url: str, examples: Path, command_line: CommandLine) -> Iterator[Path]:
    """The CLI on a fresh database with the keypad catalog loaded."""
    command_line.use_database(database_url)
    loaded = runner.invoke(app, ["catalog", "load", str(examples / "catalog-keypad.yaml")])
    assert loaded.exit_code == 0, loaded.output
    yield examples
    context.engine().dispose()


def _import(tmp_path: Path, *lines: tuple[str, dict[str, Any]]) -> list[str]:
    """Import one order per line through `orders import`; their order ids, oldest first."""
    orders = [
        {"order_id": f"C-{n}", "lines": [{"product": product, "qty": 1, "options": options}]}
        for n, (product, options) in enumerate(lines)
    ]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": orders}), encoding="utf-8")
    assert runner.invoke(app, ["orders", "import", str(path)]).exit_code == 0
    listed = _json("orders", "list", "--limit", "500")
    return [order["id"] for order in listed["items"]]


def _json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_orders_list_pages_with_a_total_and_full_ids(cli: Path, tmp_path: Path) -> None:
    ids = _import(tmp_path, *[("KP", {"keys": 4})] * 5)
    assert len(ids) == 5
    first = runner.invoke(app, ["orders", "list", "--limit", "2"])
    assert first.exit_code == 0, first.output
    assert "showing 1-2 of 5 (next: --offset 2)" in first.output
    assert ids[0] in first.output and ids[1] in first.output and ids[2] not in first.output
    last = runner.invoke(app, ["orders", "list", "--limit", "2", "--offset", "4"])
    assert "showing 5-5 of 5" in last.output and "next" not in last.output
    page = _json("orders", "list", "--limit", "2", "--offset", "2")
    assert [o["id"] for o in page["items"]] == ids[2:4]
    assert (page["total"], page["next"]) == (5, 4)
    for bad, why in (("0", "greater than or equal to 1"), ("-1", "1"), ("501", "less than or equal to 500")):
        refused = runner.invoke(app, ["orders", "list", "--limit", bad])
        assert refused.exit_code == 2
        assert "Invalid value for '--limit'" in refused.output and why in refused.output


def test_needs_attention_correct_history_and_cancel(cli: Path, tmp_path: Path) -> None:
    released, waiting = _import(tmp_path, ("KP", {"keys": 8}), ("KP", {"color": "purple"}))
    attention = _json("orders", "needs-attention")
    assert attention["total"] == 1
    [line] = attention["items"]
    assert line["order_id"] == waiting and line["problems"][0]["path"] == "options.color"
    table = runner.invoke(app, ["orders", "needs-attention"])
    assert line["id"] in table.output and waiting in table.output  # whole, ready to copy
    assert "showing 1-1 of 1" in table.output

    corrected = runner.invoke(app, ["orders", "correct", line["id"], "--option", "color=teal"])
    assert corrected.exit_code == 0, corrected.output
    assert "released" in corrected.output
    again = runner.invoke(app, ["orders", "correct", line["id"], "--option", "color=red"])
    assert again.exit_code == 4
    assert "only lines in needs_attention" in again.output
    assert runner.invoke(app, ["orders", "correct", "line_nope", "--option", "color=red"]).exit_code == 3
    assert _json("orders", "needs-attention")["total"] == 0

    history = _json("orders", "history", waiting)
    assert [e["to"] for e in history if e["entity"] == "order"] == ["needs_attention", "accepted"]
    assert any(e["actor"] == "cli" and e["entity"] == "line" for e in history)
    assert waiting in runner.invoke(app, ["orders", "history", waiting]).output
    assert runner.invoke(app, ["orders", "history", "ord_nope"]).exit_code == 3

    cancelled = _json("orders", "cancel", released, "--reason", "customer changed mind")
    assert cancelled["status"] == "cancelled"
    assert [line["status"] for line in cancelled["lines"]] == ["cancelled"]
    reasons = [e["reason"] for e in _json("orders", "history", released) if e["to"] == "cancelled"]
    assert "customer changed mind" in reasons
    shown = runner.invoke(app, ["orders", "show", released, "--table"])
    assert shown.exit_code == 0 and "cancelled" in shown.output
    assert json.loads(runner.invoke(app, ["orders", "show", released]).stdout)["status"] == "cancelled"
    missing = runner.invoke(app, ["orders", "cancel", "ord_nope"])
    assert missing.exit_code == 3 and "ord_nope" in missing.output


def test_work_orders_list_and_show(cli: Path, tmp_path: Path) -> None:
    _import(tmp_path, ("KP", {"keys": 4}), ("KP", {"keys": 8}), ("KP", {"color": "purple"}))
    listed = _json("work-orders", "list", "--status", "released")
    assert listed["total"] == 2 and [wo["qty"] for wo in listed["items"]] == [1, 1]
    assert _json("work-orders", "list", "--site", "berlin")["total"] == 0
    table = runner.invoke(app, ["work-orders", "list", "--limit", "1"])
    first = listed["items"][0]["id"]
    assert first in table.output and "showing 1-1 of 2 (next: --offset 1)" in table.output
    shown = _json("work-orders", "show", first)
    assert shown["id"] == first and any(op["id"] == "KP:assemble" for op in shown["operations"])
    assert "KP:assemble" in runner.invoke(app, ["work-orders", "show", first]).output
    assert runner.invoke(app, ["work-orders", "show", "wo_nope"]).exit_code == 3


def test_retry_attention_after_a_catalog_fix(cli: Path, tmp_path: Path) -> None:
    _import(tmp_path, ("KP", {"firmware": "silent"}), ("KP-XL", {}))
    assert _json("orders", "retry-attention")["released"] == 0
    document = yaml.safe_load((cli / "catalog-keypad.yaml").read_text())
    document["version"] = 2
    document["products"]["KP"]["options"]["firmware"]["values"].append("silent")
    fixed = tmp_path / "catalog-v2.yaml"
    fixed.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert runner.invoke(app, ["catalog", "load", str(fixed)]).exit_code == 0
    retried = runner.invoke(app, ["orders", "retry-attention"])
    assert retried.exit_code == 0, retried.output
    assert "released 1, still waiting 1" in retried.output
    assert "KP-XL" in retried.output and "unknown product" in retried.output
    again = _json("orders", "retry-attention")
    assert (again["released"], again["waiting"]) == (0, 1)
    assert _json("work-orders", "list")["total"] == 1
