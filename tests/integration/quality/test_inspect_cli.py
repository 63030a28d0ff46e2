"""`microfactory inspect`: generate samples, train a model, judge images (exit codes and JSON shape)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from microfactory.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("inspect")
    made = runner.invoke(
        app, ["inspect", "generate", "--out", str(root / "good"), "--count", "10", "--seed", "1"]
    )
    assert made.exit_code == 0, made.output
    model = root / "model.npz"
    trained = runner.invoke(
        app,
        ["inspect", "train", "--inspector", "variation", "--good", str(root / "good"), "--out", str(model)],
    )
    assert trained.exit_code == 0, trained.output
    assert "trained variation-" in trained.output
    tests = ["--out", str(root / "tests"), "--count", "4", "--kind", "good", "--kind", "blob", "--seed", "2"]
    assert runner.invoke(app, ["inspect", "generate", *tests]).exit_code == 0
    return model, root / "tests"


def test_judge_prints_one_json_list_and_exits_1_when_any_fails(trained: tuple[Path, Path]) -> None:
    model, images = trained
    paths = sorted(str(p) for p in images.iterdir())
    result = runner.invoke(app, ["inspect", "judge", "--model", str(model), *paths, "--json"])
    assert result.exit_code == 1, result.output
    verdicts = json.loads(result.stdout)
    assert [v["image"] for v in verdicts] == paths
    for verdict in verdicts:
        assert set(verdict) == {"image", "verdict", "score", "regions"}
        assert verdict["verdict"] == ("fail" if "blob" in verdict["image"] else "pass")
        assert isinstance(verdict["score"], float)
        assert all(
            len(region) == 4 and all(isinstance(v, int) for v in region) for region in verdict["regions"]
        )
        assert bool(verdict["regions"]) == (verdict["verdict"] == "fail")


def test_judge_exits_0_when_all_pass(trained: tuple[Path, Path]) -> None:
    model, images = trained
    goods = sorted(str(p) for p in images.glob("*-good.png"))
    result = runner.invoke(app, ["inspect", "judge", "--model", str(model), *goods])
    assert result.exit_code == 0, result.output
    assert "pass" in result.output


def test_bad_input_exits_2_naming_the_file(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, images = trained
    good = str(next(images.glob("*-good.png")))
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    cases = [
        (["--model", str(tmp_path / "absent.npz"), good], "absent.npz"),
        (["--model", good, good], "not a variation model"),
        (["--model", str(model), str(not_image)], "notes.png"),
        (["--model", str(model), str(tmp_path / "gone.png")], "gone.png"),
    ]
    for arguments, named in cases:
        result = runner.invoke(app, ["inspect", "judge", *arguments, "--json"])
        assert result.exit_code == 2, result.output
        assert named in result.output
        assert "Traceback" not in result.output
    both = runner.invoke(
        app, ["inspect", "judge", "--model", str(model), str(not_image), good, str(tmp_path / "gone.png")]
    )
    assert both.exit_code == 2 and "notes.png" in both.output and "gone.png" in both.output


def test_train_refuses_what_it_cannot_learn_from(tmp_path: Path) -> None:
    empty = runner.invoke(
        app, ["inspect", "train", "--good", str(tmp_path), "--out", str(tmp_path / "m.npz")]
    )
    assert empty.exit_code == 2 and "found 0" in empty.output
    other = runner.invoke(
        app, ["inspect", "train", "--inspector", "colour", "--good", str(tmp_path), "--out", "m"]
    )
    assert other.exit_code == 2 and "'colour' is not one of variation" in other.output
    wrong = runner.invoke(app, ["inspect", "generate", "--out", str(tmp_path), "--kind", "dent"])
    assert wrong.exit_code == 2 and "'dent'" in wrong.output
