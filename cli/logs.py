"""Logging for the ``dpp`` command: one logger tree, a level from ``-v``, secrets never shown.

Every module logs to ``logging.getLogger(__name__)``, so the whole project hangs under the
``dpp_ledger`` logger (``dpp_ledger.passport``, ``dpp_ledger.ledger``, ``dpp_ledger.cli``). A
library user configures it like any other; the command sends it to stderr, one line a record.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

ROOT: Final = "dpp_ledger"
LEVELS: Final = (logging.WARNING, logging.INFO, logging.DEBUG)  # by the number of -v
SHOWN: Final = "[secret]"

# Whatever the command was given as a secret this run (a passphrase). Nothing should ever log
# one; should a future message do it by mistake, it is masked before it is written.
_secrets: set[str] = set()


def hide(secret: str) -> None:
    """Mask ``secret`` in every log record written from now on."""
    if secret:
        _secrets.add(secret)


class Redact(logging.Filter):
    """Replaces any registered secret in a record's message and arguments by ``[secret]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record, with its secrets masked."""
        if _secrets:
            message = record.getMessage()
            masked = message
            for secret in _secrets:
                masked = masked.replace(secret, SHOWN)
            if masked != message:
                record.msg, record.args = masked, ()
        return True


def one_line(record: logging.LogRecord) -> str:
    """The record's message on one line, an exception as its type and text: no traceback."""
    message = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        message = f"{message}: {type(error).__name__}: {error}"
    return " ".join(message.split())


class OneLine(logging.Formatter):
    """``dpp: <level> <logger>: <message>``; an exception as its type and text, no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record on one line."""
        name = record.name.removeprefix(ROOT + ".")
        return f"dpp: {record.levelname.lower()} {name}: " + one_line(record)


def configure(level: int) -> None:
    """Send the project's records at ``level`` and above to stderr (the command's only sink)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine())
    handler.addFilter(Redact())
    logger = logging.getLogger(ROOT)
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False


def level_of(verbosity: int) -> int:
    """WARNING, INFO for ``-v``, DEBUG for ``-vv`` (or more)."""
    return LEVELS[min(verbosity, len(LEVELS) - 1)]
