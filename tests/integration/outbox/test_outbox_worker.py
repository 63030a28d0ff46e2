"""The API process sends its outbox by itself: the worker the composition root starts dispatches due
messages every interval, with the handlers the settings allow, and stops with the server."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

from sqlalchemy import Engine

from microfactory.bootstrap import bootstrap
from microfactory.config import Settings
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.outbox import store
from microfactory.outbox.claim import Message
from microfactory.outbox.dispatcher import Handler, Handlers
from microfactory.outbox.model import MessageStatus

KIND = "test.worker"


def _handlers(sent: list[str]) -> Any:
    def handlers_for(_stack: ExitStack) -> tuple[Handlers, dict[str, str]]:
        def send(message: Message) -> dict[str, Any]:
            sent.append(message.id)
            return {}

        handlers = Handlers()
        handlers.register(KIND, Handler(send))
        return handlers, {}

    return handlers_for


def _status(engine: Engine, message_id: str) -> str:
    with UnitOfWork.for_engine(engine) as uow:
        return store.get_message(uow, message_id).status


def test_the_server_dispatches_its_outbox_while_it_runs(settings: Settings, engine: Engine) -> None:
    container = bootstrap(settings.with_changes(outbox_interval_seconds=0.05), engine=engine)
    sent: list[str] = []
    container.workers.outbox_handlers = _handlers(sent)
    with UnitOfWork.for_engine(engine) as uow:
        message_id = store.enqueue(uow, KIND, "k1", {"n": 1})
        uow.commit()
    container.workers.start()
    try:
        deadline = time.monotonic() + 15
        while _status(engine, message_id) != MessageStatus.DONE and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        container.workers.stop()
    assert _status(engine, message_id) == MessageStatus.DONE
    assert sent == [message_id]


def test_no_outbox_thread_when_another_process_dispatches(settings: Settings, engine: Engine) -> None:
    container = bootstrap(settings.with_changes(outbox_interval_seconds=0), engine=engine)
    container.workers.start()
    try:
        assert container.workers.outbox is None
    finally:
        container.workers.stop()
