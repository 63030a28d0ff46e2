"""The pure rules of production: the operation table, report sameness, readiness and serials."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from microfactory.production.model import (
    OPERATION_MOVES,
    Event,
    OperationStatus,
    Report,
    content_hash,
    differences,
    is_ready,
    next_status,
    serial,
)

S = OperationStatus
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "event", "to"),
    [
        (S.RELEASED, Event.STARTED, S.RUNNING),
        (S.FAILED, Event.STARTED, S.RUNNING),
        (S.RUNNING, Event.FINISHED, S.DONE),
        (S.RUNNING, Event.FAILED, S.FAILED),
    ],
)
def test_events_move_operations(status: OperationStatus, event: Event, to: OperationStatus) -> None:
    assert next_status("opr_1", status, event) == to


@pytest.mark.parametrize("status", list(OperationStatus))
def test_every_other_pair_is_refused_with_a_reason(status: OperationStatus) -> None:
    for event in Event:
        if (status, event) in OPERATION_MOVES:
            continue
        reason = next_status("opr_1", status, event)
        assert not isinstance(reason, OperationStatus)
        assert f"opr_1 is {status.value}; {event.value} does not apply" in reason


def test_a_resend_is_the_same_content_whatever_its_key_order() -> None:
    report = Report("r1", "opr_1", Event.STARTED, "ber-fdm-1", AT, operator="Ana")
    content = report.content()
    assert content_hash(content) == content_hash(dict(reversed(list(content.items()))))
    other = Report("r1", "opr_1", Event.STARTED, "ber-fdm-2", AT, operator="Ana").content()
    assert content_hash(other) != content_hash(content)
    assert differences(content, other) == ["machine: 'ber-fdm-1' before, 'ber-fdm-2' now"]


def test_a_step_is_ready_when_every_predecessor_is_done() -> None:
    assert is_ready([], {})
    assert is_ready(["a", "b"], {"a": S.DONE, "b": S.DONE})
    assert not is_ready(["a", "b"], {"a": S.DONE, "b": S.RUNNING})
    assert not is_ready(["a"], {})  # a predecessor not in the plan has not been done


def test_serials_are_readable_and_tell_units_apart() -> None:
    first = serial("berlin", AT, "wo_3f2a9c1d55", 1)
    assert first == "MF-BERLIN-260302-3F2A9C1D-001"
    assert serial("berlin", AT, "wo_3f2a9c1d55", 2) != first
    assert serial("berlin", AT, "wo_77aa9c1d55", 1) != first
