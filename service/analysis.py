"""From raw bytes to everything the database needs to know about one message.

`analyse_message` is pure (no I/O, no clock) and picklable in and out, so the
pipeline can run it in worker processes while the main process fetches and stores.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from parsers.message import parse_message
from parsers.model import AttachmentResult, FormSpec, ParsedMessage, Problem
from parsers.report import read_attachment
from parsers.vntext import normalize_label, strip_diacritics
from service.config import UnitConfig

# Message kinds as stored.
REPORT, UNASSIGNED, AUTOMATIC = "report", "unassigned", "automatic"


@dataclass(frozen=True)
class Routing:
    """The part of the config that decides what a message is (picklable: no secrets)."""
    units: tuple[UnitConfig, ...]
    form: FormSpec
    own_addresses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str
    size: int
    sha256: str
    result: AttachmentResult


@dataclass(frozen=True)
class Analysis:
    sha256: str
    size: int
    parsed: ParsedMessage
    kind: str  # report | unassigned | automatic
    unit_code: str | None
    reason: str | None  # a reason code (templates/messages.*.toml) for unassigned/automatic
    reason_detail: str | None
    attachments: tuple[AttachmentInfo, ...]
    values: dict[str, dict[str, Decimal]]
    problems: tuple[Problem, ...]
    readable: bool
    as_of: dt.date | None
    unit_text: str | None


def analyse_message(raw: bytes, routing: Routing, report_day: dt.date) -> Analysis:
    """Parse the message, tie it to a unit, and read its attachments."""
    sha = hashlib.sha256(raw).hexdigest()
    parsed = parse_message(raw)
    candidates = units_for_sender(parsed.from_address, routing.units)
    infos: tuple[AttachmentInfo, ...] = ()
    kind, unit_code, reason, detail = REPORT, None, None, None

    if parsed.from_address and parsed.from_address in routing.own_addresses:
        kind, reason = AUTOMATIC, "own_address"
    elif parsed.automatic_reason:
        kind, reason, detail = AUTOMATIC, "automatic", parsed.automatic_reason
        unit_code = candidates[0].code if len(candidates) == 1 else None
    else:
        # Attachments are read for unknown senders too: the figures are kept as
        # evidence (never counted) and the "Đơn vị" line may name the unit.
        infos = tuple(_read_attachments(parsed, routing.form, report_day))
        if not candidates:
            kind, reason, detail = UNASSIGNED, "unknown_sender", parsed.from_address or ""
        elif len(candidates) == 1:
            unit_code = candidates[0].code
        else:
            chosen = resolve_shared_sender(candidates, parsed, infos)
            if chosen is None:
                kind, reason = UNASSIGNED, "shared_sender_unresolved"
                detail = ", ".join(u.code for u in candidates)
            else:
                unit_code = chosen.code

    values, problems, readable, as_of, unit_text = _combine(parsed, infos, kind)
    return Analysis(
        sha256=sha, size=len(raw), parsed=parsed, kind=kind, unit_code=unit_code,
        reason=reason, reason_detail=detail, attachments=infos, values=values,
        problems=problems, readable=readable, as_of=as_of, unit_text=unit_text,
    )


def units_for_sender(address: str | None, units: tuple[UnitConfig, ...]) -> list[UnitConfig]:
    """Units that `address` may report for: exact addresses first, else `*@domain`."""
    if not address or "@" not in address:
        return []
    address = address.lower()
    exact = [u for u in units if address in u.senders]
    if exact:
        return exact
    domain = address.rsplit("@", 1)[1]
    return [u for u in units if f"*@{domain}" in u.senders]


def resolve_shared_sender(candidates: list[UnitConfig], parsed: ParsedMessage,
                          infos: tuple[AttachmentInfo, ...]) -> UnitConfig | None:
    """Which of several units sharing an address this message is for, or None.

    The "Đơn vị: ..." line inside the file is the most explicit, then the subject,
    then the file names; the first source that names exactly one unit decides.
    """
    sources = [
        [i.result.unit_text for i in infos if i.result.unit_text],
        [parsed.subject],
        [i.filename for i in infos],
    ]
    for texts in sources:
        hits = {u.code: u for u in candidates for t in texts if t and unit_named_in(u, t)}
        if len(hits) == 1:
            return next(iter(hits.values()))
    return None


def unit_named_in(unit: UnitConfig, text: str) -> bool:
    """Whether `text` names `unit` by its name, an alias or its code."""
    hay = _padded(text)
    hay_plain = _padded(strip_diacritics(text), plain=True)
    for key in _unit_keys(unit):
        if key and (f" {key} " in hay or f" {key} " in hay_plain):
            return True
    return False


@lru_cache(maxsize=4096)
def _unit_keys(unit: UnitConfig) -> tuple[str, ...]:
    keys = []
    for name in (unit.name, *unit.aliases):
        keys.append(_padded(name).strip())
        keys.append(_padded(strip_diacritics(name), plain=True).strip())
    keys.append(_padded(unit.code.replace("_", " ")).strip())
    return tuple(k for k in dict.fromkeys(keys) if len(k) >= 3)


def _padded(text: str, plain: bool = False) -> str:
    key = normalize_label(text)
    key = re.sub(r"[\W_]+", " ", key)
    return f" {key.strip()} "


def _read_attachments(parsed: ParsedMessage, form: FormSpec, report_day: dt.date):
    for att in parsed.attachments:
        result = read_attachment(att.filename, att.content_type, att.data, form, report_day)
        yield AttachmentInfo(
            filename=att.filename, content_type=att.content_type, size=len(att.data),
            sha256=hashlib.sha256(att.data).hexdigest(), result=result,
        )


def _combine(parsed: ParsedMessage, infos: tuple[AttachmentInfo, ...], kind: str):
    """Merge what the attachments gave: the first readable file wins a cell."""
    values: dict[str, dict[str, Decimal]] = {}
    problems: list[Problem] = list(parsed.problems)
    as_of = unit_text = None
    readable = False
    for info in infos:
        res = info.result
        if res.outcome == "read":
            readable = True
            for ind, row in res.values.items():
                target = values.setdefault(ind, {})
                for meas, val in row.items():
                    target.setdefault(meas, val)
            as_of = as_of or res.as_of
            unit_text = unit_text or res.unit_text
        # A PDF next to a readable workbook is the signed copy: evidence, not a problem.
        if res.outcome != "evidence" or not any(i.result.outcome == "read" for i in infos):
            problems.extend(res.problems)
        unit_text = unit_text or res.unit_text
    if kind == REPORT and not readable:
        if not parsed.attachments:
            problems.append(Problem("no_attachment", {}))
        elif not problems:
            problems.append(Problem("no_readable_attachment", {}))
    return values, tuple(dict.fromkeys(problems)), readable, as_of, unit_text
