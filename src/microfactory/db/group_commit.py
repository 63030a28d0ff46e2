"""Group commit: many concurrent requests, one writer, one transaction per batch.

On SQLite most of a small write's cost is the transaction around it, and only one writer may work
at a time anyway. Requests queue their item and await it; one writer task takes everything queued,
writes it as one batch (one flush, one commit), answers every request of the batch, and takes the
next. An item waits at most for the batch in progress. Used by order intake and the Shopify inbox.

Before taking a batch the writer yields to the event loop for as long as the queue keeps growing,
so that requests already read off their sockets join it instead of waiting for the next one.

Where the batch is written is the caller's choice. `write` runs in a worker thread, which suits
writes that wait on I/O (PostgreSQL) or take long (an ORM flush of whole orders). A small SQLite
insert is CPU work of well under a millisecond, and handing it to a thread costs more than that in
GIL handoffs; `write_here` writes it on the loop's own thread when that needs no waiting, and
returns None to send the batch to the thread instead (see `db.engine.unwaited_write`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class GroupCommit(Generic[Item, Answer]):
    """`await submit(item)` returns `write`'s answer for the item once its batch has committed."""

    def __init__(
        self,
        write: Callable[[list[Item]], Sequence[Answer]],
        max_batch: int = 64,
        write_here: Callable[[list[Item]], Sequence[Answer] | None] | None = None,
    ) -> None:
        self._write = write  # runs in a worker thread; one answer per item, in order
        self._write_here = write_here  # runs on the loop; None means "not now, use the thread"
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._writer: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken into a batch (what back-pressure looks at)."""
        return len(self._queue)

    async def submit(self, item: Item) -> Answer:
        done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_until_empty())
        return await done

    async def _write_until_empty(self) -> None:
        while self._queue:
            await self._gather()
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            items = [item for item, _ in batch]
            try:
                answers = self._write_here(items) if self._write_here is not None else None
                if answers is None:
                    answers = await asyncio.to_thread(self._write, items)
            except Exception as error:  # nothing of the batch was written: every sender learns why
                for _, done in batch:
                    if not done.done():  # a sender that gave up (client gone) has a cancelled future
                        done.set_exception(error)
                continue
            for (_, done), answer in zip(batch, answers, strict=True):
                if not done.done():
                    done.set_result(answer)

    async def _gather(self) -> None:
        """Yield to the loop while the queue grows: at most `max_batch` turns, usually one or two."""
        size = 0
        while size != len(self._queue) < self._max_batch:
            size = len(self._queue)
            await asyncio.sleep(0)
