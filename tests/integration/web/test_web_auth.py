"""Logging in to the web UI without a browser: throttling, cookies, CSRF, roles, disabled users."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid
from microfactory.web import users

PASSWORD = "a long enough password"


@pytest.fixture
def people(engine: Engine) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        users.add_user(uow, "Pat", PASSWORD, "planner")
        users.add_user(uow, "leo", PASSWORD, "site", "lyon")


def token_of(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> object:
    form = {"username": username, "password": password, "csrf_token": token_of(client), **extra}
    return client.post("/login", data=form, follow_redirects=False)


def test_a_session_cookie_is_signed_http_only_and_lax(client: TestClient, people: None) -> None:
    answer = log_in(client, "PAT")  # usernames are not case-sensitive
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http on a laptop: a Secure cookie would never return
    assert client.get("/orders").status_code == 200
    client.cookies.set("mf_session", cookie.split(";")[0].split("=", 1)[1][:-2] + "xx")  # tampered
    assert client.get("/orders", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_over_https(settings: object, engine: Engine, people: None) -> None:
    from microfactory.api.app import create_app

    with TestClient(create_app(settings, engine), base_url="https://testserver") as secure:  # type: ignore[arg-type]
        answer = log_in(secure, "pat")
    assert "secure" in answer.headers["set-cookie"].lower()


def test_api_routes_carry_no_session(client: TestClient, people: None) -> None:
    answer = client.get("/api/v1/orders")
    assert answer.status_code == 200 and "set-cookie" not in answer.headers


def test_wrong_passwords_are_throttled_with_retry_after(client: TestClient, people: None) -> None:
    unknown = log_in(client, "nobody", "wrong password!")
    wrong = [log_in(client, "pat", "wrong password!") for _ in range(4)]
    assert {a.status_code for a in [unknown, *wrong]} == {401}
    assert "Wrong username or password." in unknown.text and "Wrong username or password." in wrong[0].text
    blocked = log_in(client, "pat")  # the right password, but too late: the address has 5 failures
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 300
    assert "Too many wrong passwords" in blocked.text


def test_empty_fields_say_what_is_missing_and_count_no_failure(client: TestClient, people: None) -> None:
    answers = [log_in(client, "", ""), log_in(client, "pat", ""), log_in(client, " ", PASSWORD)]
    assert [a.status_code for a in answers] == [422] * 3
    assert "Enter your username and password." in answers[0].text
    assert "Enter your password." in answers[1].text and "Enter your username." in answers[2].text
    for _ in range(3):
        log_in(client, "pat", "")
    assert log_in(client, "pat").status_code == 303  # no failure was counted against pat


def test_a_post_without_the_token_is_refused(client: TestClient, people: None) -> None:
    token_of(client)
    refused = client.post("/login", data={"username": "pat", "password": PASSWORD, "csrf_token": "forged"})
    assert refused.status_code == 403 and "security token" in refused.text
    assert log_in(client, "pat").status_code == 303
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/orders", follow_redirects=False).status_code == 200  # still logged in


def test_next_never_leaves_the_site(client: TestClient, people: None) -> None:
    assert log_in(client, "pat", next="//evil.example/x").headers["location"] == "/"
    assert log_in(client, "pat", next="/needs-attention").headers["location"] == "/needs-attention"


def test_not_logged_in_goes_to_login_and_htmx_is_told_to(client: TestClient) -> None:
    page = client.get("/sites/lyon?x=1", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/sites/lyon%3Fx%3D1"
    fragment = client.get("/sites/lyon/live", headers={"HX-Request": "true"}, follow_redirects=False)
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/login")


def test_a_site_user_gets_403_elsewhere(client: TestClient, people: None) -> None:
    assert log_in(client, "leo").headers["location"] == "/sites/lyon"
    for path in ("/sites/berlin", "/orders", "/needs-attention"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Not allowed" in answer.text
    assert client.get("/shipments").status_code == 200  # their own site's parcels (tests/browser)
    assert client.get("/", follow_redirects=False).headers["location"] == "/sites/lyon"


def test_disabling_a_user_ends_their_session(client: TestClient, engine: Engine, people: None) -> None:
    log_in(client, "pat")
    assert client.get("/quality").status_code == 200
    with UnitOfWork.for_engine(engine) as uow:
        users.disable_user(uow, "pat")
    assert client.get("/quality", follow_redirects=False).status_code == 303
    assert log_in(client, "pat").status_code == 401


def test_user_rules(engine: Engine) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        with pytest.raises(Invalid) as refused:
            users.add_user(uow, "x y", "short", "site")
        assert {p.path for p in refused.value.problems} == {"username", "password", "site"}
        with pytest.raises(Invalid):
            users.add_user(uow, "ann", PASSWORD, "integration")  # an API role, not a person's


def test_two_processes_adding_one_name_make_one_user(engine: Engine) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def add() -> None:
        with UnitOfWork.for_engine(engine) as uow:
            barrier.wait()
            try:
                with uow.write_turn():  # as the CLI and every request that writes
                    users.add_user(uow, "same", PASSWORD, "inspector")
                outcomes.append("added")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["added", "conflict"]
    with UnitOfWork.for_engine(engine) as uow:
        assert [u.username for u in users.list_users(uow)] == ["same"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_processes_on_one_sqlite_file_make_one_user(database_url: str, engine: Engine) -> None:
    """Two engines are two processes (each its own write turn): SQLite's lock, not a traceback."""
    from microfactory.db.engine import make_engine

    engines = [make_engine(database_url) for _ in range(2)]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def add(own: Engine) -> None:
        with UnitOfWork.for_engine(own) as uow:
            barrier.wait()
            try:
                with uow.write_turn():
                    users.add_user(uow, "twice", PASSWORD, "planner")
                outcomes.append("added")
            except Conflict:
                outcomes.append("conflict")
            except Exception as error:  # the defect was "database is locked"
                outcomes.append(repr(error)[:80])

    threads = [threading.Thread(target=add, args=(own,)) for own in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for own in engines:
        own.dispose()
    assert sorted(outcomes) == ["added", "conflict"]
