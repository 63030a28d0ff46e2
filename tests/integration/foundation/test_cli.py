"""The command line as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from microfactory.cli.main import app

runner = CliRunner()


def translate_args(examples: Path, *options: str) -> list[str]:
    """`translate --catalog <example> --product KP --option ... --json`."""
    pairs = [part for option in options for part in ("--option", option)]
    return ["translate", "--catalog", str(examples / "catalog-keypad.yaml"), "--product", "KP", *pairs]


def test_translate_json_matches_the_contract(examples: Path) -> None:
    args = translate_args(examples, "keys=8", "color=Teal", "engraving=Mira's Deck")
    result = runner.invoke(app, [*args, "--qty", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"configuration_key", "bom", "operations"}
    assert {k: data["bom"][4][k] for k in ("part", "qty")} == {"part": "SWITCH", "qty": 16}
    ops = {op["id"]: op for op in data["operations"]}
    assert ops["make:HSG-TOP"]["params"] == {"part": "HSG-TOP", "material": "PLA-TEAL"}
    assert ops["KP:engrave-nameplate"]["params"]["text"] == "Mira's Deck"
    assert set(ops["KP:pack"]["after"]) >= {"KP:inspect"}
    for op in data["operations"]:
        assert set(op) >= {"id", "op", "capability", "qty", "minutes", "params", "after"}


def test_translate_invalid_options_exit_2_with_problems(examples: Path) -> None:
    result = runner.invoke(app, [*translate_args(examples, "keys=7", "colour=red"), "--json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["error"] == "invalid options for KP"
    assert {p["path"] for p in data["problems"]} == {"options.keys", "options.colour"}


def test_catalog_validate_lists_problems(tmp_path: Path, examples: Path) -> None:
    document = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    document["products"]["KP"]["bom"][0]["part"] = "HSG-TOPP"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    result = runner.invoke(app, ["catalog", "validate", str(bad)])
    assert result.exit_code == 2
    assert "products.KP.bom[0].part: unknown part 'HSG-TOPP'" in result.output
    good = runner.invoke(app, ["catalog", "validate", str(examples / "catalog-keypad.yaml")])
    assert good.exit_code == 0
    assert "valid" in good.output


def test_catalog_load_into_the_configured_database(cli_database: Path, examples: Path) -> None:
    first = runner.invoke(app, ["catalog", "load", str(examples / "catalog-keypad.yaml")])
    second = runner.invoke(app, ["catalog", "load", str(examples / "catalog-keypad.yaml")])
    assert first.exit_code == 0, first.output
    assert "loaded" in first.output
    assert "already loaded" in second.output
