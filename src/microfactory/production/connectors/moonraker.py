"""A Klipper printer, driven through Moonraker's HTTP API.

- `submit` uploads the program to `POST /server/files/upload` (root `gcodes`) under a name of its
  own; the job reference is the path Moonraker answers with (`item.path`);
- `start` asks `POST /printer/print/start?filename=...`; a printer already printing refuses
  (Klipper's "SD busy", or 409) → `Conflict`;
- `status` reads `GET /printer/objects/query?print_stats&virtual_sdcard`: `print_stats.state` while
  the job is the printer's current file (progress from `virtual_sdcard.progress`, 0..1), and the
  job history (`GET /server/history/list`) once it is not; Klippy not connected (503) or no answer
  at all is offline;
- `cancel` sends `POST /printer/print/cancel` only when the printer's current file is ours.

Moonraker wraps its answers in `{"result": ...}` and its errors in `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from microfactory.errors import Conflict, UpstreamFailure
from microfactory.production.connectors import MachineState, MachineStatus, Program, ProgramKind
from microfactory.production.connectors.printer_http import (
    HttpPrinter,
    error_detail,
    progress_share,
    upload_name,
)

UPSTREAM = "moonraker"
PRINT_STATS = {
    "standby": MachineState.IDLE,
    "printing": MachineState.RUNNING,
    "paused": MachineState.PAUSED,
    "complete": MachineState.DONE,
    "cancelled": MachineState.CANCELLED,
    "error": MachineState.FAILED,
}
HISTORY = {  # a history entry's `status`: how a job that is no longer current ended
    "completed": MachineState.DONE,
    "cancelled": MachineState.CANCELLED,
    "in_progress": MachineState.RUNNING,
}
QUERY = "/printer/objects/query?print_stats&virtual_sdcard"  # every field of both objects
BUSY_WORDS = ("busy", "already in progress", "already printing")


def moonraker_state(print_stats_state: str) -> MachineState:
    """`print_stats.state` as ours; an unknown state is treated as a failure a person should see."""
    return PRINT_STATS.get(print_stats_state.strip().lower(), MachineState.FAILED)


def history_state(status: str) -> MachineState:
    """A history entry's end: completed, cancelled; `error`, `klippy_shutdown`, `interrupted`... failed."""
    return HISTORY.get(status.strip().lower(), MachineState.FAILED)


class MoonrakerConnector(HttpPrinter):
    """One Moonraker instance (one Klipper printer); jobs are files in its `gcodes` root."""

    upstream = UPSTREAM

    def submit(self, program: Program) -> str:
        if program.kind is not ProgramKind.GCODE:
            raise Conflict(f"a Moonraker printer runs G-code, not the {program.kind} program {program.name}")
        files = {"file": (upload_name(program.name), program.content, "application/octet-stream")}
        answer = self._http.json(
            "POST", "/server/files/upload", f"upload {program.name}", files=files, data={"root": "gcodes"}
        )
        item = answer.get("item") or answer.get("result") or {}
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str) or not path:
            raise UpstreamFailure(UPSTREAM, f"upload {program.name}: no file path in {answer!r:.120}")
        return path

    def start(self, job: str) -> None:
        what = f"start {job}"
        response = self._http.call_raw("POST", "/printer/print/start", params={"filename": job})
        if response.status_code == 400 and any(word in error_detail(response).lower() for word in BUSY_WORDS):
            raise Conflict(f"{UPSTREAM}: {what}: the printer is busy ({error_detail(response)})")
        self._http.raise_for_refusal(response, what)

    def status(self, job: str) -> MachineStatus:
        try:
            answer = self._http.json("GET", QUERY, f"status of {job}")
        except UpstreamFailure as failure:
            if not failure.retryable:
                raise
            return MachineStatus(job, MachineState.OFFLINE, message=failure.detail)
        status = (answer.get("result") or {}).get("status") or {}
        stats, sdcard = status.get("print_stats") or {}, status.get("virtual_sdcard") or {}
        if stats.get("filename") == job and stats.get("state") != "standby":
            state = moonraker_state(str(stats.get("state", "")))
            progress = 1.0 if state is MachineState.DONE else progress_share(sdcard.get("progress"))
            return MachineStatus(job, state, progress, str(stats.get("message") or stats.get("state")))
        if job in self._cancelled:
            return MachineStatus(job, MachineState.CANCELLED, message="cancelled before it ran")
        return self._from_history(job)

    def cancel(self, job: str) -> None:
        state = self.status(job)
        if state.finished:
            raise Conflict(f"job {job} is already {state.state}, it cannot be cancelled")
        if state.state in (MachineState.RUNNING, MachineState.PAUSED):
            self._http.call("POST", "/printer/print/cancel", f"cancel {job}")
        else:
            self._cancelled.add(job)

    def close(self) -> None:
        self._http.close()

    def _from_history(self, job: str) -> MachineStatus:
        """A job that is not the printer's current file: the newest history entry for it, if any."""
        history = self._http.json("GET", "/server/history/list", "job history", params={"limit": 100})
        jobs = (history.get("result") or {}).get("jobs") or []
        for entry in jobs:  # newest first
            if isinstance(entry, dict) and entry.get("filename") == job:
                state = history_state(str(entry.get("status", "")))
                return MachineStatus(
                    job, state, 1.0 if state is MachineState.DONE else 0.0, str(entry["status"])
                )
        self._http.call("GET", "/server/files/metadata", f"file {job}", params={"filename": job})
        return MachineStatus(job, MachineState.IDLE, message="on the printer, not printed yet")
