"""Every attachment of the public sample scenario reads to the expected figures."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from parsers.report import read_attachment
from tests.conftest import SAMPLES, shared_samples
from tests.unit.builders import SampleAttachment, sample_attachments, sample_form

# Attachments of messages that are no unit's report (an unknown sender, a bounce): what
# reading them gives, as known values.
NOT_A_UNITS_REPORT = {
    ("2021-08-11", "14-unknown-cho-don"): "read",
    ("2021-08-12", "15-bounce"): "evidence",
}


def _expected_by_message() -> dict[tuple[str, str], dict]:
    out = {}
    for path in sorted((shared_samples() / "expected").glob("*.json")):
        day = json.loads(path.read_text("utf-8"))
        for code, unit in day["units"].items():
            for msg in unit.get("messages", ()):
                out[(path.stem, msg.rsplit("/", 1)[-1].removesuffix(".eml"))] = dict(unit, code=code)
    return out


def _attachments() -> tuple[SampleAttachment, ...]:
    # Collected before any fixture: without ../shared the list is empty, which pytest
    # reports as a skip (a failure under CI=true); test_the_scenario_is_all_there says why.
    return sample_attachments() if SAMPLES.is_dir() else ()


@pytest.fixture(scope="module")
def expected() -> dict[tuple[str, str], dict]:
    return _expected_by_message()


def test_the_scenario_is_all_there(expected: dict) -> None:
    """The parametrised test below runs on every attachment of every expected report."""
    atts = _attachments()
    assert len(atts) == 43
    with_files = {(a.day, a.message) for a in atts}
    reports = {k for k, unit in expected.items() if unit["status"] in ("on_time", "late")}
    assert len(reports) == 39 and reports <= with_files
    assert set(NOT_A_UNITS_REPORT) <= with_files - set(expected)


@pytest.mark.parametrize("att", _attachments(), ids=lambda a: f"{a.day}/{a.message}/{a.filename[-5:]}")
def test_sample_attachment(att: SampleAttachment, expected: dict) -> None:
    form = sample_form()
    result = read_attachment(att.filename, att.content_type, att.data, form, dt.date.fromisoformat(att.day))
    unit = expected.get((att.day, att.message))
    if att.filename.lower().endswith(".pdf"):
        # a scanned PDF is recognised (parsers.ocr); one that is no report takes no figure
        if unit is not None and unit["status"] == "unreadable":
            assert result.outcome == "unreadable"
            assert not result.values
        else:
            assert result.outcome in ("evidence", "read", "unreadable")
        return
    if unit is None:
        assert result.outcome == NOT_A_UNITS_REPORT[(att.day, att.message)]
        return
    assert unit["status"] in ("on_time", "late"), unit  # the one unreadable attachment is a PDF scan
    assert result.outcome == "read", result.problems
    want = {ind: {m: Decimal(str(v)) for m, v in row.items()} for ind, row in unit["values"].items()}
    got = {ind: dict(row) for ind, row in result.values.items()}
    if att.message.endswith("-first"):  # superseded the same day by a correction with other figures
        assert got and got != want
    else:
        assert got == want
    if "as_of" in unit:
        assert result.as_of == dt.date.fromisoformat(unit["as_of"])
    if unit.get("clean") or not unit["expect_problem"]:
        assert result.problems == ()


def test_day_sheet_is_chosen_by_name_even_when_another_is_active() -> None:
    by_msg = {(a.day, a.message): a for a in _attachments()}
    att = by_msg[("2021-08-12", "08-pck")]
    result = read_attachment(att.filename, att.content_type, att.data, sample_form(), dt.date(2021, 8, 12))
    assert (result.sheet, result.sheet_reason) == ("12.8", "day_name")


def test_words_in_a_figure_cell_of_a_sample_are_named() -> None:
    by_msg = {(a.day, a.message): a for a in _attachments()}
    att = by_msg[("2021-08-11", "10-huyen-tung")]
    result = read_attachment(att.filename, att.content_type, att.data, sample_form(), dt.date(2021, 8, 11))
    [problem] = result.problems
    assert (problem.code, problem.params["text"]) == ("not_a_number", "ba trăm")


def test_failed_check_in_a_sample_is_named() -> None:
    by_msg = {(a.day, a.message): a for a in _attachments()}
    att = by_msg[("2021-08-13", "11-huyen-tung")]
    result = read_attachment(att.filename, att.content_type, att.data, sample_form(), dt.date(2021, 8, 13))
    assert [p.code for p in result.problems] == ["check_failed"]
    assert result.problems[0].params["indicator"] == "Hỗ trợ hộ kinh doanh"
