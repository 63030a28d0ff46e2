"""A site token or web user bound to a site the loaded network does not have is refused, naming the
known sites; before any network is loaded the name cannot be checked and is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from microfactory.access import tokens
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.web import users


def _load_network(engine: Engine, examples: Path) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        uow.commit()


def test_a_site_token_for_an_unknown_site_is_refused(engine: Engine, examples: Path) -> None:
    _load_network(engine, examples)
    with UnitOfWork.for_engine(engine) as uow:
        with pytest.raises(Invalid) as refused:
            tokens.issue_token(uow, "nowhere-agent", "site", "nowhere")
        assert "no site 'nowhere'" in str(refused.value.problems[0]) and "berlin" in str(
            refused.value.problems[0]
        )
        assert tokens.issue_token(uow, "berlin-agent", "site", "berlin").principal.site == "berlin"


def test_a_site_user_for_an_unknown_site_is_refused(engine: Engine, examples: Path) -> None:
    _load_network(engine, examples)
    with UnitOfWork.for_engine(engine) as uow:
        with pytest.raises(Invalid) as refused:
            users.add_user(uow, "bea", "long enough pass", "site", "nowhere")
        assert [p.path for p in refused.value.problems] == ["site"]
        assert users.add_user(uow, "bea", "long enough pass", "site", "berlin").site == "berlin"


def test_without_a_network_the_site_is_kept(engine: Engine) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        assert tokens.issue_token(uow, "early-agent", "site", "berlin").principal.site == "berlin"
