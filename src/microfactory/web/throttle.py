"""Login throttling: a few wrong passwords in a window, and the next try waits (429, Retry-After).

Failures are counted per username and per client address, so guessing one user's password from many
addresses and many users' passwords from one address are both slowed. The counts live in the
process (a restart forgets them; each process of a scaled deployment counts on its own, so the
limit is per process): argon2 already makes each guess cost, and this stops the cheap flood.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """At most `failures` wrong logins per key within `window` seconds; a success clears the username."""

    def __init__(
        self, failures: int = 5, window: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until any of the keys may try again; 0 when all may try now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.failures:
                    wait = max(wait, times[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(self._seen) > 100_000:  # a flood of made-up names must not grow memory without bound
            self._seen = {k: v for k, v in self._seen.items() if v}
        return times
