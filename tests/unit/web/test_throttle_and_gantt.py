"""The login throttle's window and the Gantt chart's markup, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from microfactory.web.gantt import Bar, gantt_svg
from microfactory.web.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_sixth_try_waits_until_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(failures=5, window=300, clock=clock)
    for _ in range(5):
        assert throttle.retry_after("user:pat", "ip:1") == 0
        throttle.failed("user:pat", "ip:1")
        clock.now += 10
    assert throttle.retry_after("user:pat") == 251  # the first failure was 50 s ago
    assert throttle.retry_after("user:ann", "ip:1") == 251  # the address is held too
    assert throttle.retry_after("user:ann", "ip:2") == 0
    clock.now += 251
    assert throttle.retry_after("user:pat", "ip:1") == 0


def test_a_success_clears_the_username_not_the_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(failures=2, window=60, clock=clock)
    throttle.failed("user:pat", "ip:1")
    throttle.failed("user:pat", "ip:1")
    throttle.succeeded("user:pat")
    assert throttle.retry_after("user:pat") == 0
    assert throttle.retry_after("ip:1") > 0


def test_gantt_draws_one_row_per_machine_and_escapes_names() -> None:
    start = datetime(2026, 3, 2, 7, tzinfo=UTC)
    bars = [
        Bar("ber-fdm-1", start, start + timedelta(hours=1), "make:<TOP>", "running"),
        Bar("ber-bench-1", start + timedelta(hours=1), start + timedelta(hours=2), "assemble", "released"),
    ]
    svg = str(gantt_svg(bars, "plan of berlin"))
    assert svg.count("<rect") == 2 and svg.count('class="gantt-machine"') == 2
    assert "make:&lt;TOP&gt;" in svg and "<TOP>" not in svg
    assert 'role="img"' in svg and "<title" in svg
    assert "No stored plan" in str(gantt_svg([], "empty"))
