"""Web users: add, list, disable, and check a password (argon2id via argon2-cffi).

An unknown username and a wrong password are the same failure to the caller (`None`), and an unknown
username still costs one hash verification, so neither the answer nor its time tells which it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from microfactory.access.model import Principal
from microfactory.db import locks
from microfactory.db.base import new_id, utcnow
from microfactory.db.tables.web import WebUserRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid, NotFound
from microfactory.network.site_check import unknown_site
from microfactory.problems import Problem

WEB_ROLES = ("admin", "planner", "site", "inspector")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,79}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps a login request cheap


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """argon2id with the library's recommended parameters (RFC 9106 low-memory profile)."""
    return PasswordHasher()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hasher().hash("not a password anyone has")


@dataclass(frozen=True)
class WebUser:
    id: str
    username: str
    role: str
    site: str | None
    created_at: datetime
    disabled_at: datetime | None

    @property
    def principal(self) -> Principal:
        """The same principal the API's role checks take (`access.model`)."""
        return Principal(id=self.id, name=self.username, role=self.role, site=self.site)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "site": self.site,
            "created_at": self.created_at.isoformat(),
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
        }


def normal_username(username: str) -> str:
    return username.strip().lower()


def _checked(uow: UnitOfWork, username: str, password: str, role: str, site: str | None) -> None:
    problems = []
    if not USERNAME.match(username):
        problems.append(Problem("username", "1 to 80 of a-z 0-9 . _ @ -, starting with a letter or digit"))
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        problems.append(Problem("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"))
    if role not in WEB_ROLES:
        problems.append(Problem("role", f"{role!r} is not one of {', '.join(WEB_ROLES)}"))
    if role == "site" and not site:
        problems.append(Problem("site", "required for the site role"))
    if role != "site" and site:
        problems.append(Problem("site", f"not used by the {role} role"))
    elif (unknown := unknown_site(uow, site)) is not None:
        problems.append(unknown)
    if problems:
        raise Invalid("the user cannot be added", problems)


def add_user(uow: UnitOfWork, username: str, password: str, role: str, site: str | None = None) -> WebUser:
    """Add a user and commit; `Conflict` when the username is taken (also by a disabled user)."""
    username = normal_username(username)
    _checked(uow, username, password, role, site)
    password_hash = hasher().hash(password)  # slow on purpose: before the write lock, not under it
    uow.session.rollback()  # end the checks' read: SQLite refuses a write from a transaction that read first
    locks.become_writer(uow.session)  # SQLite: two adds at once wait their turn, not "database is locked"
    if _row(uow, username) is not None:
        raise Conflict(f"a user named {username!r} exists already")
    row = WebUserRow(id=new_id("usr"), username=username, password_hash=password_hash, role=role, site=site)
    uow.session.add(row)
    try:
        uow.commit()
    except IntegrityError as error:  # another process added the name in the meantime
        uow.rollback()
        raise Conflict(f"a user named {username!r} exists already") from error
    return _user(row)


def list_users(uow: UnitOfWork, include_disabled: bool = False) -> list[WebUser]:
    query = select(WebUserRow).order_by(WebUserRow.username)
    if not include_disabled:
        query = query.where(WebUserRow.disabled_at.is_(None))
    return [_user(row) for row in uow.session.scalars(query)]


def disable_user(uow: UnitOfWork, username: str) -> WebUser:
    """Disable a user and commit: their sessions end at their next request; twice changes nothing."""
    row = _row(uow, normal_username(username))
    if row is None:
        raise NotFound("user", username)
    if row.disabled_at is None:
        row.disabled_at = utcnow()
        uow.commit()
    return _user(row)


def authenticate(uow: UnitOfWork, username: str, password: str) -> WebUser | None:
    """The enabled user with this password, else None (the same for an unknown name)."""
    row = _row(uow, normal_username(username))
    if row is None or row.disabled_at is not None or len(password) > MAX_PASSWORD:
        _verify(_decoy_hash(), password[:MAX_PASSWORD])
        return None
    if not _verify(row.password_hash, password):
        return None
    if hasher().check_needs_rehash(row.password_hash):  # parameters raised since: store a stronger hash
        row.password_hash = hasher().hash(password)
        uow.commit()
    return _user(row)


def active_user(uow: UnitOfWork, user_id: str) -> WebUser | None:
    """The session's user if it still exists and is enabled."""
    row = uow.session.get(WebUserRow, user_id)
    return None if row is None or row.disabled_at is not None else _user(row)


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _row(uow: UnitOfWork, username: str) -> WebUserRow | None:
    return uow.session.scalar(select(WebUserRow).where(WebUserRow.username == username))


def _user(row: WebUserRow) -> WebUser:
    return WebUser(row.id, row.username, row.role, row.site, row.created_at, row.disabled_at)
