"""Stored API tokens: issue (the secret is shown once), list, rotate, revoke, and find by secret.

Only a SHA-256 of each secret is stored, so neither the database nor a list can give one back.
Names are unique among live tokens (a revoked token's name may be issued again).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from microfactory.access.model import ROLES, Principal
from microfactory.db import locks
from microfactory.db.base import new_id, utcnow
from microfactory.db.tables.orders import ApiTokenRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid, NotFound
from microfactory.network.site_check import unknown_site
from microfactory.problems import Problem


@dataclass(frozen=True)
class IssuedToken:
    principal: Principal
    secret: str  # shown once, never stored

    def as_dict(self) -> dict[str, str | None]:
        p = self.principal
        return {"id": p.id, "name": p.name, "role": p.role, "site": p.site, "token": self.secret}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _checked(uow: UnitOfWork, role: str, site: str | None) -> None:
    if role not in ROLES:
        raise Invalid("unknown role", [Problem("role", f"{role!r} is not one of {', '.join(ROLES)}")])
    if role == "site" and not site:
        raise Invalid("a site token needs its site", [Problem("site", "required for the site role")])
    if role != "site" and site:
        raise Invalid("only site tokens belong to a site", [Problem("site", f"not used by the {role} role")])
    unknown = unknown_site(uow, site)
    if unknown is not None:
        raise Invalid("a site token needs a site of the network", [unknown])


def issue_token(uow: UnitOfWork, name: str, role: str, site: str | None = None) -> IssuedToken:
    """Create a token and commit it; `Conflict` when a live token has the name already."""
    _checked(uow, role, site)
    if find_live_by_name(uow, name) is not None:
        raise Conflict(f"a token named {name!r} exists already: revoke it first or choose another name")
    secret = secrets.token_urlsafe(32)
    row = ApiTokenRow(id=new_id("tok"), name=name, token_sha256=token_digest(secret), role=role, site=site)
    uow.session.add(row)
    try:
        uow.commit()
    except IntegrityError as error:  # another request took the name in the meantime
        uow.rollback()
        raise Conflict(f"a token named {name!r} exists already") from error
    return IssuedToken(_principal(row), secret)


def find_live_by_name(uow: UnitOfWork, name: str) -> ApiTokenRow | None:
    query = select(ApiTokenRow).where(ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None))
    return uow.session.scalar(query)


def principal_for(uow: UnitOfWork, secret: str) -> Principal | None:
    """The live token with this secret, or None."""
    row = uow.session.scalar(
        select(ApiTokenRow).where(
            ApiTokenRow.token_sha256 == token_digest(secret), ApiTokenRow.revoked_at.is_(None)
        )
    )
    return None if row is None else _principal(row)


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    role: str
    site: str | None
    created_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, str | None]:
        revoked = self.revoked_at.isoformat() if self.revoked_at else None
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "site": self.site,
            "created_at": self.created_at.isoformat(),
            "revoked_at": revoked,
        }


def list_tokens(uow: UnitOfWork, include_revoked: bool = False) -> list[TokenInfo]:
    query = select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.id)
    if not include_revoked:
        query = query.where(ApiTokenRow.revoked_at.is_(None))
    return [_info(row) for row in uow.session.scalars(query)]


def revoke_token(uow: UnitOfWork, token_id: str) -> TokenInfo:
    """Revoke a token at once (the next request with it gets 401); revoking twice changes nothing."""
    row = uow.session.get(ApiTokenRow, token_id)
    if row is None:
        raise NotFound("token", token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        uow.commit()
    return _info(row)


@dataclass(frozen=True)
class SeenToken:
    """A token as read: what a rotation expects to find still in place when it writes."""

    principal: Principal
    digest: str
    revoked: bool


def find_token(uow: UnitOfWork, reference: str) -> SeenToken:
    """A token by its id, else the live token of that name; `NotFound` otherwise."""
    row = uow.session.get(ApiTokenRow, reference) or find_live_by_name(uow, reference)
    if row is None:
        raise NotFound("token", reference)
    return SeenToken(_principal(row), row.token_sha256, row.revoked_at is not None)


def rotate_token(uow: UnitOfWork, reference: str) -> IssuedToken:
    """A new secret for a live token (by id or name), shown once; the old one is refused from the commit.

    The token keeps its id, name, role and site, so the audit trail still names the same actor.
    """
    locks.become_writer(uow.session)  # SQLite: read what the last writer committed, then write
    issued = replace_secret(uow, find_token(uow, reference))
    uow.commit()
    return issued


def replace_secret(uow: UnitOfWork, seen: SeenToken) -> IssuedToken:
    """Swap the token's secret if it still has the one seen and is live (a conditional UPDATE).

    Two rotations at once must not both answer a secret: the one that comes second finds the
    digest changed (on PostgreSQL it waits for the first one's commit, then matches no row) and
    is refused with `Conflict`, so no admin is handed a secret that no longer works.
    """
    named = f"token {seen.principal.id} ({seen.principal.name})"
    if seen.revoked:
        raise Conflict(f"{named} is revoked: issue a new one instead")
    secret = secrets.token_urlsafe(32)
    result = uow.session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.id == seen.principal.id,
            ApiTokenRow.token_sha256 == seen.digest,
            ApiTokenRow.revoked_at.is_(None),
        )
        .values(token_sha256=token_digest(secret))
        .execution_options(synchronize_session=False)
    )
    if not isinstance(result, CursorResult) or result.rowcount != 1:
        uow.rollback()
        raise Conflict(f"{named} was rotated or revoked meanwhile: look again")
    uow.session.expire_all()
    return IssuedToken(seen.principal, secret)


def _principal(row: ApiTokenRow) -> Principal:
    return Principal(id=row.id, name=row.name, role=row.role, site=row.site)


def _info(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.role, row.site, row.created_at, row.revoked_at)
