"""Which report a document carries, when one mailbox receives several (issue 15), pure.

Decided from the document first: the generated form's report code in its sheet name
("Báo cáo (tuan)"), else the report whose form its table matches best (the table's rows and
columns, or its figures when the reader gave no table: most cells of the report's form,
then fewest of the form's cells the table lacks); then the subject's keywords;
then the only report the unit must send that is due that day. A document that matches
none of the unit's reports, or two equally, gets no report: its problem says why, and
its figures count for nothing rather than for the wrong report. Its message is shown
(storage.reports.could_be) under the reports it was tied between, or, matching none,
under any the unit must send in a period containing its day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from parsers.model import FormSpec, Problem
from parsers.vntext import normalize_label, strip_diacritics
from service.config.objects import ReportConfig

Values = Mapping[str, Mapping[str, Decimal]]
_CODE_IN_SHEET = re.compile(r"\(([a-z0-9_]+)\)")  # "Báo cáo (tuan)": Excel allows no [ ] in a sheet name


@dataclass(frozen=True)
class Choice:
    """The report a document carries (`code`), or None and the `problem` saying why."""

    code: str | None
    how: str  # sheet | figures | subject | due | none | tie
    problem: Problem | None = None


def union_form(reports: Sequence[ReportConfig], limits_from: FormSpec) -> FormSpec:
    """One form with every report's rows, columns and checks: a document is read once
    against it, and its figures then tell which report it is."""
    indicators = {i.code: i for r in reports for i in r.form.indicators}
    measures = {m.code: m for r in reports for m in r.form.measures}
    checks = {c: None for r in reports for c in r.form.checks}
    return FormSpec(
        measures=tuple(measures.values()),
        indicators=tuple(indicators.values()),
        checks=tuple(checks),
        limits=limits_from.limits,
    )


def due_on(report: ReportConfig, day: dt.date) -> bool:
    """Whether `report` may be sent on `day`: every period is open but a one-off's, which opens at its start."""
    return report.period != "once" or report.start_date is None or report.start_date <= day


def choose_report(
    reports: Sequence[ReportConfig],
    unit_code: str | None,
    day: dt.date,
    *,
    filename: str,
    values: Values,
    sheet: str | None,
    subject: str,
    rows: Sequence[str] = (),
    columns: Sequence[str] = (),
) -> Choice:
    """The report of one document (an attachment, or the email's own figures) among `reports`."""
    mine = [r for r in reports if unit_code is None or unit_code in r.units] or list(reports)
    codes = {r.code: r for r in mine}
    for code in _CODE_IN_SHEET.findall(sheet or ""):
        if code in codes:
            return Choice(code, "sheet")
    cells = {(ind, meas) for ind in rows for meas in columns} or {
        (ind, meas) for ind, row in values.items() for meas in row
    }
    if cells:
        scored = sorted(((_fit(r.form, cells), r.code) for r in mine), reverse=True)
        best = scored[0][0]
        if best[0] == 0:
            return Choice(None, "none", Problem("report_unmatched", {"file": filename, "reports": _names(mine)}))
        tied = [code for score, code in scored if score == best]
        if len(tied) == 1:
            return Choice(tied[0], "figures")
        mine = [codes[c] for c in tied]
    by_subject = [r for r in mine if _names_report(subject, r)]
    if len(by_subject) == 1:
        return Choice(by_subject[0].code, "subject")
    due = [r for r in mine if due_on(r, day)]
    if len(due) == 1:
        return Choice(due[0].code, "due")
    # the codes beside the names: the reports it stands under (storage.reports.could_be)
    params = {"file": filename, "reports": _names(mine), "report_codes": " ".join(r.code for r in mine)}
    return Choice(None, "tie", Problem("report_undetermined", params))


def _fit(form: FormSpec, cells: set[tuple[str, str]]) -> tuple[int, int]:
    """How well a table of `cells` matches `form`: the form's cells it has, then (negated)
    the form's cells it lacks."""
    indicators = {i.code for i in form.indicators}
    measures = {m.code for m in form.measures}
    inside = sum(1 for ind, meas in cells if ind in indicators and meas in measures)
    return inside, inside - len(indicators) * len(measures)


def _names_report(subject: str, report: ReportConfig) -> bool:
    hay = _key(subject)
    return any(f" {_key(word).strip()} " in hay for word in report.subject_keywords if _key(word).strip())


def _key(text: str) -> str:
    plain = strip_diacritics(normalize_label(text))
    return " " + re.sub(r"[\W_]+", " ", plain).strip() + " "


def _names(reports: Iterable[ReportConfig]) -> str:
    return ", ".join(f"{r.title} ({r.code})" for r in reports)
