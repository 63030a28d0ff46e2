"""`microfactory users ...`: the people who log in to the web UI (add, list, disable).

The password never appears on the command line (where `ps` and shell history would keep it): it is
read from MICROFACTORY_NEW_PASSWORD when set, else prompted twice without echo.
"""

from __future__ import annotations

import os

import typer

from microfactory.cli.context import console, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.cli.listing import JSON, print_json, table
from microfactory.web import users

app = command_group("Web UI users: add, list, disable.")
PASSWORD_VARIABLE = "MICROFACTORY_NEW_PASSWORD"


@app.command("add")
def add(
    username: str = typer.Argument(..., help="the login name (stored lower case)"),
    role: str = typer.Option(..., "--role", help="admin | planner | site | inspector"),
    site: str | None = typer.Option(None, "--site", help="the site of a site operator"),
) -> None:
    """Add a user; the password comes from MICROFACTORY_NEW_PASSWORD, else a prompt without echo."""
    password = os.environ.get(PASSWORD_VARIABLE) or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    with unit_of_work() as uow, uow.write_turn():
        user = users.add_user(uow, username, password, role, site)
    console.print(f"added {user.username} ({user.role}{' at ' + user.site if user.site else ''})")


@app.command("list")
def list_command(
    include_disabled: bool = typer.Option(False, "--all", help="disabled users too"), as_json: bool = JSON
) -> None:
    """Users with their role and site; never their password hashes."""
    with unit_of_work() as uow:
        found = users.list_users(uow, include_disabled)
    views = [user.as_dict() for user in found]
    if as_json:
        print_json(views)
        return
    columns = ("id", "username", "role", "site", "created_at", "disabled_at")
    rows = [[str(view[column] or "") for column in columns] for view in views]
    console.print(table("web users", columns, rows, ids=("id",)))


@app.command("disable")
def disable(username: str = typer.Argument(...)) -> None:
    """Disable a user: their open sessions end at their next request."""
    with unit_of_work() as uow, uow.write_turn():
        user = users.disable_user(uow, username)
    console.print(f"disabled {user.username}")
