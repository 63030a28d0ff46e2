"""Group commit: batching of concurrent submits, the two places a batch may be written, failures."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from microfactory.db import group_commit
from microfactory.db.group_commit import GroupCommit


class Recorder:
    """A write that doubles each item and remembers its batches and the threads it ran on."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[int] = set()
        self.fail_on = fail_on

    def __call__(self, items: list[int]) -> Sequence[int]:
        self.batches.append(items)
        self.threads.add(threading.get_ident())
        if self.fail_on in items:
            raise RuntimeError(f"cannot write {self.fail_on}")
        return [item * 2 for item in items]


async def _submit_all(group: GroupCommit[int, int], items: list[int]) -> list[int | BaseException]:
    return list(await asyncio.gather(*(group.submit(item) for item in items), return_exceptions=True))


def test_concurrent_submits_share_one_batch_and_each_gets_its_own_answer() -> None:
    write = Recorder()
    answers = asyncio.run(_submit_all(GroupCommit(write), list(range(20))))
    assert answers == [n * 2 for n in range(20)]
    assert write.batches == [list(range(20))]


def test_batches_never_exceed_the_limit() -> None:
    write = Recorder()
    answers = asyncio.run(_submit_all(GroupCommit(write, max_batch=8), list(range(20))))
    assert answers == [n * 2 for n in range(20)]
    assert [len(batch) for batch in write.batches] == [8, 8, 4]


def test_by_default_batches_are_written_in_a_worker_thread() -> None:
    write = Recorder()
    asyncio.run(_submit_all(GroupCommit(write), [1, 2]))
    assert threading.get_ident() not in write.threads


def test_write_here_answers_on_the_loop_thread_and_the_thread_is_not_used() -> None:
    write, here = Recorder(), Recorder()
    answers = asyncio.run(_submit_all(GroupCommit(write, write_here=here), [1, 2, 3]))
    assert answers == [2, 4, 6]
    assert here.threads == {threading.get_ident()}
    assert write.batches == []


def test_when_write_here_declines_the_batch_goes_to_the_thread() -> None:
    write = Recorder()
    declined: list[list[int]] = []

    def decline(items: list[int]) -> None:
        declined.append(items)

    answers = asyncio.run(_submit_all(GroupCommit(write, write_here=decline), [1, 2, 3]))
    assert answers == [2, 4, 6]
    assert declined == write.batches == [[1, 2, 3]]
    assert threading.get_ident() not in write.threads


def test_a_failed_batch_fails_each_of_its_senders_and_the_next_batch_still_works() -> None:
    write = Recorder(fail_on=3)

    async def scenario() -> tuple[list[int | BaseException], int]:
        group = GroupCommit(write, max_batch=4)
        first = await _submit_all(group, [1, 2, 3, 4])
        return first, await group.submit(5)

    first, later = asyncio.run(scenario())
    assert all(isinstance(answer, RuntimeError) and "cannot write 3" in str(answer) for answer in first)
    assert later == 10


def test_a_sender_that_gives_up_does_not_stop_the_others() -> None:
    write = Recorder()

    async def scenario() -> list[int | BaseException]:
        group = GroupCommit(write)
        tasks = [asyncio.create_task(group.submit(n)) for n in range(5)]
        await asyncio.sleep(0)
        tasks[1].cancel()
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    answers = asyncio.run(scenario())
    assert isinstance(answers[1], asyncio.CancelledError)
    assert [a for i, a in enumerate(answers) if i != 1] == [0, 4, 6, 8]


@pytest.mark.parametrize("max_batch", [1, 3])
def test_items_are_answered_in_submission_order_across_batches(max_batch: int) -> None:
    write = Recorder()
    answers = asyncio.run(_submit_all(GroupCommit(write, max_batch=max_batch), list(range(7))))
    assert answers == [n * 2 for n in range(7)]
    assert [item for batch in write.batches for item in batch] == list(range(7))


class SlowWrite(Recorder):
    """A write that takes `seconds` in its worker thread, as a commit waiting for the disk does."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def __call__(self, items: list[int]) -> Sequence[int]:
        time.sleep(self.seconds)
        return super().__call__(items)


def test_clients_that_send_again_once_answered_share_one_batch_per_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Eight clients each send again a moment after their answer (a network round trip): without
    the linger the first one back was written alone and the seven others after it, two commits."""
    monkeypatch.setattr(group_commit, "MAX_LINGER", 0.05)  # room for a loaded test machine
    write = SlowWrite(0.05)

    async def client(group: GroupCommit[int, int], first: int) -> None:
        for item in range(first, first + 5):
            assert await group.submit(item) == item * 2
            await asyncio.sleep(0.001 * (first % 3))  # back after a round trip, not all at once

    async def scenario() -> None:
        group = GroupCommit(write, max_batch=32, linger=True)
        await asyncio.gather(*(client(group, n * 100) for n in range(8)))

    asyncio.run(scenario())
    assert [len(batch) for batch in write.batches] == [8] * 5


def test_the_first_item_after_a_quiet_spell_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group_commit, "MAX_LINGER", 1.0)  # a linger would show: half the write
    write = SlowWrite(0.2)

    async def scenario() -> float:
        group = GroupCommit(write, linger=True)
        await _submit_all(group, list(range(8)))
        await asyncio.sleep(0.3)  # the burst is over
        started = time.perf_counter()
        await group.submit(99)
        return time.perf_counter() - started

    assert asyncio.run(scenario()) < 0.2 + 0.08  # the write's own time, no linger of 0.1 s
    assert [len(batch) for batch in write.batches] == [8, 1]
