"""The one place the CLI turns the error tree (`microfactory.errors`) into a message and an exit code.

Every command group is a `ReportErrors` group (`command_group`): an error of the tree raised by any
command ends as its message on stderr (every problem, by place, for `Invalid`) and its exit code,
without a traceback. So does a file the user named that cannot be read or written (an `OSError`
that names its file: `--out` in a missing or read-only folder, a folder given for a file). Any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from microfactory import errors as kind
from microfactory.errors import Invalid, MicrofactoryError, nearest_code

# The one mapping of the error tree to exit codes; the most specific kind wins. 1 is a failed run
# that is not an error (a report with failures), and anything unexpected.
EXIT_CODE_BY_KIND: dict[type[MicrofactoryError], int] = {
    kind.Invalid: 2,
    kind.MissingSetting: 2,
    kind.NotFound: 3,
    kind.Conflict: 4,
    kind.UpstreamFailure: 5,
    kind.Forbidden: 6,
    kind.Busy: 7,
}

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 done with failures (e.g. deliveries that failed); 2 invalid input or a "
    "missing setting (usage errors too); 3 not found; 4 conflict (the state refuses it); "
    "5 an upstream system (Shopify) failed; 6 forbidden; 7 busy (try again shortly)."
)


def exit_code_of(error: MicrofactoryError) -> int:
    """The exit code of an error of the tree: its nearest kind in `EXIT_CODE_BY_KIND`, else 1."""
    return nearest_code(error, EXIT_CODE_BY_KIND, 1)


def report(error: MicrofactoryError) -> int:
    """Print the error to stderr (every problem of an `Invalid`, by place); its exit code."""
    from microfactory.cli.context import errors

    if isinstance(error, Invalid):
        errors.print(Text(error.summary, style="red"), soft_wrap=True)
        for problem in error.problems:
            errors.print(Text(f"  - {problem}"), soft_wrap=True)
    else:
        errors.print(Text(error.message, style="red"), soft_wrap=True)  # ids stay whole
    return exit_code_of(error)


def report_file(error: OSError) -> int:
    """Print which file could not be used and why (the system's reason); exit code 2, bad input."""
    from microfactory.cli.context import errors

    errors.print(Text(f"cannot use {error.filename}: {error.strerror or error}", style="red"), soft_wrap=True)
    return 2


class ReportErrors(TyperGroup):
    """A Typer group whose commands end with a clean message and exit code for the error tree."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context, not public API
        try:
            return super().invoke(ctx)
        except MicrofactoryError as error:
            raise typer.Exit(report(error)) from error
        except OSError as error:
            if error.filename is None:  # not a file the user named: a bug or the network, keep it
                raise
            raise typer.Exit(report_file(error)) from error


def command_group(help: str, **options: Any) -> typer.Typer:
    """A command group (`typer.Typer`) that reports the error tree (`ReportErrors`)."""
    return typer.Typer(help=help, cls=ReportErrors, no_args_is_help=True, **options)
