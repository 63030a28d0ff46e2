"""Backup and restore of the configured database, each a single file.

SQLite: the online backup API of `sqlite3` copies a consistent snapshot while other processes
keep writing (WAL), into a temporary file renamed into place, so a half-written backup never
carries the final name. Restoring copies the file back page by page under SQLite's write lock.
PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --single-transaction` (one
transaction: a restore that fails leaves the database as it was); the password goes to the tools
in PGPASSWORD, never on their command line. Without the tools, a clear message says what to install.

Restore while no server or worker runs (docs/deploy.md): they would keep writing into the
database being replaced.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from microfactory.errors import Invalid, MissingSetting, NotFound, UpstreamFailure
from microfactory.problems import Problem

TOOL_TIMEOUT_SECONDS = 3600
PAGES_PER_STEP = 4096  # SQLite pages copied between two progress reports (and lock releases)
Progress = Callable[[int, int], None]  # (pages done, pages in all)


class ToolMissing(MissingSetting):
    """A program the command needs is not installed (exit 2, HTTP 503 if ever served)."""

    def __init__(self, tool: str, why: str) -> None:
        MissingSetting.__init__(self, tool, why)
        self.message = f"{tool} is not installed: {why}"
        self.args = (self.message,)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    dialect: str
    bytes: int

    def as_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "dialect": self.dialect, "bytes": self.bytes}


def backup(database_url: str, out: Path, progress: Progress | None = None) -> BackupResult:
    """Write a backup of the database to `out` (replaced if it exists)."""
    url = make_url(database_url)
    _check_writable(out)
    if url.get_backend_name() == "sqlite":
        _sqlite_backup(_sqlite_path(url), out, progress)
    elif url.get_backend_name() == "postgresql":
        _run("pg_dump", ["--format=custom", "--no-owner", f"--file={out}", f"--dbname={_libpq(url)}"], url)
    else:
        raise Invalid("no backup for this database", [Problem("database_url", url.get_backend_name())])
    return BackupResult(out, url.get_backend_name(), out.stat().st_size)


def _check_writable(out: Path) -> None:
    """Refuse a place the backup cannot be written to before copying anything (named, with why)."""
    probe = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with probe.open("ab"):
            pass
        probe.unlink()
    except OSError as error:
        raise Invalid("cannot write the backup", [Problem(str(out), error.strerror or str(error))]) from error


def restore(database_url: str, source: Path, progress: Progress | None = None) -> BackupResult:
    """Replace the database's content with the backup in `source`."""
    if not source.is_file():
        raise NotFound("backup file", str(source))
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_restore(source, _sqlite_path(url), progress)
    elif url.get_backend_name() == "postgresql":
        arguments = ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
        _run("pg_restore", [*arguments, f"--dbname={_libpq(url)}", str(source)], url)
    else:
        raise Invalid("no restore for this database", [Problem("database_url", url.get_backend_name())])
    return BackupResult(source, url.get_backend_name(), source.stat().st_size)


def _sqlite_path(url: URL) -> Path:
    if url.database in (None, "", ":memory:"):
        raise Invalid("an in-memory database has nothing to back up", [Problem("database_url", str(url))])
    return Path(url.database)


def _sqlite_backup(database: Path, out: Path, progress: Progress | None) -> None:
    if not database.is_file():
        raise NotFound("database file", str(database))
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(partial)
    try:
        source.backup(target, pages=PAGES_PER_STEP, progress=_reporter(progress))
    finally:
        target.close()
        source.close()
    partial.replace(out)


def _sqlite_restore(source: Path, database: Path, progress: Progress | None) -> None:
    backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check_sqlite_backup(backup_db, source)
        target = sqlite3.connect(database, timeout=30)
        try:
            backup_db.backup(target, pages=PAGES_PER_STEP, progress=_reporter(progress))
        finally:
            target.close()
    finally:
        backup_db.close()


def _reporter(progress: Progress | None) -> Callable[[int, int, int], object] | None:
    if progress is None:
        return None
    return lambda _status, remaining, total: progress(total - remaining, total)


def _check_sqlite_backup(connection: sqlite3.Connection, source: Path) -> None:
    """A microfactory database: SQLite, with the migrations' table. Anything else is refused whole."""
    try:
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
    except sqlite3.DatabaseError as error:
        raise Invalid("not a backup", [Problem(str(source), f"not a SQLite database ({error})")]) from error
    if found is None:
        raise Invalid("not a backup", [Problem(str(source), "a SQLite database, but not a microfactory one")])


def _libpq(url: URL) -> str:
    """The URL as the PostgreSQL tools read it: no driver name, no password (that goes in PGPASSWORD)."""
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _run(tool: str, arguments: list[str], url: URL) -> None:
    program = shutil.which(tool)
    if program is None:
        raise ToolMissing(
            tool, "install the PostgreSQL client tools of the server's major version (postgresql-client)"
        )
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(
            [program, *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise UpstreamFailure(tool, f"did not finish in {TOOL_TIMEOUT_SECONDS} s") from error
    if done.returncode != 0:
        detail = " ".join(done.stderr.strip().splitlines()[-3:]) or f"exit code {done.returncode}"
        raise UpstreamFailure(tool, detail, retryable=False)
