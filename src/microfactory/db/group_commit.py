"""Group commit: many concurrent requests, one writer, one transaction per batch.

On SQLite most of a small write's cost is the transaction around it, and only one writer may work
at a time anyway. Requests queue their item and await it; one writer task takes everything queued,
writes it in a worker thread as one batch (one flush, one commit), answers every request of the
batch, and takes the next. An item waits at most for the batch in progress. Used by order intake
and the Shopify inbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class GroupCommit(Generic[Item, Answer]):
    """`await submit(item)` returns `write`'s answer for the item once its batch has committed."""

    def __init__(self, write: Callable[[list[Item]], Sequence[Answer]], max_batch: int = 64) -> None:
        self._write = write  # runs in a worker thread; one answer per item, in order
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Answer:
        done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_until_empty())
        return await done

    async def _write_until_empty(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                answers = await asyncio.to_thread(self._write, [item for item, _ in batch])
            except Exception as error:  # nothing of the batch was written: every sender learns why
                for _, done in batch:
                    done.set_exception(error)
                continue
            for (_, done), answer in zip(batch, answers, strict=True):
                done.set_result(answer)
