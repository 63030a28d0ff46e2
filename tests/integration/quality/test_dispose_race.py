"""Two inspectors dispose the same NCR at the same moment on PostgreSQL: one wins, the other gets 409.

The first holds the work order's row lock (its transaction not yet committed); the second waits on
it, then finds the NCR no longer open (the conditional UPDATE matches nothing) and is refused with
the first decision named.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.tables.quality import NcrRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.quality import dispositions, recording
from microfactory.quality.dispositions import Disposition
from microfactory.quality.inspectors import Verdict
from tests.integration.production.berlin_work import NOW, make_work_order, release
from tests.integration.quality.scripted import ordered_and_accepted


@pytest.mark.postgres
def test_two_inspectors_dispose_one_ncr_one_wins(postgres_url: str, examples: Path) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    _, work_order = ordered_and_accepted(engine, examples)
    release(engine, NOW)
    make_work_order(engine, work_order, NOW)
    with UnitOfWork.for_engine(engine) as uow:
        serial = recording.serials_of_work_order(uow, work_order)[0]
        view = recording.record_manual(
            uow, serial, Verdict.FAIL, note="chipped", station=None, actor="ana", now=NOW
        )
        uow.commit()
    ncr_id = view["ncr_id"]
    outcome: list[BaseException | str] = []

    def second() -> None:
        other = make_engine(postgres_url)
        try:
            with UnitOfWork.for_engine(other) as uow:
                dispositions.dispose(uow, ncr_id, Disposition.SCRAP, "scrap it", "ben", NOW)
                uow.commit()
            outcome.append("won")
        except BaseException as error:
            outcome.append(error)
        finally:
            other.dispose()

    with UnitOfWork.for_engine(engine) as first:
        dispositions.dispose(first, ncr_id, Disposition.REWORK, "rework it", "ana", NOW)
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second disposition did not wait for the first's lock"
        first.commit()
    racer.join(timeout=30)
    (answer,) = outcome
    assert isinstance(answer, Conflict) and "already disposed: rework by ana" in str(answer)
    with UnitOfWork.for_engine(engine) as uow:
        ncr = uow.session.scalars(select(NcrRow)).one()
        assert (ncr.disposition, ncr.disposed_by) == ("rework", "ana")
    engine.dispose()
