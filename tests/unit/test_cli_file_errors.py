"""A file the user named that cannot be written ends as a message naming it and exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from microfactory.cli.main import app

runner = CliRunner()


def test_an_output_folder_under_a_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["inspect", "generate", "--out", str(blocker / "samples"), "--count", "1"])
    assert result.exit_code == 2, result.output
    assert f"cannot use {blocker / 'samples'}" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not the OSError
