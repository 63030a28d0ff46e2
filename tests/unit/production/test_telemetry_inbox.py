"""The subscriber's inbox: batches for the writer, and a bound that holds paho's thread, not memory."""

from __future__ import annotations

import threading
import time

from microfactory.production.telemetry.subscriber import Inbox


def _put_in_thread(inbox: Inbox, count: int) -> threading.Thread:
    thread = threading.Thread(target=lambda: [inbox.put("t", b"x") for _ in range(count)], daemon=True)
    thread.start()
    return thread


def test_a_full_inbox_holds_the_receiver_until_the_writer_takes_a_batch() -> None:
    inbox = Inbox(batch_messages=2, capacity=4)
    receiver = _put_in_thread(inbox, 6)
    time.sleep(0.2)
    assert receiver.is_alive() and inbox.received == 4  # two wait for room
    assert len(inbox.take(0)) == 4
    receiver.join(2)
    assert not receiver.is_alive() and inbox.received == 6
    assert len(inbox.take(0)) == 2


def test_closing_lets_a_waiting_receiver_through() -> None:
    inbox = Inbox(batch_messages=1, capacity=1)
    receiver = _put_in_thread(inbox, 3)
    time.sleep(0.1)
    assert receiver.is_alive()
    inbox.wake(closing=True)
    receiver.join(2)
    assert not receiver.is_alive() and len(inbox.take(0)) == 3


def test_the_capacity_is_at_least_a_batch_and_a_full_batch_wakes_the_writer() -> None:
    inbox = Inbox(batch_messages=3, capacity=1)
    taken: list[int] = []
    writer = threading.Thread(target=lambda: taken.append(len(inbox.take(5))), daemon=True)
    writer.start()
    started = time.monotonic()
    for _ in range(3):
        inbox.put("t", b"x")
    writer.join(2)
    assert taken == [3] and time.monotonic() - started < 2
