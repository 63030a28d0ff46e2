"""Group commit: many concurrent requests, one writer, one transaction per batch.

On SQLite most of a small write's cost is the transaction around it, and only one writer may work
at a time anyway. Requests queue their item and await it; one writer task takes everything queued,
writes it as one batch (one flush, one commit), answers every request of the batch, and takes the
next. An item waits at most for the batch in progress. Used by order intake and the Shopify inbox.

Before taking a batch the writer yields to the event loop for as long as the queue keeps growing,
so that requests already read off their sockets join it instead of waiting for the next one. Then it
lingers a moment for the senders the last batch answered to come back, until as many items wait as
waited before plus those senders: without that, eight clients that each send an order once the last
is answered were written as a batch of one (the first back) and a batch of seven, two commits (two
syncs) for eight orders. The linger ends at most half the last write's time after that write ended, and
never over `MAX_LINGER` seconds after; a lone sender never waits (it is the one the last batch
answered), nor does the first item after a quiet spell. Only callers that ask for it linger
(order intake): the webhook inbox writes on the loop, where a linger only delays its batches.

Where the batch is written is the caller's choice. `write` runs in a worker thread, which suits
writes that wait on I/O (PostgreSQL) or take long (an ORM flush of whole orders). A small SQLite
insert is CPU work of well under a millisecond, and handing it to a thread costs more than that in
GIL handoffs; `write_here` writes it on the loop's own thread when that needs no waiting, and
returns None to send the batch to the thread instead (see `db.engine.unwaited_write`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")
MAX_LINGER = 0.005  # seconds a batch may wait for the last batch's senders to come back


class GroupCommit(Generic[Item, Answer]):
    """`await submit(item)` returns `write`'s answer for the item once its batch has committed."""

    def __init__(
        self,
        write: Callable[[list[Item]], Sequence[Answer]],
        max_batch: int = 64,
        write_here: Callable[[list[Item]], Sequence[Answer] | None] | None = None,
        *,
        linger: bool = False,
    ) -> None:
        self._write = write  # runs in a worker thread; one answer per item, in order
        self._write_here = write_here  # runs on the loop; None means "not now, use the thread"
        self._max_batch = max_batch
        self._linger = linger  # for writes in the thread, where the writer idles while senders come back
        self._queue: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._arrival: asyncio.Future[None] | None = None  # the lingering writer's wake-up call
        self._last_size = 0  # items the last batch answered
        self._last_seconds = 0.0  # how long its write took
        self._last_end = 0.0  # when it ended (the loop's clock)

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken into a batch (what back-pressure looks at)."""
        return len(self._queue)

    async def submit(self, item: Item) -> Answer:
        done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_until_empty())
        return await done

    async def _write_until_empty(self) -> None:
        while self._queue:
            await self._gather()
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            items = [item for item, _ in batch]
            started = time.perf_counter()
            try:
                answers = self._write_here(items) if self._write_here is not None else None
                if answers is None:
                    answers = await asyncio.to_thread(self._write, items)
            except Exception as error:  # nothing of the batch was written: every sender learns why
                for _, done in batch:
                    if not done.done():  # a sender that gave up (client gone) has a cancelled future
                        done.set_exception(error)
                continue
            finally:
                self._last_size, self._last_seconds = len(batch), time.perf_counter() - started
                self._last_end = asyncio.get_running_loop().time()
            for (_, done), answer in zip(batch, answers, strict=True):
                if not done.done():
                    done.set_result(answer)

    async def _gather(self) -> None:
        """Yield to the loop while the queue grows (at most `max_batch` turns, usually one or two),
        then linger while fewer items wait than the last batch answered (see the module's text)."""
        expected = min(len(self._queue) + self._last_size, self._max_batch)  # waiting, and coming back
        size = 0
        while size != len(self._queue) < self._max_batch:
            size = len(self._queue)
            await asyncio.sleep(0)
        if not self._linger or len(self._queue) >= expected:
            return
        loop = asyncio.get_running_loop()
        deadline = self._last_end + min(MAX_LINGER, self._last_seconds / 2)  # long after: no wait
        while len(self._queue) < expected and (left := deadline - loop.time()) > 0:
            self._arrival = loop.create_future()  # made here: the loop may differ between uses
            try:
                await asyncio.wait_for(self._arrival, left)
            except TimeoutError:
                return
            finally:
                self._arrival = None
