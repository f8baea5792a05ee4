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
from functools import cached_property, lru_cache

from parsers.model import AttachmentResult, FormSpec, ParsedMessage, Problem
from parsers.text import clean_text
from parsers.vntext import normalize_label, strip_diacritics
from service.config import SecurityConfig, UnitConfig
from service.config.objects import ReportConfig
from service.day.dayview import grouped
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
    # [[reports]] (issue 15); empty for a config without them (one report, `form`). With
    # them, `form` is their union (choice.union_form) and each document is filed under one.
    reports: tuple[ReportConfig, ...] = ()


@dataclass(frozen=True)
class ReportReading:
    """What one message says for one of several [[reports]]: the figures of its documents."""

    code: str
    values: dict[str, dict[str, Decimal]]
    sources: dict[str, dict[str, str]]
    readable: bool


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
    # The kind of source of each figure of `values` (AttachmentResult.source: "spreadsheet",
    # "text_pdf", "scan", "photo", "body_text", "body_html", "file").
    figure_sources: dict[str, dict[str, str]] = field(default_factory=dict)
    # The files whose recognition (a scan or photo) was left for later (`recognise=False`):
    # until then the message holds everything else, and a `recognition_pending` problem.
    pending: tuple[str, ...] = ()
    # With [[reports]]: the figures per report the message carries (`values` is their
    # merge); a document filed under none is a problem and counts for nothing.
    readings: tuple[ReportReading, ...] = ()

    @cached_property
    def identity(self) -> str | None:
        """`identity_of` the message (computed once; a worker sends it with the analysis)."""
        return identity_of(self.parsed)


def identity_of(parsed: ParsedMessage) -> str | None:
    """SHA-256 naming one message however often it was delivered: its Message-ID, sender
    and content together (PRODUCT.md: "the same message seen twice"). None when one of
    them is missing: then only the bytes tell a copy."""
    if not (parsed.message_id and parsed.from_address and parsed.content_sha256):
        return None
    key = "\n".join((parsed.message_id, parsed.from_address, parsed.content_sha256))
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def analyse_message(raw: bytes, routing: Routing, report_day: dt.date, recognise: bool = True) -> Analysis:
    """Parse the message, tie it to a unit, and read its attachments.

    With `recognise` False a scan or photo is not recognised (seconds, not milliseconds):
    it is named in `pending` and left for a second, full reading of the message."""
    # The parsers (mail-parser, the readers) are imported by the first message analysed:
    # a command or a poll with nothing new never pays for them.
    from parsers.message import parse_message

    parsed = parse_message(raw, routing.form.limits)
    return analyse_parsed(parsed, hashlib.sha256(raw).hexdigest(), len(raw), routing, report_day, recognise)


def analyse_parsed(
    parsed: ParsedMessage,
    sha: str,
    size: int,
    routing: Routing,
    report_day: dt.date,
    recognise: bool = True,
    read: tuple[AttachmentInfo, ...] = (),
) -> Analysis:
    """`analyse_message` of the message whose bytes (SHA-256 `sha`, `size` bytes) parsed
    into `parsed` (`parse_message` with `routing.form.limits`): the recognition of a
    message read once without it needs only its parsed attachments, not a second parse.

    `read` is that first reading's attachments (the same `routing` and `report_day`): a
    file it read (not left `pending`) is not read again."""
    from parsers.authresults import check_sender
    from parsers.body import read_body

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
        infos = tuple(_read_attachments(parsed, routing.form, report_day, recognise, read))
        # A spreadsheet beats the body; so may a scan still to be recognised.
        if not any(i.result.outcome in ("read", "pending") for i in infos):
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
        others = _forwarded_from_others(parsed, routing.units, unit_code)
        if others:
            # A unit forwarding another unit's mail (its files re-attached): they are that
            # unit's report, not the sender's; neither may count it without a person.
            kind, unit_code, reason, detail = UNASSIGNED, None, "forwarded_other_unit", others

    combined = _combine(parsed, infos, kind, body, routing.form)
    readings: tuple[ReportReading, ...] = ()
    if routing.reports and kind == REPORT:
        combined, readings = _by_report(parsed, infos, body, routing, unit_code, report_day)
    return Analysis(
        sha256=sha,
        size=size,
        parsed=parsed,
        kind=kind,
        unit_code=unit_code,
        reason=reason,
        reason_detail=_storable_text(detail, _MAX_DETAIL_CHARS) if detail else detail,
        attachments=infos,
        values=combined.values,
        problems=combined.problems,
        readable=combined.readable,
        as_of=combined.as_of,
        unit_text=_storable_text(combined.unit_text, _MAX_DETAIL_CHARS) if combined.unit_text else None,
        body=body,
        figure_sources=combined.sources,
        pending=tuple(i.filename for i in infos if i.result.outcome == "pending"),
        readings=readings,
    )


def _by_report(
    parsed: ParsedMessage,
    infos: tuple[AttachmentInfo, ...],
    body: AttachmentResult | None,
    routing: Routing,
    unit_code: str | None,
    report_day: dt.date,
) -> tuple[Combined, tuple[ReportReading, ...]]:
    """The message's documents filed under the reports they carry, and each report's figures.

    Each readable document (or the email's own figures) is filed by `choose_report`; the
    other files of the message (a signed PDF copy, an unreadable file) go with the one
    report its readable documents carry, else by the subject or the only report due.
    """
    from service.ingest.choice import choose_report

    by_code = {r.code: r for r in routing.reports}
    groups: dict[str, list[AttachmentInfo]] = {}
    problems: list[Problem] = []
    rest: list[AttachmentInfo] = []
    for info in infos:
        if info.result.outcome != "read":
            rest.append(info)
            continue
        found = choose_report(
            routing.reports,
            unit_code,
            report_day,
            filename=info.filename,
            values=info.result.values,
            sheet=info.result.sheet,
            subject=parsed.subject,
            rows=info.result.rows,
            columns=info.result.columns,
        )
        if found.code is not None:
            groups.setdefault(found.code, []).append(info)
            for other, code in _other_sheets(parsed, info, found.code, routing, unit_code, report_day):
                groups.setdefault(code, []).append(other)
        elif found.problem is not None:
            problems.append(_storable_problem(found.problem))
    body_code = None
    if body is not None:
        found = choose_report(
            routing.reports,
            unit_code,
            report_day,
            filename=body.filename,
            values=body.values,
            sheet=None,
            subject=parsed.subject,
            rows=body.rows,
            columns=body.columns,
        )
        body_code = found.code
        if found.code is None and found.problem is not None and body.outcome == "read":
            problems.append(_storable_problem(found.problem))
    if rest or (not groups and body_code is None and not problems):
        if len(groups) == 1:
            home: str | None = next(iter(groups))
        else:
            found = choose_report(
                routing.reports, unit_code, report_day, filename="", values={}, sheet=None, subject=parsed.subject
            )
            home = found.code
        if home is not None:
            groups.setdefault(home, []).extend(rest)
            body_code = body_code or (home if body is not None else None)
    readings = []
    merged_values: dict[str, dict[str, Decimal]] = {}
    merged_sources: dict[str, dict[str, str]] = {}
    as_of = unit_text = None
    for code in [*groups, *([body_code] if body_code and body_code not in groups else [])]:
        report = by_code[code]
        part = _combine(parsed, tuple(groups.get(code, ())), REPORT, body if body_code == code else None, report.form)
        cells = {(i.code, m.code) for i in report.form.indicators for m in report.form.measures}
        values = {
            ind: kept
            for ind, row in part.values.items()
            if (kept := {meas: val for meas, val in row.items() if (ind, meas) in cells})
        }
        sources = {ind: {m: part.sources[ind][m] for m in row} for ind, row in values.items()}
        readings.append(ReportReading(code, values, sources, part.readable and bool(values)))
        problems.extend(part.problems)
        for ind, row in values.items():
            for meas, val in row.items():
                merged_values.setdefault(ind, {}).setdefault(meas, val)
                merged_sources.setdefault(ind, {}).setdefault(meas, sources[ind][meas])
        as_of, unit_text = as_of or part.as_of, unit_text or part.unit_text
    readable = any(r.readable for r in readings)
    if not readable and not problems:
        problems.append(Problem("no_readable_attachment", {}))
    combined = Combined(merged_values, merged_sources, tuple(dict.fromkeys(problems)), readable, as_of, unit_text)
    return combined, tuple(readings)


def _other_sheets(
    parsed: ParsedMessage,
    info: AttachmentInfo,
    filed: str,
    routing: Routing,
    unit_code: str | None,
    report_day: dt.date,
) -> Iterator[tuple[AttachmentInfo, str]]:
    """The other reports a workbook filed under `filed` carries on its other sheets (a
    daily sheet and a monthly sheet in one file): each of the unit's other reports whose
    form a table of another sheet matches, decided by that table (its sheet's report code,
    or its rows and columns, holding some cell `filed`'s form has not, then the subject) as
    for a file."""
    from parsers.report import WORKBOOK_FORMATS, other_sheets, report_from_grid
    from service.ingest.choice import choose_report

    fmt = info.result.detected_format
    if info.result.source != "spreadsheet" or fmt not in WORKBOOK_FORMATS or info.result.sheet_reason == "only":
        return  # ("only": no other sheet holds a table of any report's rows and columns)
    data = next((a.data for a in parsed.attachments if hashlib.sha256(a.data).hexdigest() == info.sha256), None)
    grid = other_sheets(info.filename, fmt, data, routing.form.limits, info.result.sheet) if data else None
    if grid is None:
        return
    by_code = {r.code: r for r in routing.reports}
    primary = {(i.code, m.code) for i in by_code[filed].form.indicators for m in by_code[filed].form.measures}
    done = {filed}
    for report in routing.reports:
        if report.code in done or (unit_code is not None and unit_code not in report.units):
            continue
        result = report_from_grid(grid, info.filename, fmt, report.form, report_day, source="spreadsheet")
        if result.outcome != "read" or not result.values:
            continue
        found = choose_report(
            routing.reports,
            unit_code,
            report_day,
            filename=info.filename,
            values=result.values,
            sheet=result.sheet,
            subject=parsed.subject,
            rows=result.rows,
            columns=result.columns,
        )
        cells = {(i, m) for i in result.rows for m in result.columns}
        if found.code != report.code or not (found.how == "sheet" or cells - primary):
            continue  # (a table another report fits better is taken when that report's turn comes)
        done.add(report.code)
        yield dataclasses.replace(info, result=storable_result(result, report.form)), report.code


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


def _forwarded_from_others(parsed: ParsedMessage, units: tuple[UnitConfig, ...], unit_code: str | None) -> str:
    """The codes of the other units whose messages this one forwards, attached whole
    (`ParsedMessage.embedded_from`) or inline (`forwarded_from`), "" when none."""
    from parsers.body.history import forwarded_from

    if unit_code is None:
        return ""
    others: dict[str, None] = {}
    for address in (*parsed.embedded_from, *forwarded_from(parsed.body_text, parsed.subject)):
        owners = [u.code for u in units_for_sender(address, units)]
        if owners and unit_code not in owners:
            others.update(dict.fromkeys(owners))
    return ", ".join(others)


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


def _read_attachments(
    parsed: ParsedMessage,
    form: FormSpec,
    report_day: dt.date,
    recognise: bool = True,
    read: tuple[AttachmentInfo, ...] = (),
) -> Iterator[AttachmentInfo]:
    from parsers.report import needs_recognition, read_attachment, sniff_attachment

    # A first reading of these attachments (without recognition): each of its files in
    # place, the same reading as `read_attachment` would give now (only a scan or photo
    # left pending is read here).
    first = read if len(read) == len(parsed.attachments) else ()
    for index, att in enumerate(parsed.attachments):
        sha = hashlib.sha256(att.data).hexdigest()
        done = first[index] if first else None
        if (
            done is not None
            and done.result.outcome != "pending"
            and (done.sha256, done.filename, done.content_type) == (sha, att.filename, att.content_type)
        ):
            yield done
            continue
        sniffed = sniff_attachment(att.filename, att.content_type, att.data)  # told once, for both
        fmt = None if recognise else needs_recognition(att.filename, att.content_type, att.data, form, sniffed)
        if fmt is not None:
            result = pending_result(att.filename, fmt)
        else:
            key = (sha, att.filename, att.content_type, report_day, form)
            known = _recognised.get(key)
            if known is None:
                known = read_attachment(att.filename, att.content_type, att.data, form, report_day, fmt=sniffed)
                _remember_recognised(key, known)
            result = known
        result = storable_result(result, form)
        yield AttachmentInfo(
            filename=att.filename,
            content_type=att.content_type,
            size=len(att.data),
            sha256=sha,
            result=result,
        )


# The readings of recognised files (a scan or photo: seconds each, against milliseconds
# for a spreadsheet) by content, name, type, day and form: a file that comes again (a
# unit re-sending its report, one report sent to two addresses, a forwarded copy) is
# recognised once in this process. `read_attachment` is a function of exactly these
# (and the clock, for the time limit: a reading cut short is not kept). All the
# recognition of a poll runs in one worker process (service/ingest/workers.py), so that
# process sees every copy. A reading is figures and problems: a few KiB at most.
_RECOGNISED_MAX = 128
_recognised: dict[tuple[str, str, str, dt.date, FormSpec], AttachmentResult] = {}


def _remember_recognised(key: tuple[str, str, str, dt.date, FormSpec], result: AttachmentResult) -> None:
    if result.source not in ("scan", "photo"):  # (a reader's crash has none: tried again)
        return
    if any(p.code == "over_limit" and (p.params or {}).get("limit") == "seconds" for p in result.problems):
        return
    if len(_recognised) >= _RECOGNISED_MAX:
        del _recognised[next(iter(_recognised))]  # the oldest
    _recognised[key] = result


def pending_result(filename: str, fmt: str) -> AttachmentResult:
    """A scan or photo not recognised yet: no figure, and the problem saying so."""
    return AttachmentResult(
        filename=filename,
        detected_format=fmt,
        outcome="pending",
        problems=(Problem("recognition_pending", {"file": filename}),),
        source="photo" if fmt == "image" else "scan",
    )


# The better source counts for a figure, when several documents of one message give it:
# a spreadsheet (xlsx, xls, csv, ods, html saved from Excel, docx tables) over a text PDF
# over a scan or photo. The email body counts only when no attachment is readable.
_SOURCE_RANK = {"spreadsheet": 0, "file": 0, "text_pdf": 1, "scan": 2, "photo": 2}
_RECOGNISED_RANK = 2


def source_rank(source: str) -> int:
    """0 for the best kind of source; a kind not listed ranks below a scan."""
    return _SOURCE_RANK.get(source, _RECOGNISED_RANK + 1)


@dataclass(frozen=True)
class Combined:
    values: dict[str, dict[str, Decimal]]
    sources: dict[str, dict[str, str]]
    problems: tuple[Problem, ...]
    readable: bool
    as_of: dt.date | None
    unit_text: str | None


def _combine(
    parsed: ParsedMessage,
    infos: tuple[AttachmentInfo, ...],
    kind: str,
    body: AttachmentResult | None = None,
    form: FormSpec | None = None,
) -> Combined:
    """Merge what the attachments gave: each figure from the best kind of source that
    gives it (the first such file within a kind); with no readable file, the figures the
    body states count (its problems when it has none).

    A worse source that gives the same figure adds nothing (nor its flags on that
    figure); one that gives another figure yields `documents_disagree` naming both files.
    """
    values: dict[str, dict[str, Decimal]] = {}
    sources: dict[str, dict[str, str]] = {}
    owners: dict[tuple[str, str], AttachmentResult] = {}
    problems: list[Problem] = list(parsed.problems)
    as_of = unit_text = None
    results = [i.result for i in infos]
    any_read = any(r.outcome == "read" for r in results)
    if body is not None and not any_read:
        results.insert(0, body)
    best = min((source_rank(r.source) for r in results if r.outcome == "read"), default=None)
    readable = best is not None
    ordered = sorted(results, key=lambda r: source_rank(r.source) if r.outcome == "read" else _RECOGNISED_RANK + 2)
    for res in ordered:
        rank = source_rank(res.source)
        if res.outcome != "read":
            # A PDF next to a readable workbook is the signed copy, and an unreadable scan
            # or photo next to a readable file the paper copy: evidence, not a problem.
            # One still to be recognised is always said (its figures may yet count).
            if not any_read or res.outcome == "pending" or (res.outcome != "evidence" and rank < _RECOGNISED_RANK):
                problems.extend(res.problems)
            unit_text = unit_text or res.unit_text
            continue
        # figures a better kind of source already gave: theirs count, these are compared
        settled = {
            (ind, meas)
            for (ind, meas), owner in owners.items()
            if source_rank(owner.source) < rank and res.values.get(ind, {}).get(meas) is not None
        }
        for ind, row in res.values.items():
            for meas, val in row.items():
                owner = owners.get((ind, meas))
                if owner is None:
                    values.setdefault(ind, {})[meas] = val
                    sources.setdefault(ind, {})[meas] = res.source
                    owners[(ind, meas)] = res
                elif (ind, meas) in settled and values[ind][meas] != val:
                    found = _disagreement(owner, res, ind, meas, values[ind][meas], val, form)
                    problems.append(_storable_problem(found))  # (file names from outside)
        if best is not None and rank > best:
            # a copy next to a better document: only what it adds (its figures' flags;
            # its file-level problems when it adds any figure) is the unit's concern
            mine = {key for key, owner in owners.items() if owner is res}
            problems.extend(p for p in res.problems if _adds(p, mine))
        else:
            problems.extend(res.problems)
        as_of = as_of or res.as_of
        unit_text = unit_text or res.unit_text
    if kind == REPORT and not readable:
        if not parsed.attachments and not parsed.problems:  # (a part left out is named already)
            problems.append(Problem("no_attachment", {}))
        elif not problems:
            problems.append(Problem("no_readable_attachment", {}))
    return Combined(values, sources, tuple(dict.fromkeys(problems)), readable, as_of, unit_text)


def _adds(problem: Problem, figures: set[tuple[str, str]]) -> bool:
    """Whether `problem` of a copy concerns what it adds: one of `figures` it gives, or
    the file itself when it gives any."""
    figure = _figure_of(problem)
    return figure in figures if figure is not None else bool(figures)


def _figure_of(problem: Problem) -> tuple[str, str] | None:
    params = problem.params or {}
    ind, meas = params.get("indicator_code"), params.get("measure_code")
    return (str(ind), str(meas)) if ind and meas else None


def _disagreement(
    better: AttachmentResult,
    other: AttachmentResult,
    ind: str,
    meas: str,
    value: Decimal,
    other_value: Decimal,
    form: FormSpec | None,
) -> Problem:
    """`documents_disagree`: two documents of one message give one figure differently."""
    ind_label = next((i.label for i in form.indicators if i.code == ind), ind) if form else ind
    spec = next((m for m in form.measures if m.code == meas), None) if form else None
    unit = " đồng" if spec is not None and spec.kind == "money" else ""
    return Problem(
        "documents_disagree",
        {
            "file": better.filename,
            "other_file": other.filename,
            "indicator": ind_label,
            "measure": spec.label if spec is not None else meas,
            "indicator_code": ind,
            "measure_code": meas,
            "value": grouped(value) + unit,
            "other_value": grouped(other_value) + unit,
            "source": better.source,
            "other_source": other.source,
        },
    )


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
