"""Real processes for the fault tests: API servers (uvicorn), job workers (`microfactory worker`), and a
private PostgreSQL cluster that a test may restart without touching the machine's shared server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.integration.channels.conftest import SECRET
from tests.integration.live_server import free_port

SRC = Path(__file__).resolve().parents[3] / "src"
ROOT = SRC.parent


def _environment(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": os.pathsep.join((str(SRC), str(ROOT))),
        "MICROFACTORY_DATABASE_URL": url,
        "MICROFACTORY_ADMIN_TOKEN": ADMIN_TOKEN,
        "MICROFACTORY_SHOPIFY_WEBHOOK_SECRET": SECRET,
        "MICROFACTORY_JOBS_STALLED_SECONDS": "2",
        **(extra or {}),
    }


@contextmanager
def api_process(url: str, extra: dict[str, str] | None = None) -> Iterator[str]:
    """An API server in its own uvicorn process on a free port; its base URL until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "microfactory.api.app:create_app"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=_environment(url, extra), stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def worker_process(url: str, extra: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-c", "from microfactory.cli.main import app; app()", "worker"]
    process = subprocess.Popen(command, env=_environment(url, extra), stdout=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"the API process exited before it answered: {error[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the API process did not answer within 60 s")


class PrivateCluster:
    """A PostgreSQL cluster of this test's own (initdb, pg_ctl) in a temporary folder, on a free port."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin_dir, self.data, self.port = bin_dir, folder / "data", free_port()
        self.folder = folder

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*as_postgres, *command], check=False, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")

    def _pg_ctl(self, *arguments: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "-l",
            str(self.folder / "server.log"),
            *arguments,
        )

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._pg_ctl("start")

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session is cut, the server is back when this returns."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "immediate")


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or (
        [shutil.which("initdb")] if shutil.which("initdb") else []
    )
    return Path(found[-1]).parent if found and found[-1] else None


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A started private cluster; skipped with the reason (failed under CI=true) without the binaries."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        reason = "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="mf-pg-") as name:
        folder = Path(name)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        cluster = PrivateCluster(bin_dir, folder)
        cluster.init()
        try:
            yield cluster
        finally:
            cluster.stop()
