"""What the fake OctoPrint and Moonraker servers share: a printer that "prints" a job over a few
seconds of a clock the test may move, and a multipart reader (`live_server` runs the fakes).

The printer is one job at a time: `start` takes a file, `busy_with` makes it print someone else's
file (so a start is refused), `offline` makes it stop answering as its server would, `fail` ends the
current print in an error. Tests drive time with `ManualClock.advance`; an end-to-end test may keep
the default wall clock and a short `print_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP

from tests.integration.live_server import free_port

Clock = Callable[[], float]


class ManualClock:
    """Seconds that pass only when the test says so."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class PrintRecord:
    """How one print of a file ended (OctoPrint's `prints.last`, Moonraker's history entry)."""

    file: str
    outcome: str  # "completed" | "cancelled" | "error"
    started: float
    ended: float


@dataclass
class FakePrinter:
    """One simulated printer: its files, its current print and the record of finished prints."""

    print_seconds: float = 3.0
    clock: Clock = time.monotonic
    api_key: str | None = None  # when set, requests without this X-Api-Key are refused
    offline: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    uploads: list[str] = field(default_factory=list)  # file names, in upload order
    keys_seen: list[str | None] = field(default_factory=list)  # X-Api-Key of every request
    history: list[PrintRecord] = field(default_factory=list)
    current: str | None = None  # the file printing, paused or last printed
    state: str = "idle"  # idle | printing | paused | completed | cancelled | error
    error: str = ""
    _elapsed: float = 0.0  # seconds printed before the last resume
    _since: float | None = None  # when printing last (re)started

    def busy_with(self, file: str = "someone-else.gcode") -> None:
        """Start printing a file nobody in the test submitted: the printer is busy."""
        self.files.setdefault(file, b"G28\n")
        self.start(file)

    def add(self, name: str, content: bytes) -> None:
        self.files[name] = content
        self.uploads.append(name)

    def start(self, file: str) -> None:
        self.current, self.state, self.error = file, "printing", ""
        self._elapsed, self._since = 0.0, self.clock()

    def pause(self) -> None:
        self.tick()
        if self.state == "printing" and self._since is not None:
            self._elapsed += self.clock() - self._since
            self.state, self._since = "paused", None

    def resume(self) -> None:
        if self.state == "paused":
            self.state, self._since = "printing", self.clock()

    def cancel(self) -> None:
        self._end("cancelled")

    def fail(self, message: str = "Heater extruder not heating at expected rate") -> None:
        self.tick()
        self.error = message
        self._end("error")

    def progress(self) -> float:
        """The share of the current print done, 0..1."""
        self.tick()
        if self.state == "completed":
            return 1.0
        running = self.clock() - self._since if self._since is not None else 0.0
        return min(1.0, (self._elapsed + running) / max(self.print_seconds, 1e-9))

    @property
    def active(self) -> bool:
        self.tick()
        return self.state in ("printing", "paused")

    def tick(self) -> None:
        """A print whose seconds have passed is complete."""
        since = self._since
        if (
            self.state == "printing"
            and since is not None
            and self._elapsed + self.clock() - since >= self.print_seconds
        ):
            self._end("completed")

    def last_print(self, file: str) -> PrintRecord | None:
        return next((record for record in reversed(self.history) if record.file == file), None)

    def _end(self, outcome: str) -> None:
        if self.current is None:
            return
        started = self.clock() - self._elapsed
        self.history.append(PrintRecord(self.current, outcome, started, self.clock()))
        self.state, self._since = outcome, None


def form_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """A multipart/form-data body by field name: (file name, bytes)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        parts[str(name)] = (part.get_filename(), payload)
    return parts


def refused_url() -> str:
    """A loopback URL where nothing listens: a printer whose server is off."""
    return f"http://127.0.0.1:{free_port()}"
