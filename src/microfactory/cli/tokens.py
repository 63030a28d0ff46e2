"""`microfactory tokens ...`: issue, list and revoke API tokens from the server's own machine.

The same use cases as `/api/v1/tokens` (`access.tokens`); a secret is printed once, at creation.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from microfactory.access import tokens
from microfactory.cli.context import console, errors, unit_of_work
from microfactory.errors import Conflict, Invalid, NotFound

app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="a unique name (letters, digits, . _ -)"),
    role: str = typer.Option("integration", help="admin | planner | site | inspector | integration"),
    site: str | None = typer.Option(None, help="the site of a site token"),
) -> None:
    """Issue a token and print it once (JSON); only its hash is stored."""
    with unit_of_work() as uow:
        try:
            issued = tokens.issue_token(uow, name, role, site)
        except (Invalid, Conflict) as error:
            errors.print(f"[red]{error}[/red]")
            raise typer.Exit(2 if isinstance(error, Invalid) else 4) from error
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


@app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="the token's id (tok_...)")) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    with unit_of_work() as uow:
        try:
            revoked = tokens.revoke_token(uow, token_id)
        except NotFound as error:
            errors.print(f"[red]{error}[/red]")
            raise typer.Exit(3) from error
    console.print(f"revoked {revoked.id} ({revoked.name})")
