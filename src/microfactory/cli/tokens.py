"""`microfactory tokens ...`: issue, list, rotate and revoke API tokens from the server's own machine.

The same use cases as `/api/v1/tokens` (`access.tokens`); a secret is printed once, at creation or
rotation. Errors end with their message and exit code (`cli.errors.command_group`).
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from microfactory.access import tokens
from microfactory.cli.context import console, unit_of_work
from microfactory.cli.errors import command_group

app = command_group("API tokens: create, list, rotate, revoke.")


@app.command("create")
def create(
    name: str = typer.Argument(..., help="a unique name (letters, digits, . _ -)"),
    role: str = typer.Option("integration", help="admin | planner | site | inspector | integration"),
    site: str | None = typer.Option(None, help="the site of a site token"),
) -> None:
    """Issue a token and print it once (JSON); only its hash is stored."""
    with unit_of_work() as uow:
        issued = tokens.issue_token(uow, name, role, site)
    console.print_json(json.dumps(issued.as_dict()))


@app.command("list")
def list_command(
    include_revoked: bool = typer.Option(False, "--all", help="revoked tokens too"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Tokens with their id, name, role and site; never their secrets."""
    with unit_of_work() as uow:
        found = tokens.list_tokens(uow, include_revoked)
    if as_json:
        console.print_json(json.dumps([token.as_dict() for token in found]))
        return
    table = Table(title="API tokens")
    for column in ("id", "name", "role", "site", "created", "revoked"):
        table.add_column(column)
    for token in found:
        row = token.as_dict()
        table.add_row(
            *(str(row[key] or "") for key in ("id", "name", "role", "site", "created_at", "revoked_at"))
        )
    console.print(table)


@app.command("rotate")
def rotate(reference: str = typer.Argument(..., help="the token's id (tok_...) or its name")) -> None:
    """Give a token a new secret and print it once (JSON); the old secret is refused at once."""
    with unit_of_work() as uow:
        issued = tokens.rotate_token(uow, reference)
    console.print_json(json.dumps(issued.as_dict()))


@app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="the token's id (tok_...)")) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    with unit_of_work() as uow:
        revoked = tokens.revoke_token(uow, token_id)
    console.print(f"revoked {revoked.id} ({revoked.name})")
