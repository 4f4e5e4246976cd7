"""The ``dpp`` command: one group, one error handler, the subcommands from the modules beside it.

Exit codes: 0 success (or valid), 1 a failed check or a refused operation, 2 bad usage or
unreadable input. Errors are one line on stderr; ``--verbose`` adds their causes.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, Final, NoReturn

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import NotALedgerError, NotFoundError
from dpp_ledger.ledger.disk import os_failure

from .env import UsageProblem, resolve_home

UNREADABLE = (pp.DecodeError, pp.TrustStoreError, UsageProblem, NotFoundError, NotALedgerError)


def exit_code(error: BaseException) -> int:
    """2 for unreadable input or bad usage, 1 for everything refused or failed."""
    return 2 if isinstance(error, UNREADABLE) else 1


class DppGroup(click.Group):
    """A group whose every command reports project errors as one clear line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Take ``--home`` wherever it is given, before or after the subcommand."""
        return super().parse_args(ctx, home_first(args))

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn a project error into one line and an exit code."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise click.exceptions.Abort from None  # one line, not click's blank one before it
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "dpp"
            click.echo(f"{where}: {error.format_message()} (see {where} --help)", err=True)
            ctx.exit(2)
        except pp.DppError as error:
            if _asked:
                _stopped()  # an error a stop caused (a worker stopped with us) is not news
            _report(ctx, str(error), error)
            ctx.exit(exit_code(error))
        except UnicodeError as error:
            # Bytes from argv that are not UTF-8 reach Python as lone surrogates.
            if _asked:
                _stopped()
            _report(ctx, "an argument is not valid UTF-8 text", error)
            ctx.exit(2)
        except BrokenPipeError:
            _reader_left()
        except OSError as error:
            found = os_failure(error, error.filename or "a file")
            if found is not None:  # the disk is full or read-only: a failed write, not bad input
                _report(ctx, str(found), error)
                ctx.exit(1)
            where = f"{error.filename}: " if error.filename else ""
            _report(ctx, f"{where}{error.strerror or error}", error)
            ctx.exit(2)


def home_first(args: list[str]) -> list[str]:
    """``args`` with a ``--home DIR`` given after the subcommand moved in front of it.

    ``DPP_HOME`` applies to every command; the option should too, wherever it is typed.
    Nothing after ``--`` is touched.
    """
    end = args.index("--") if "--" in args else len(args)
    moved: list[str] = []
    rest: list[str] = []
    i = 0
    while i < end:
        arg = args[i]
        if arg == "--home" and i + 1 < end and i > 0:
            moved += [arg, args[i + 1]]
            i += 2
            continue
        if arg.startswith("--home=") and i > 0:
            moved.append(arg)
        else:
            rest.append(arg)
        i += 1
    return [*moved, *rest, *args[end:]]


def _reader_left() -> NoReturn:
    """The reader of our output went away (``dpp ... | head``): stop quietly, as Unix tools do.

    What is still buffered for stdout is dropped (flushing it at exit would fail again).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


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


class Terminated(BaseException):
    """SIGTERM arrived: unwind every ``with`` and ``finally`` on the way out, then exit 143."""


# Ctrl-C and a polite kill unwind the same way: transactions roll back, workers are stopped.
_STOPS: Final = {signal.SIGINT: (130, "aborted"), signal.SIGTERM: (143, "terminated")}
_asked: list[int] = []  # the stop signals received, in order


def _on_stop(number: int, _frame: object) -> None:
    _asked.append(number)
    raise KeyboardInterrupt if number == signal.SIGINT else Terminated


def _unraisable(report: Any) -> None:
    # Code in C that cannot pass an exception on reports it as "unraisable" and carries on; a
    # stop's exception can land there. The stop was recorded, so main() still stops after
    # the command, in one line, without that report.
    if _asked and issubclass(report.exc_type, KeyboardInterrupt | Terminated):
        return
    sys.__unraisablehook__(report)


def _stopped() -> NoReturn:
    code, word = _STOPS[signal.Signals(_asked[0])]
    click.echo(f"dpp: {word}", err=True)
    sys.exit(code)


def main() -> None:
    """Console entry point."""
    from . import admin, audience, audit, bench, buyer, demo, erase, items, moving, serve  # noqa: F401

    for number in _STOPS:
        signal.signal(number, _on_stop)
    sys.unraisablehook = _unraisable
    try:
        code = dpp.main(standalone_mode=False)
    except BrokenPipeError:
        _reader_left()
    except SystemExit as leaving:
        # click stops a broken pipe of its own (help, usage) with exit code 1 and quiet
        # streams; the reader left, which is no failure of ours: the same code as above.
        if leaving.code == 1 and type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            sys.exit(0)
        raise
    except (click.exceptions.Abort, KeyboardInterrupt, Terminated):
        if not _asked:
            _asked.append(signal.SIGINT)  # a prompt answered with Ctrl-D
        _stopped()
    except click.ClickException as error:
        error.show()
        sys.exit(2 if isinstance(error, click.UsageError) else error.exit_code)
    if _asked:
        _stopped()  # a stop swallowed on its way (see _unraisable): the command ended anyway
    sys.exit(code if isinstance(code, int) else 0)


def register() -> click.Group:
    """The group with every command attached (for tests and ``python -m cli``)."""
    from . import admin, audience, audit, bench, buyer, demo, erase, items, moving, serve  # noqa: F401

    return dpp
