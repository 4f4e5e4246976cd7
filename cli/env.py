"""The CLI's surroundings: the home directory, passphrases, times, and how things are printed."""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import KeyStoreError, NotFoundError

if TYPE_CHECKING:
    # Every command imports this module: what only some of them use is imported where used.
    from dpp_ledger.ledger import KeyStore, Ledger
    from dpp_ledger.ledger.storage import Location

from . import logs

PASSPHRASE_VARIABLE: Final = "DPP_PASSPHRASE"  # noqa: S105 - a variable name
HOME_VARIABLE: Final = "DPP_HOME"
LEDGER_VARIABLE: Final = "DPP_LEDGER"  # a ledger location overriding the home's own
DEFAULT_HOME: Final = ".dpp"
LOG_KEY: Final = "log"


class UsageProblem(pp.DppError):
    """The command was asked for something that cannot work as given (exit code 2)."""


_DECIMAL: Final = re.compile(r"[0-9]{1,20}")


MIN_ID_PREFIX: Final = 8


def match_id(text: str, ids: Iterable[str], what: str) -> str:
    """The one id among ``ids`` (64 hex digits) that ``text`` is, or starts, case-blind.

    Ids are typed as the `list` commands print them; a unique start of 8 digits or more is
    enough, as with git.

    Raises:
        UsageProblem: not hex, or too short. NotFoundError: no such id, or several share it.
    """
    typed = text.strip().lower()
    if not 8 <= len(typed) <= 64 or any(c not in "0123456789abcdef" for c in typed):
        raise UsageProblem(
            f"{text[:80]!r} is not a key id: give its 64 hex digits, or the first "
            f"{MIN_ID_PREFIX} or more"
        )
    found = sorted({i for i in ids if i.startswith(typed)})
    if not found:
        raise NotFoundError(f"no {what} has a key id starting {typed}")
    if len(found) > 1:
        raise NotFoundError(f"several {what}s have a key id starting {typed}: give more digits")
    return found[0]


def decimal(text: str | None) -> int | None:
    """``text`` as a number if it is 1 to 20 ASCII digits and nothing else, else None.

    ``str.isdigit`` also accepts superscripts and other scripts' digits, which ``int`` refuses
    or reads differently: every number typed or sent as text goes through here.
    """
    if text is None or not _DECIMAL.fullmatch(text):
        return None
    return int(text)


def output_path(home: Home, output: str) -> Path:
    """Check a path the user asked us to write: an existing folder, never the ledger home.

    ``-o`` replaces a regular file there; it must not replace the ledger, a key file, a device
    or a folder, and a typo must not create folders.

    Raises:
        UsageProblem: no such folder, not a regular file, or inside the ledger home.
    """
    path = Path(output)
    parent = path.parent
    if not parent.is_dir():
        raise UsageProblem(f"{output}: there is no folder {parent} to write it in")
    if path.exists() and not path.is_file():
        raise UsageProblem(f"{output}: not a regular file; refusing to replace it")
    if path.resolve().is_relative_to(home.path.resolve()):
        raise UsageProblem(f"{output}: inside the ledger home {home.path}; write exports elsewhere")
    return path


def resolver_url(value: str) -> str:
    """A resolver base URL as QR links use it: http(s), a host, no spaces; without a final /.

    Raises:
        UsageProblem: anything else (the links printed on products would be broken).
    """
    import urllib.parse  # only this check needs it: ~2 ms at every start otherwise

    text = value.rstrip("/")
    try:
        text.encode("utf-8")
        parts = urllib.parse.urlsplit(text)
    except (UnicodeError, ValueError):
        raise UsageProblem(f"resolver {value!r}: not a URL") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(c.isspace() or not c.isprintable() for c in text)
        or len(text) > 200
    ):
        raise UsageProblem(
            f"resolver {value!r}: give an http or https base URL such as https://id.example.com"
        )
    return text


@dataclass
class Passphrase:
    """Asks once per run: ``DPP_PASSPHRASE`` if set, else a hidden prompt on a terminal."""

    cached: str | None = None

    def __call__(self, prompt: str = "Passphrase") -> str:
        """The passphrase, asked for at most once (``prompt`` says what it unlocks)."""
        if self.cached is not None:
            return self.cached
        secret = os.environ.get(PASSPHRASE_VARIABLE)
        if secret is None:
            if not sys.stdin.isatty():
                raise KeyStoreError(
                    f"no passphrase: set {PASSPHRASE_VARIABLE} or run dpp on a terminal"
                )
            secret = click.prompt(prompt, hide_input=True, err=True)
        logs.hide(secret)
        self.cached = secret
        return secret

    def new(self) -> str:
        """A passphrase for a new key: asked twice on a terminal; a short one is warned about."""
        if self.cached is None and PASSPHRASE_VARIABLE not in os.environ and sys.stdin.isatty():
            self.cached = click.prompt(
                "New key passphrase", hide_input=True, confirmation_prompt=True, err=True
            )
            logs.hide(self.cached)
        secret = self()
        if len(secret) < MIN_PASSPHRASE:
            click.echo(
                f"dpp: warning: a passphrase of {len(secret)} characters is easy to guess "
                f"offline; use {MIN_PASSPHRASE} or more (a few words)",
                err=True,
            )
        return secret


MIN_PASSPHRASE: Final = 12


@dataclass
class Home:
    """A ledger home: ``ledger.db``, ``keys/``, ``config.json``; ``source`` says who chose it."""

    path: Path
    passphrase: Passphrase = field(default_factory=Passphrase)
    source: str = "--home"
    _keys: dict[str, pp.SigningKey] = field(default_factory=dict)

    @property
    def ledger_path(self) -> Path:
        """The ledger file (a home whose ledger is on PostgreSQL has none: see ledger_location)."""
        return self.path / "ledger.db"

    @property
    def ledger_location(self) -> Location:
        """Where the ledger is: ``$DPP_LEDGER``, else the URL in the settings, else the file.

        Raises:
            LocationError: a URL holding a password.
        """
        from dpp_ledger.ledger.storage import as_location

        chosen = os.environ.get(LEDGER_VARIABLE) or self.config().get("ledger")
        return as_location(chosen) if isinstance(chosen, str) and chosen else self.ledger_path

    @property
    def shared(self) -> bool:
        """Whether the ledger is on a database server rather than in the home's file."""
        from dpp_ledger.ledger.storage import is_url

        return is_url(self.ledger_location)

    @property
    def keystore(self) -> KeyStore:
        """The key store directory."""
        from dpp_ledger.ledger.keystore import KeyStore

        return KeyStore(self.path / "keys")

    @property
    def config_path(self) -> Path:
        """The home's settings file."""
        return self.path / "config.json"

    def exists(self) -> bool:
        """Whether the home holds a ledger, or names one on a server."""
        location = self.ledger_location
        if isinstance(location, Path):
            return location.is_file()
        return self.path.is_dir()

    def config(self) -> dict[str, Any]:
        """The home's settings (empty if none)."""
        if not self.config_path.is_file():
            return {}
        from dpp_ledger.ledger.files import read_bounded

        try:
            value = json.loads(read_bounded(self.config_path, 64 * 1024, what="config"))
        except ValueError as exc:
            raise UsageProblem(f"{self.config_path}: not valid JSON ({exc})") from None
        return value if isinstance(value, dict) else {}

    def save_config(self, config: dict[str, Any]) -> None:
        """Write the home's settings."""
        from dpp_ledger.ledger.files import write_atomic

        write_atomic(self.config_path, (json.dumps(config, indent=2) + "\n").encode())

    def signing_key(self, name: str) -> pp.SigningKey:
        """A private key from the key store, decrypted once per run.

        Raises:
            UsageProblem: there is no home here. KeyStoreError: no such key, or it won't open.
        """
        self.require()
        if name not in self._keys:
            prompt = f"Passphrase of the keys in {self.path} (to unlock '{name}')"
            self._keys[name] = self.keystore.load(name, lambda: self.passphrase(prompt))
        return self._keys[name]

    def new_passphrase(self) -> str:
        """The passphrase for a new key, which must open the keys the home already holds.

        A home's keys share one passphrase: a mistyped ``DPP_PASSPHRASE`` would otherwise make
        a key no one can open with the others.

        Raises:
            UsageProblem: it does not open an existing key.
        """
        secret = self.passphrase.new()
        infos, _ = self.keystore.scan()
        if infos:
            try:
                self.keystore.load(infos[0].name, lambda: secret)
            except KeyStoreError:
                self.passphrase.cached = None
                raise UsageProblem(
                    f"this passphrase does not open the keys already in {self.path} (it "
                    f"failed on '{infos[0].name}'): a home's keys share one passphrase; "
                    f"check {PASSPHRASE_VARIABLE}"
                ) from None
        return secret

    @contextmanager
    def ledger(self, *, write: bool = False) -> Iterator[Ledger]:
        """The home's ledger; for writes, with the log key loaded so checkpoints follow."""
        from dpp_ledger.ledger.store import Ledger

        self.require()
        with Ledger.open(self.ledger_location) as ledger:
            origin = ledger.checkpoints.origin
            if write and origin is not None and self.keystore.exists(LOG_KEY):
                ledger.checkpoints.set_log(origin, self.signing_key(LOG_KEY))
            yield ledger

    @contextmanager
    def reader(self) -> Iterator[Ledger]:
        """The home's ledger for reading only: it opens on a read-only mount, and never writes."""
        from dpp_ledger.ledger.store import Ledger

        self.require()
        with Ledger.open(self.ledger_location, read_only=True) as ledger:
            yield ledger

    def require(self) -> None:
        """Stop with the way out when there is no home here.

        Raises:
            UsageProblem: no ledger at the home's path.
        """
        if not self.exists():
            raise UsageProblem(
                f"no home at {self.path} (chosen by {self.source}): run `dpp init` to make "
                f"one there, or point --home or {HOME_VARIABLE} at yours"
            )


def resolve_home(option: str | None) -> Home:
    """``--home``, else ``$DPP_HOME``, else ``./.dpp``."""
    if option:
        return Home(Path(option), source="--home")
    if os.environ.get(HOME_VARIABLE):
        return Home(Path(os.environ[HOME_VARIABLE]), source=f"${HOME_VARIABLE}")
    return Home(
        Path(DEFAULT_HOME), source=f"the default, as neither --home nor ${HOME_VARIABLE} is set"
    )


def parse_time(text: str) -> int:
    """Unix seconds from digits, a date (midnight UTC) or an ISO 8601 time.

    Raises:
        UsageProblem: none of those, or outside year 1970 to 9999.
    """
    from dpp_ledger.passport.events import MAX_TIME

    text = text.strip()
    try:
        number = decimal(text)
        if number is not None:
            value = number
        else:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            value = int(moment.timestamp())
    except (ValueError, OverflowError):
        raise UsageProblem(
            f"{text!r} is not a time: use 2026-05-01, 2026-05-01T10:00:00Z or Unix seconds"
        ) from None
    if not 0 <= value <= MAX_TIME:
        raise UsageProblem(f"{text!r} is outside the years 1970 to 9999")
    return value


class TimeParam(click.ParamType):  # type: ignore[type-arg]
    """A click parameter that reads times with :func:`parse_time`."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parse a time or fail with click's usage error."""
        if isinstance(value, int):
            return value
        try:
            return parse_time(str(value))
        except UsageProblem as exc:
            self.fail(str(exc), param, ctx)


def emit_json(value: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def emit_json_streamed(fields: Mapping[str, Any]) -> None:
    """Print a JSON object exactly as :func:`emit_json` would, an iterator field as a list.

    Each item of an iterator is written as it comes, so a report of millions of items never
    stands whole in memory.
    """
    out = sys.stdout

    def dumped(value: Any, indent: str) -> str:
        return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)

    out.write("{")
    for number, (name, value) in enumerate(fields.items()):
        out.write(("," if number else "") + "\n  " + dumped(name, "") + ": ")
        if not isinstance(value, Iterator):
            out.write(dumped(value, "  "))
            continue
        opened = False
        for item in value:
            out.write(("," if opened else "[") + "\n    " + dumped(item, "    "))
            opened = True
        out.write("\n  ]" if opened else "[]")
    out.write("\n}\n" if fields else "}\n")
    out.flush()


def progress(total: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A progress bar on a terminal (stderr); nothing when not on one. Returns (update, close)."""
    if not sys.stderr.isatty() or total <= 0:
        return (lambda done: None), (lambda: None)
    bar = click.progressbar(length=total, label=label, file=sys.stderr)
    bar.__enter__()
    state = {"shown": 0}

    def update(done: int) -> None:
        bar.update(done - state["shown"])
        state["shown"] = done

    return update, (lambda: bar.__exit__(None, None, None))


def short(kid: bytes | None) -> str:
    """A key id as a person reads it: 16 hex digits."""
    return "-" if kid is None else kid.hex()[:16]


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
trust_option = click.option(
    "--trust",
    "trust_file",
    type=click.Path(dir_okay=False),
    help="Trust store file to verify against (default: this home's).",
)


def resolve(ledger: Ledger, reference: str) -> bytes:
    """The passport a PASSPORT argument names; a malformed Digital Link is a usage error."""
    try:
        return ledger.resolve(reference)
    except pp.SchemaError as error:
        raise UsageProblem(str(error)) from None
