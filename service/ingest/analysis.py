"""From raw bytes to everything the database needs to know about one message.

`analyse_message` is pure (no I/O, no clock) and picklable in and out, so the
pipeline can run it in worker processes while the main process fetches and stores.
It is also the last stop before the database: every text it returns is storable
(no NUL, no lone surrogate, within the column sizes) and every figure fits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from parsers.authresults import check_sender
from parsers.body import read_body
from parsers.message import parse_message
from parsers.model import AttachmentResult, FormSpec, ParsedMessage, Problem
from parsers.report import read_attachment
from parsers.text import clean_text
from parsers.vntext import normalize_label, strip_diacritics
from service.config import SecurityConfig, UnitConfig
from storage.kinds import AUTOMATIC, OWN_MAIL, REPORT, UNASSIGNED

# A figure at or above this (in đồng, or persons) is a typing or file error, never a
# report: a national budget is ~2e15 đồng. Kept below it, a figure quantized to 4
# decimals stays within Decimal's 28 digits and the 48-character column.
MAX_ABS_VALUE = Decimal(10) ** 18
# Column sizes of storage.models, for text that came from outside.
_MAX_SHEET_CHARS = 300
_MAX_FORMAT_CHARS = 20
_MAX_PARAM_CHARS = 1000
_MAX_DETAIL_CHARS = 1000


@dataclass(frozen=True)
class Routing:
    """The part of the config that decides what a message is (picklable: no secrets)."""

    units: tuple[UnitConfig, ...]
    form: FormSpec
    own_addresses: frozenset[str] = frozenset()
    security: SecurityConfig = field(default_factory=SecurityConfig)


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
    reason: str | None  # a reason code (templates/lang/*.toml [reasons]) for unassigned/automatic
    reason_detail: str | None
    attachments: tuple[AttachmentInfo, ...]
    values: dict[str, dict[str, Decimal]]
    problems: tuple[Problem, ...]
    readable: bool
    as_of: dt.date | None
    unit_text: str | None
    body: AttachmentResult | None = None  # figures stated in the email itself, when read
    figure_sources: dict[str, dict[str, str]] = field(default_factory=dict)


def analyse_message(raw: bytes, routing: Routing, report_day: dt.date) -> Analysis:
    """Parse the message, tie it to a unit, and read its attachments."""
    sha = hashlib.sha256(raw).hexdigest()
    parsed = parse_message(raw, routing.form.limits)
    candidates = units_for_sender(parsed.from_address, routing.units)
    infos: tuple[AttachmentInfo, ...] = ()
    body: AttachmentResult | None = None
    kind, unit_code, reason, detail = REPORT, None, None, None

    if parsed.from_address and parsed.from_address in routing.own_addresses:
        kind, reason = AUTOMATIC, OWN_MAIL
    elif parsed.automatic_reason:
        kind, reason, detail = AUTOMATIC, "automatic", parsed.automatic_reason
        unit_code = candidates[0].code if len(candidates) == 1 else None
    else:
        # Attachments are read for unknown senders too: the figures are kept as
        # evidence (never counted) and the "Đơn vị" line may name the unit.
        infos = tuple(_read_attachments(parsed, routing.form, report_day))
        if not any(i.result.outcome == "read" for i in infos):  # a spreadsheet beats the body
            body = read_body(parsed, routing.form, report_day)
            body = storable_result(body, routing.form) if body is not None else None
        verdict = (
            check_sender(parsed, routing.security.authserv_ids)
            if candidates and routing.security.require_authentication
            else None
        )
        if not parsed.from_address:
            kind, reason = UNASSIGNED, "no_sender_address"
        elif not candidates:
            kind, reason, detail = UNASSIGNED, "unknown_sender", parsed.from_address
        elif verdict is not None and not verdict.verified:
            # Anyone can write a unit's address in From; without the receiving
            # server's word for it, the figures must not count for that unit.
            kind, reason, detail = UNASSIGNED, verdict.reason, verdict.detail
        elif len(candidates) == 1:
            unit_code = candidates[0].code
        else:
            chosen = resolve_shared_sender(candidates, parsed, infos, body)
            if chosen is None:
                kind, reason = UNASSIGNED, "shared_sender_unresolved"
                detail = ", ".join(u.code for u in candidates)
            else:
                unit_code = chosen.code

    figure_sources: dict[str, dict[str, str]] = {}
    values, problems, readable, as_of, unit_text = _combine(parsed, infos, kind, body, figure_sources)
    return Analysis(
        sha256=sha,
        size=len(raw),
        parsed=parsed,
        kind=kind,
        unit_code=unit_code,
        reason=reason,
        reason_detail=_storable_text(detail, _MAX_DETAIL_CHARS) if detail else detail,
        attachments=infos,
        values=values,
        problems=problems,
        readable=readable,
        as_of=as_of,
        unit_text=_storable_text(unit_text, _MAX_DETAIL_CHARS) if unit_text else unit_text,
        body=body,
        figure_sources=figure_sources,
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


def resolve_shared_sender(
    candidates: list[UnitConfig],
    parsed: ParsedMessage,
    infos: tuple[AttachmentInfo, ...],
    body: AttachmentResult | None = None,
) -> UnitConfig | None:
    """Which of several units sharing an address this message is for, or None.

    The "Đơn vị: ..." line inside the file (or the body's table) is the most explicit,
    then the subject, then the file names; the first source that names exactly one
    unit decides.
    """
    sources = [
        [r.unit_text for r in (*(i.result for i in infos), body) if r is not None and r.unit_text],
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


def _read_attachments(parsed: ParsedMessage, form: FormSpec, report_day: dt.date) -> Iterator[AttachmentInfo]:
    for att in parsed.attachments:
        result = storable_result(read_attachment(att.filename, att.content_type, att.data, form, report_day), form)
        yield AttachmentInfo(
            filename=att.filename,
            content_type=att.content_type,
            size=len(att.data),
            sha256=hashlib.sha256(att.data).hexdigest(),
            result=result,
        )


_RECOGNISED = frozenset({"scan", "photo"})


def _combine(
    parsed: ParsedMessage,
    infos: tuple[AttachmentInfo, ...],
    kind: str,
    body: AttachmentResult | None = None,
    sources: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, dict[str, Decimal]], tuple[Problem, ...], bool, dt.date | None, str | None]:
    """Merge what the attachments gave: the first readable file wins a cell; with no
    readable file, the figures the body states count (its problems when it has none)."""
    values: dict[str, dict[str, Decimal]] = {}
    problems: list[Problem] = list(parsed.problems)
    as_of = unit_text = None
    readable = False
    results = [i.result for i in infos]
    if body is not None and not any(r.outcome == "read" for r in results):
        results.insert(0, body)
    # A scan or photo next to a readable file (the .xlsx and its stamped scan) is the
    # paper copy: evidence, its recognised figures and their flags not taken.
    has_file = any(r.outcome == "read" and r.source not in _RECOGNISED for r in results)
    for res in results:
        if has_file and res.source in _RECOGNISED:
            continue
        if res.outcome == "read":
            readable = True
            for ind, row in res.values.items():
                target = values.setdefault(ind, {})
                for meas, val in row.items():
                    if sources is not None and meas not in target:  # where each figure was read
                        sources.setdefault(ind, {})[meas] = res.source
                    target.setdefault(meas, val)
            as_of = as_of or res.as_of
            unit_text = unit_text or res.unit_text
        # A PDF next to a readable workbook is the signed copy: evidence, not a problem.
        if res.outcome != "evidence" or not any(r.outcome == "read" for r in results):
            problems.extend(res.problems)
        unit_text = unit_text or res.unit_text
    if kind == REPORT and not readable:
        if not parsed.attachments and not parsed.problems:  # (a part left out is named already)
            problems.append(Problem("no_attachment", {}))
        elif not problems:
            problems.append(Problem("no_readable_attachment", {}))
    return values, tuple(dict.fromkeys(problems)), readable, as_of, unit_text


# -- storable -------------------------------------------------------------------------------


def storable_result(result: AttachmentResult, form: FormSpec) -> AttachmentResult:
    """`result` with texts a database column takes and figures that fit one.

    The readers keep what a file says; a cell, sheet name or "Đơn vị" line of a
    hostile file can hold NUL (which PostgreSQL refuses), undecodable bytes or a
    megabyte of text, and a cell can hold 1e300, which no Decimal column stores.
    Refusing such a message at commit time would stop every later message behind it.
    """
    labels = {i.code: i.label for i in form.indicators}
    mlabels = {m.code: m.label for m in form.measures}
    values: dict[str, dict[str, Decimal]] = {}
    problems = [_storable_problem(p) for p in result.problems]
    for ind, row in result.values.items():
        for meas, value in row.items():
            if not isinstance(value, Decimal):
                value = Decimal(str(value))
            if value.is_finite() and abs(value) < MAX_ABS_VALUE:
                values.setdefault(ind, {})[meas] = value
            else:
                problems.append(
                    Problem(
                        "value_out_of_range",
                        {
                            "file": result.filename,
                            "indicator": labels.get(ind, ind),
                            "measure": mlabels.get(meas, meas),
                            "text": _storable_text(str(value), 40),
                        },
                    )
                )
    return dataclasses.replace(
        result,
        detected_format=_storable_text(result.detected_format, _MAX_FORMAT_CHARS) or "unknown",
        values=values,
        problems=tuple(problems),
        unit_text=_storable_text(result.unit_text, _MAX_DETAIL_CHARS) if result.unit_text else result.unit_text,
        sheet=_storable_text(result.sheet, _MAX_SHEET_CHARS) if result.sheet else result.sheet,
        sheet_reason=_storable_text(result.sheet_reason, 40) if result.sheet_reason else result.sheet_reason,
    )


def _storable_problem(problem: Problem) -> Problem:
    params: Mapping[str, object] = problem.params or {}
    return Problem(
        _storable_text(problem.code, 60),
        {
            _storable_text(str(k), 60): _storable_text("" if v is None else str(v), _MAX_PARAM_CHARS)
            for k, v in params.items()
        },
    )


def _storable_text(text: str, max_chars: int) -> str:
    """One line of text without NUL, controls or lone surrogates, at most `max_chars`."""
    return clean_text(str(text), max_chars)
