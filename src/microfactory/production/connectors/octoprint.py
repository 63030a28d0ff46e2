"""An OctoPrint printer, driven through OctoPrint's REST API.

- `submit` uploads the program to `POST /api/files/local` under a name of its own (the job
  reference is the name OctoPrint answers with, which it may have sanitised);
- `start` selects and prints it: `POST /api/files/local/{name}` `{"command": "select", "print": true}`
  (409 when the printer is printing or not operational → `Conflict`);
- `status` reads `GET /api/job` (state text and `progress.completion` in percent) while the job is
  the printer's current one, and the file's print record (`prints.last.success`) once it is not;
- `cancel` sends `POST /api/job` `{"command": "cancel"}` only when the printer's current job is ours.

The key travels in `X-Api-Key`, read from the agent's environment (see `kinds.connector_for`).
"""

from __future__ import annotations

from typing import Any

from microfactory.errors import Conflict, UpstreamFailure
from microfactory.production.connectors import MachineState, MachineStatus, Program, ProgramKind
from microfactory.production.connectors.printer_http import (
    HttpPrinter,
    progress_share,
    upload_name,
)

UPSTREAM = "octoprint"
OFFLINE_STATES = ("offline", "closed", "opening serial", "detecting", "connecting", "unknown")
RUNNING_STATES = ("printing", "starting", "sending", "transferring", "finishing", "cancelling", "resuming")


def octoprint_state(text: str) -> MachineState:
    """The printer's state text (`Operational`, `Printing from SD`, `Offline after error`, ...) as ours.

    `Operational` is a printer ready for work: idle. `Error: ...` (a failure while printing) is failed.
    """
    lowered = text.strip().lower()
    if lowered.startswith(OFFLINE_STATES):
        return MachineState.OFFLINE
    if lowered.startswith("error"):
        return MachineState.FAILED
    if lowered.startswith(("paused", "pausing")):
        return MachineState.PAUSED
    if lowered.startswith(RUNNING_STATES):
        return MachineState.RUNNING
    return MachineState.IDLE  # "Operational", "Ready" and states this version does not know yet


class OctoPrintConnector(HttpPrinter):
    """One OctoPrint instance (one printer); jobs are files uploaded to its local storage."""

    upstream = UPSTREAM

    def submit(self, program: Program) -> str:
        if program.kind is not ProgramKind.GCODE:
            raise Conflict(f"an OctoPrint printer runs G-code, not the {program.kind} program {program.name}")
        files = {"file": (upload_name(program.name), program.content, "application/octet-stream")}
        answer = self._http.json("POST", "/api/files/local", f"upload {program.name}", files=files)
        name = answer.get("files", {}).get("local", {}).get("name")
        if not isinstance(name, str) or not name:
            raise UpstreamFailure(UPSTREAM, f"upload {program.name}: no file name in {answer!r:.120}")
        return name

    def start(self, job: str) -> None:
        body = {"command": "select", "print": True}
        self._http.call("POST", f"/api/files/local/{job}", f"start {job}", json=body)

    def status(self, job: str) -> MachineStatus:
        try:
            current = self._http.json("GET", "/api/job", f"status of {job}")
        except UpstreamFailure as failure:
            if not failure.retryable:
                raise
            return MachineStatus(job, MachineState.OFFLINE, message=failure.detail)
        return self._read(job, current)

    def cancel(self, job: str) -> None:
        state = self.status(job)
        if state.finished:
            raise Conflict(f"job {job} is already {state.state}, it cannot be cancelled")
        if state.state in (MachineState.RUNNING, MachineState.PAUSED):
            self._http.call("POST", "/api/job", f"cancel {job}", json={"command": "cancel"})
        self._cancelled.add(job)

    def close(self) -> None:
        self._http.close()

    def _read(self, job: str, current: dict[str, Any]) -> MachineStatus:
        text = str(current.get("state", ""))
        printer = octoprint_state(text)
        if printer is MachineState.OFFLINE:
            return MachineStatus(job, printer, message=f"the printer is {text}")
        ours = _current_file(current) == job
        completion = (current.get("progress") or {}).get("completion")
        if ours and printer in (MachineState.RUNNING, MachineState.PAUSED):
            return MachineStatus(job, printer, progress_share(completion, 100), text)
        if ours and printer is MachineState.FAILED:
            return MachineStatus(
                job, printer, progress_share(completion, 100), str(current.get("error") or text)
            )
        if job in self._cancelled:
            return MachineStatus(job, MachineState.CANCELLED, message="cancelled")
        if ours and progress_share(completion, 100) >= 1.0:
            return MachineStatus(job, MachineState.DONE, 1.0, "printed")
        return self._from_record(job)

    def _from_record(self, job: str) -> MachineStatus:
        """A job that is not the printer's current one: its file's print record says how it ended."""
        info = self._http.json("GET", f"/api/files/local/{job}", f"file {job}")
        last = (info.get("prints") or {}).get("last")
        if not isinstance(last, dict):
            return MachineStatus(job, MachineState.IDLE, message="on the printer, not printed yet")
        if last.get("success") is True:
            return MachineStatus(job, MachineState.DONE, 1.0, "printed")
        return MachineStatus(job, MachineState.FAILED, message="the printer recorded the print as failed")


def _current_file(current: dict[str, Any]) -> str | None:
    file = (current.get("job") or {}).get("file") or {}
    name = file.get("name") if isinstance(file, dict) else None
    return name if isinstance(name, str) else None
