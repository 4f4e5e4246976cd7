"""The passport page a buyer's phone opens: verdict first, product, timeline, owner, log.

Everything shown comes from signed data the service does not control, so every value is
escaped; the page is one self-contained document (no scripts, fonts or third-party requests;
its one ``<script>`` element is a JSON-LD data block, which no browser runs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any, Final

from dpp_ledger import passport as pp
from dpp_ledger.passport.countries import country_name

STYLE: Final = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;
color:#1d1d1f;background:#f5f5f7}main{max-width:42rem;margin:0 auto;padding:1rem}
section{background:#fff;border-radius:12px;padding:1rem 1.25rem;margin:0 0 1rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.1rem;
margin:0 0 .6rem}.verdict.genuine{border-left:8px solid #1a7f37}.verdict.warnings{border-left:8px
solid #bf8700}.verdict.invalid{border-left:8px solid #cf222e}.verdict p{margin:.3rem 0}
.verdict.alert{border-left:8px solid #cf222e;background:#fff0f0}.verdict.alert h1{color:#a40e26}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dt{color:#6e6e73}
dd{margin:0;overflow-wrap:anywhere}ol.timeline{list-style:none;margin:0;padding:0}
ol.timeline li{border-left:3px solid #d2d2d7;padding:0 0 .9rem 1rem;position:relative}
ol.timeline li::before{content:"";position:absolute;left:-7px;top:.45rem;width:11px;height:11px;
border-radius:50%;background:#6e6e73}ol.timeline li.stolen::before{background:#cf222e}
ol.timeline time{display:block;color:#6e6e73;font-size:.85rem}.actor{color:#6e6e73;font-size:.9rem}
code{font-family:ui-monospace,monospace;background:#f0f0f3;padding:0 .25rem;border-radius:4px;
overflow-wrap:anywhere}a{color:#0a58ca}ul.flags{margin:.3rem 0;padding-left:1.2rem}
"""
HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
VERDICTS: Final = {
    pp.Outcome.VALID: ("genuine", "Genuine", "Every signature, link and signer checks out."),
    pp.Outcome.WARNINGS: (
        "warnings",
        "Genuine, with warnings",
        "The history verifies, but read the warnings below before you buy.",
    ),
    pp.Outcome.INVALID: (
        "invalid",
        "Not genuine",
        "This passport does not verify. Do not rely on it.",
    ),
}


def document(title: str, body: str) -> str:
    """A whole HTML page around ``body``."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def message_page(title: str, text: str) -> str:
    """A page that only says something (not found, bad request)."""
    return document(
        title,
        f'<section class="verdict invalid"><h1>{escape(title)}</h1><p>{escape(text)}</p></section>',
    )


def home_page(trust_url: str | None) -> str:
    """What this resolver is, for someone who opened its address rather than an item's link."""
    trust = (
        f'<p>The brand keys this resolver trusts: <a href="{escape(trust_url)}">trust.json</a>. '
        "Check any passport yourself, offline, with it.</p>"
        if trust_url
        else ""
    )
    return document(
        "Digital product passports",
        '<section class="verdict genuine"><h1>Digital product passports</h1>'
        "<p>This server answers the QR codes on products: scan the code on an item with your "
        "phone's camera, and its link opens the item's passport here: who made it, where it "
        "was sold, every resale and repair, and whether it was reported stolen.</p>"
        "<p>Each passport is signed by the parties that made its history, and can be checked "
        "without this server: download it from its page and run "
        "<code>dpp verify passport.dpp --trust trust.json</code>.</p>"
        f"{trust}</section>",
    )


ALERT_HEADLINES: Final = {"stolen": "Reported stolen", "end_of_life": "End of life"}


def _verdict(report: pp.Report) -> str:
    """The first thing on the page: a stolen or end-of-life flag in red, else the outcome."""
    if report and report.alerts:
        alert = report.alerts[0]
        lines = "".join(f"<p><strong>{escape(a.headline())}.</strong></p>" for a in report.alerts)
        return (
            f'<section class="verdict alert" id="verdict"><h1>'
            f"{ALERT_HEADLINES[alert.kind]}</h1>{lines}<p>The passport itself verifies: "
            "every signature checks out. The flag is what matters.</p></section>"
        )
    kind, headline, explanation = VERDICTS[report.outcome]
    reasons = "".join(f"<p>{escape(c.detail)}</p>" for c in (*report.failures, *report.warnings))
    return (
        f'<section class="verdict {kind}" id="verdict"><h1>{headline}</h1>'
        f"<p>{explanation}</p>{reasons}</section>"
    )


def passport_page(
    report: pp.Report,
    product: dict[str, Any],
    bundle_url: str,
    facts: Mapping[str, Any] | None = None,
) -> str:
    """The page for one verified (or refused) passport; ``facts`` embedded as JSON-LD."""
    verdict = _verdict(report)
    parts = [
        verdict,
        _product(report, product),
        _restricted(report),
        _timeline(report),
        _owner(report),
        _log(report),
        f'<section><p><a href="{escape(bundle_url)}" download>Download this passport</a> '
        "and check it yourself, offline, with the brand keys you trust: <code>dpp verify "
        'passport.dpp --trust trust.json</code> (this resolver\'s: <a href="/trust.json">'
        "trust.json</a>; better, the brand's own published file)</p></section>",
    ]
    if facts is not None:
        parts.append(json_ld(facts))
    title = f"{report.brand or 'Passport'} {product.get('model', '')}".strip()
    return document(title, "".join(parts))


def json_ld(facts: Mapping[str, Any]) -> str:
    """A JSON-LD data block: never executed, and no byte of it can close the element."""
    text = json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return f'<script type="application/ld+json">{text}</script>'


def _product(report: pp.Report, data: dict[str, Any]) -> str:
    rows = [
        ("Brand", report.brand or "unknown"),
        ("Model", data.get("model")),
        ("Category", data.get("category")),
        ("GTIN", data.get("gtin")),
        ("Serial", data.get("serial")),
        ("Made in", country_name(data["made_in"]) if "made_in" in data else None),
        ("Workshop", data.get("site")),
        ("Made on", data.get("made_on")),
    ]
    materials = data.get("materials") or []
    if materials:
        rows.append(
            (
                "Materials",
                ", ".join(
                    f"{m.get('material')} {m.get('share')}%"
                    + (f" ({country_name(m['origin'])})" if m.get("origin") else "")
                    for m in materials
                ),
            )
        )
    if "recycled_content" in data:
        rows.append(("Recycled content", f"{data['recycled_content']}%"))
    repair = data.get("repairability") or {}
    if repair:
        rows.append(
            (
                "Repairability",
                "; ".join(
                    text
                    for text in (
                        f"score {repair['score']}/100" if "score" in repair else "",
                        f"spare parts for {repair['spare_parts_years']} years"
                        if "spare_parts_years" in repair
                        else "",
                        str(repair.get("instructions", "")),
                    )
                    if text
                ),
            )
        )
    rows.append(("Care", data.get("care")))
    cells = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(str(value))}</dd>"
        for name, value in rows
        if value not in (None, "")
    )
    return f'<section id="product"><h2>The item</h2><dl>{cells}</dl></section>'


def _timeline(report: pp.Report) -> str:
    items = []
    for entry in report.history:
        # The summary says what happened in words of its own ("Sold through ..."): no label
        # in front of it to say the same verb twice.
        items.append(
            f'<li class="{escape(entry.type)}"><time datetime="{entry.when()}">'
            f"{entry.when()[:10]}</time><strong>{escape(entry.summary)}</strong>"
            f'<div class="actor">by {escape(entry.actor)}</div></li>'
        )
    body = "".join(items) or "<li>No history could be verified.</li>"
    return f'<section id="history"><h2>History</h2><ol class="timeline">{body}</ol></section>'


def _owner(report: pp.Report) -> str:
    owner = (
        f"Current owner key <code>{report.owner.hex()[:16]}</code> (a pseudonymous key: "
        "no name, no address)"
        if report.owner
        else "Not sold yet."
    )
    flags = "".join(f"<li>{escape(flag.replace('_', ' '))}</li>" for flag in sorted(report.flags))
    extra = f'<ul class="flags">{flags}</ul>' if flags else ""
    resold = any(entry.type == "resale" for entry in report.history)
    channel = (
        f"<p>{'First sold' if resold else 'Sold'} through: {escape(report.channel)}"
        f"{' (resold privately since)' if resold else ''}</p>"
        if report.channel
        else ""
    )
    return f'<section id="owner"><h2>Ownership</h2><p>{owner}</p>{channel}{extra}</section>'


def _log(report: pp.Report) -> str:
    """Whether the history is in the brand's public log, in words; the proof's terms below."""
    check = next((c for c in report.checks if c.name == "log"), None)
    if check is None or check.status is pp.Status.SKIP:
        plain = (
            "This copy carries no proof that its history is in the brand's public log. "
            "That does not make it false; a copy from the brand's own server would carry one."
        )
    elif check.status is pp.Status.FAIL:
        plain = "The proof that this history is in the brand's public log does not hold."
    elif check.status is pp.Status.WARN:
        plain = (
            "Most of this history is in the brand's public log; the latest step is not yet: "
            "until it is, a second sale of the item at that step could not be seen."
        )
    else:
        plain = (
            "Every step of this history is in the brand's public log, which keeps everything "
            "it ever published: the brand cannot quietly rewrite or remove it."
        )
    detail = (
        f"<details><summary>The proof</summary><p>{escape(check.detail)}</p></details>"
        if check is not None
        else ""
    )
    return f'<section id="log"><h2>Public record</h2><p>{plain}</p>{detail}</section>'


def _restricted(report: pp.Report) -> str:
    """Which fields are restricted, to whom, or erased: never a value, even an opened one."""
    if not report.restricted:
        return ""
    rows = []
    for entry in report.restricted:
        if entry.field is None:
            what = "erased, or not shared with this copy"
        elif entry.audiences:
            what = f"restricted to {', '.join(entry.audiences)}"
        else:
            what = "erased"
        rows.append(f"<dt>{escape(entry.field or 'a value')}</dt><dd>{escape(what)}</dd>")
    return (
        '<section id="restricted"><h2>Restricted data</h2><p>Sealed to the audiences '
        "the brand chose: this passport signs only a salted digest of each value.</p>"
        f"<dl>{''.join(rows)}</dl></section>"
    )
