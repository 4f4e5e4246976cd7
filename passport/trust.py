"""The verifier's trust store: brand root keys it trusts and the GS1 prefixes each may issue for.

A brand is its root key; its name is a label that proves nothing. Every decision follows keys,
so a store where a name could stand for two keys, or a GTIN for two roots, is refused whole:
two roots may not share a name (compared case-folded, NFKC, spaces collapsed), and no root's
GS1 company prefix may be a prefix of another's (GS1 company prefixes never nest), so each
GTIN has at most one root. Nothing inside a bundle can add to a store. Its file form is JSON
(``schemas/truststore.json``); reading and writing the file is the caller's job.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from . import gs1, schema
from .checkpoint import NoteVerifier
from .errors import DppError, SchemaError, TrustStoreError
from .keys import PublicKey
from .recipients import Audience, RecipientKey

MAX_TRUST_STORE_SIZE: Final = 4 * 1024 * 1024
MAX_NAME_LENGTH: Final = 120
# Alphabets with letters that look like Latin ones: a name mixing them is a look-alike.
_LOOKALIKE_SCRIPTS: Final = frozenset({"LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "CHEROKEE"})
# Controls, invisible formatting (zero-width, bidi overrides), surrogates, private use, unassigned.
_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def name_key(name: str) -> str:
    """The form in which two brand names are compared: NFKC, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def check_brand_name(name: str) -> str:
    """Return ``name`` if it can label a root: visible text, one alphabet among look-alikes.

    Raises:
        TrustStoreError: empty, too long, holding an invisible or control character, or
            mixing letters of look-alike alphabets (Latin with Cyrillic, say).
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise TrustStoreError(f"a brand name is text of 1 to {MAX_NAME_LENGTH} characters")
    hidden = [c for c in name if unicodedata.category(c) in _HIDDEN_CATEGORIES]
    if hidden:
        raise TrustStoreError(
            f"brand name {name!r} holds an invisible or control character "
            f"(U+{ord(hidden[0]):04X}); a name must read as it is compared"
        )
    scripts = {
        script
        for c in name
        if c.isalpha() and (script := unicodedata.name(c, "").split(" ")[0]) in _LOOKALIKE_SCRIPTS
    }
    if len(scripts) > 1:
        raise TrustStoreError(
            f"brand name {name!r} mixes {' and '.join(sorted(s.title() for s in scripts))} "
            "letters: it could pass for another brand's name"
        )
    return name


@dataclass(frozen=True)
class TrustedRoot:
    """A brand root key, the brand's name as the verifier knows it, and its GS1 company prefixes."""

    brand: str
    key: PublicKey
    gs1_prefixes: tuple[str, ...]
    # Who may open the brand's restricted data, as the brand publishes it (additive).
    audiences: tuple[Audience, ...] = ()

    def audience(self, name: str) -> Audience | None:
        """The audience the brand publishes under ``name``, if any."""
        return next((a for a in self.audiences if a.name == name), None)

    def describe(self) -> str:
        """The root as messages name it: its label and the start of its key id."""
        return f"'{self.brand}' (key {self.key.kid_hex[:16]}…)"


@dataclass(frozen=True)
class TrustStore:
    """The roots a verifier trusts, looked up by key id or by the GTIN they cover.

    Raises:
        TrustStoreError: on construction, if a key is listed twice, two roots share a name,
            a prefix is not a GS1 company prefix, or two prefixes nest.
    """

    roots: tuple[TrustedRoot, ...]
    logs: tuple[NoteVerifier, ...] = ()
    _by_kid: Mapping[bytes, TrustedRoot] = field(init=False, repr=False, compare=False)
    _by_prefix: Mapping[str, TrustedRoot] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_kid", _index_keys(self.roots))
        object.__setattr__(self, "_by_prefix", _index_prefixes(self.roots))

    @classmethod
    def of(cls, roots: Iterable[TrustedRoot], logs: Iterable[NoteVerifier] = ()) -> TrustStore:
        """A trust store of brand ``roots`` and transparency ``logs`` (their note verifier keys).

        Raises:
            TrustStoreError: the roots contradict each other (see the class).
        """
        return cls(tuple(roots), tuple(logs))

    def root(self, kid: bytes) -> TrustedRoot | None:
        """The trusted root with key id ``kid``, if any."""
        return self._by_kid.get(kid)

    def root_for(self, gtin14: str) -> TrustedRoot | None:
        """The one trusted root whose GS1 company prefixes cover ``gtin14``, if any.

        A company prefix is matched against the GTIN-14 digits after its indicator digit.
        """
        body = gtin14[1:]
        for length in range(4, 13):
            root = self._by_prefix.get(body[:length])
            if root is not None:
                return root
        return None

    def __len__(self) -> int:
        return len(self.roots)

    def to_json(self) -> str:
        """The trust store as JSON text, for a file another verifier can load."""
        roots = [_root_json(r) for r in self.roots]
        document: dict[str, object] = {"v": 1, "roots": roots}
        if self.logs:
            document["logs"] = [log.to_vkey() for log in self.logs]
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, what: str = "trust store") -> TrustStore:
        """Parse a trust store from JSON text.

        Raises:
            TrustStoreError: not JSON, not matching the schema, a bad key or prefix, or roots
                that contradict each other; the message says what, in words.
        """
        if len(text) > MAX_TRUST_STORE_SIZE:
            raise TrustStoreError(f"{what}: larger than {MAX_TRUST_STORE_SIZE} bytes")
        document = _load(text, what)
        try:
            schema.validate("truststore", document, what=what)
            roots = tuple(_root(entry) for entry in document["roots"])
            logs = tuple(NoteVerifier.from_vkey(v) for v in document.get("logs", ()))
            return cls(roots, logs)
        except TrustStoreError as exc:
            raise TrustStoreError(f"{what}: {exc}") from exc
        except SchemaError as exc:
            raise TrustStoreError(str(exc)) from exc
        except (ValueError, DppError) as exc:
            raise TrustStoreError(f"{what}: {exc}") from exc


def _root(entry: Mapping[str, Any]) -> TrustedRoot:
    """One root of a trust file; a ``kid`` given beside the key must be the key's.

    Raises:
        InvalidKeyError: a bad key. TrustStoreError: a kid that is another key's.
    """
    key = PublicKey.from_bytes(bytes.fromhex(entry["key"]))
    if "kid" in entry and entry["kid"] != key.kid_hex:
        raise TrustStoreError(
            f"root '{entry['brand']}': kid {entry['kid'][:16]}… is not the id of its key "
            f"({key.kid_hex[:16]}…)"
        )
    audiences = _audiences(entry.get("audiences", ()))
    return TrustedRoot(entry["brand"], key, tuple(entry["gs1_prefixes"]), audiences)


def _root_json(root: TrustedRoot) -> dict[str, object]:
    entry: dict[str, object] = {
        "brand": root.brand,
        "key": root.key.raw.hex(),
        "kid": root.key.kid_hex,
        "gs1_prefixes": list(root.gs1_prefixes),
    }
    if root.audiences:
        entry["audiences"] = [
            {"name": a.name, "keys": [k.raw.hex() for k in a.keys]} for a in root.audiences
        ]
    return entry


def _audiences(entries: Iterable[Mapping[str, Any]]) -> tuple[Audience, ...]:
    """A root's audiences from their JSON form (already matched against the schema).

    Raises:
        TrustStoreError: an audience named twice. DppError: a bad name or key.
    """
    found = tuple(
        Audience.of(e["name"], (RecipientKey.from_bytes(bytes.fromhex(k)) for k in e["keys"]))
        for e in entries
    )
    if len({a.name for a in found}) != len(found):
        raise TrustStoreError("an audience is named twice under one root")
    return found


def _load(text: str | bytes, what: str) -> Any:
    """The JSON document in ``text``, or a sentence saying why there is none."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text)
    except UnicodeDecodeError:
        raise TrustStoreError(
            f"{what} is not text (it is not UTF-8): is it a trust file?"
        ) from None
    except json.JSONDecodeError as exc:
        reason = exc.msg[0].lower() + exc.msg[1:]
        raise TrustStoreError(
            f"{what} is not JSON ({reason} on line {exc.lineno}): a trust file is the "
            "JSON document `dpp trust export` writes"
        ) from None
    except RecursionError:
        raise TrustStoreError(f"{what}: nested too deeply to be a trust store") from None
    except ValueError:  # a number of more digits than Python converts
        raise TrustStoreError(f"{what}: holds a number too long to be a trust file's") from None


def _index_keys(roots: Iterable[TrustedRoot]) -> dict[bytes, TrustedRoot]:
    """Roots by key id, once each key and each name is known to stand for one root."""
    by_kid: dict[bytes, TrustedRoot] = {}
    by_name: dict[str, TrustedRoot] = {}
    for root in roots:
        if root.key.kid in by_kid:
            raise TrustStoreError(f"root key {root.key.kid_hex[:16]}… is listed twice")
        check_brand_name(root.brand)
        other = by_name.setdefault(name_key(root.brand), root)
        if other is not root:
            raise TrustStoreError(
                f"two roots are named '{root.brand}': {other.describe()} and {root.describe()}. "
                "A brand is its key and its name only a label, so one name belongs to one root"
            )
        by_kid[root.key.kid] = root
    return by_kid


def _index_prefixes(roots: Iterable[TrustedRoot]) -> dict[str, TrustedRoot]:
    """Roots by GS1 company prefix, once no prefix is a prefix of another."""
    entries: list[tuple[str, TrustedRoot]] = []
    for root in roots:
        if not root.gs1_prefixes:
            raise TrustStoreError(f"root {root.describe()} lists no GS1 company prefix")
        for prefix in root.gs1_prefixes:
            try:
                entries.append((gs1.check_company_prefix(prefix), root))
            except SchemaError as exc:
                raise TrustStoreError(f"root {root.describe()}: {exc}") from None
    entries.sort(key=lambda entry: entry[0])
    # Sorted, a prefix is followed at once by every prefix it is a prefix of.
    for (shorter, first), (longer, second) in pairwise(entries):
        if longer.startswith(shorter):
            if first is second:
                raise TrustStoreError(
                    f"root {first.describe()} lists GS1 prefix {shorter} and {longer}, "
                    "which it already covers"
                    if shorter != longer
                    else f"root {first.describe()} lists GS1 prefix {shorter} twice"
                )
            raise TrustStoreError(
                f"GS1 prefix {shorter} of {first.describe()} covers prefix {longer} of "
                f"{second.describe()}: GS1 company prefixes never nest, so one of these roots "
                "would issue for the other's numbers"
            )
    return {prefix: root for prefix, root in entries}
