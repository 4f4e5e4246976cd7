"""The ``dpp`` command: one group, one error handler, the subcommands from the modules beside it.

Exit codes: 0 success (or valid), 1 a failed check or a refused operation, 2 bad usage or
unreadable input. Errors are one line on stderr; ``--verbose`` adds their causes.
"""

from __future__ import annotations

import sys
from typing import Any

import click

import passport as pp
from ledger import NotALedgerError, NotFoundError

from .env import UsageProblem, resolve_home

UNREADABLE = (pp.DecodeError, UsageProblem, NotFoundError, NotALedgerError)


def exit_code(error: BaseException) -> int:
    """2 for unreadable input or bad usage, 1 for everything refused or failed."""
    return 2 if isinstance(error, UNREADABLE) else 1


class DppGroup(click.Group):
    """A group whose every command reports project errors as one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn a project error into one line and an exit code."""
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "dpp"
            click.echo(f"{where}: {error.format_message()} (see {where} --help)", err=True)
            ctx.exit(2)
        except pp.DppError as error:
            _report(ctx, str(error), error)
            ctx.exit(exit_code(error))
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            _report(ctx, f"{where}{error.strerror or error}", error)
            ctx.exit(2)


def _report(ctx: click.Context, message: str, error: BaseException) -> None:
    click.echo(f"dpp: {message}", err=True)
    if ctx.find_root().params.get("verbose"):
        cause = error.__cause__ or error.__context__
        while cause is not None:
            click.echo(f"  caused by {type(cause).__name__}: {cause}", err=True)
            cause = cause.__cause__ or cause.__context__


@click.group(cls=DppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", metavar="DIR", help="Ledger home (default: $DPP_HOME, else ./.dpp).")
@click.option("-v", "--verbose", is_flag=True, help="Show the causes of an error.")
@click.version_option(package_name="dpp-ledger", prog_name="dpp")
@click.pass_context
def dpp(ctx: click.Context, home: str | None, verbose: bool) -> None:
    """Digital product passports: issue, extend, verify offline, audit.

    \b
    Quick tour:
      dpp demo                         the whole story in one command
      dpp init                         create a ledger home in ./.dpp
      dpp verify bag.dpp --trust trust.json
    Passphrases come from a prompt on a terminal, else from $DPP_PASSPHRASE.
    """
    ctx.obj = resolve_home(home)


def main() -> None:
    """Console entry point."""
    from . import admin, audit, bench, buyer, demo, items, serve  # noqa: F401 - registers commands

    try:
        code = dpp.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("dpp: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(2 if isinstance(error, click.UsageError) else error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def register() -> click.Group:
    """The group with every command attached (for tests and ``python -m cli``)."""
    from . import admin, audit, bench, buyer, demo, items, serve  # noqa: F401

    return dpp
