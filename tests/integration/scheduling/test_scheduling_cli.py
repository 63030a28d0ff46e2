"""`microfactory schedule ...` end to end: the spec's JSON, exit codes, tables and exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from microfactory.cli.schedule import app
from microfactory.scheduling.fjs import operation_position, read_fjs
from microfactory.scheduling.plan import Assignment, Plan
from microfactory.scheduling.validate import validate

ROOT = Path(__file__).parents[3]
MK01 = ROOT / "benchmarks" / "data" / "fjs" / "mk01.fjs"
EXAMPLES = ROOT / "examples"
runner = CliRunner()


def test_solve_fjs_json_follows_the_spec_and_is_a_valid_plan() -> None:
    result = runner.invoke(app, ["solve-fjs", str(MK01), "--time-limit", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"makespan", "status", "lower_bound", "operations"}
    assert data["status"] in ("optimal", "feasible")
    assert isinstance(data["makespan"], int) and data["makespan"] >= 40
    assert data["lower_bound"] is None or data["lower_bound"] <= data["makespan"]
    problem = read_fjs(MK01)
    assert len(data["operations"]) == len(problem.operations) == 55
    index = {position: n for n, position in enumerate(operation_position(problem))}
    assignments = sorted(
        (
            Assignment(index[(row["job"], row["op"])], row["machine"], row["start"], row["end"])
            for row in data["operations"]
        ),
        key=lambda a: a.operation,
    )
    assert validate(problem, Plan(tuple(assignments), "feasible", "cli")) == []
    assert max(row["end"] for row in data["operations"]) == data["makespan"]
    assert {row["job"] for row in data["operations"]} == set(range(10))


def test_solve_fjs_table_shows_the_summary() -> None:
    result = runner.invoke(app, ["solve-fjs", str(MK01), "--time-limit", "1"])
    assert result.exit_code == 0
    assert "makespan" in result.stdout and "lower bound" in result.stdout


def test_a_plain_job_shop_is_an_fjs_with_one_machine_per_operation(tmp_path: Path) -> None:
    file = tmp_path / "js.fjs"
    file.write_text("2 2\n2 1 1 3 1 2 2\n2 1 2 4 1 1 1\n")
    data = json.loads(runner.invoke(app, ["solve-fjs", str(file), "--json", "--time-limit", "1"]).stdout)
    assert data["makespan"] == 6 and data["status"] == "optimal" and data["lower_bound"] == 6


@pytest.mark.parametrize("content", ["3 2\n1 1 1 4\n", "1 1\n1 1 2 5\n", "x y\n"])
def test_bad_files_exit_2_with_the_line(tmp_path: Path, content: str) -> None:
    file = tmp_path / "bad.fjs"
    file.write_text(content)
    result = runner.invoke(app, ["solve-fjs", str(file), "--json"])
    assert result.exit_code == 2
    assert "line" in result.output


def test_a_missing_file_exits_2() -> None:
    result = runner.invoke(app, ["solve-fjs", "/nonexistent/mk99.fjs"])
    assert result.exit_code == 2


def test_the_group_is_mounted_in_the_main_command() -> None:
    from microfactory.cli.main import app as main_app

    result = runner.invoke(main_app, ["schedule", "solve-fjs", str(MK01), "--time-limit", "0", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "feasible"


def test_site_plan_table_and_json() -> None:
    options = [
        "--network",
        str(EXAMPLES / "network.yaml"),
        "--catalog",
        str(EXAMPLES / "catalog-keypad.yaml"),
        "--sample",
        "10",
        "--time-limit",
        "1",
    ]
    table = runner.invoke(app, ["site", "berlin", *options])
    assert table.exit_code == 0, table.output
    assert "site plans" in table.stdout and "berlin" in table.stdout
    data = json.loads(runner.invoke(app, ["site", "berlin", *options, "--json"]).stdout)
    assert data["site"] == "berlin" and data["figures"]["orders"] == 10
    assert runner.invoke(app, ["site", "atlantis", *options]).exit_code == 3  # not found


def test_export_writes_json_and_png(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "export",
            "lyon",
            "--out",
            str(tmp_path),
            "--sample",
            "6",
            "--time-limit",
            "1",
            "--network",
            str(EXAMPLES / "network.yaml"),
            "--catalog",
            str(EXAMPLES / "catalog-keypad.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "lyon-plan.json").read_text())["site"] == "lyon"
    assert (tmp_path / "lyon-gantt.png").read_bytes()[:4] == b"\x89PNG"


def test_export_refuses_a_site_id_that_would_leave_the_folder(tmp_path: Path) -> None:
    import yaml

    network = yaml.safe_load((EXAMPLES / "network.yaml").read_text())
    network["sites"]["../../escaped"] = network["sites"].pop("lyon")
    network_file = tmp_path / "network.yaml"
    network_file.write_text(yaml.safe_dump(network))
    out = tmp_path / "a" / "b" / "plans"
    result = runner.invoke(
        app,
        [
            "export",
            "../../escaped",
            "--out",
            str(out),
            "--sample",
            "2",
            "--time-limit",
            "1",
            "--network",
            str(network_file),
            "--catalog",
            str(EXAMPLES / "catalog-keypad.yaml"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot be used in a file name" in result.output
    assert not list(tmp_path.rglob("*-plan.json")) and not list(tmp_path.rglob("*-gantt.png"))
