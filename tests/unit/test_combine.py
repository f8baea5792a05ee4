"""Several documents in one message: per figure the better source counts (a spreadsheet
over a text PDF over a scan or photo); two documents that disagree on a figure name both
files (`documents_disagree`); a copy that agrees adds nothing, nor its flags."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
from decimal import Decimal
from email import policy
from pathlib import Path

import pytest

from parsers.model import AttachmentResult, FormSpec, ParsedMessage, Problem
from parsers.report import read_attachment
from service.config import Config, load_config
from service.ingest.analysis import AttachmentInfo, _combine, analyse_message
from service.ingest.pipeline import routing_for
from service.outputs.i18n import Texts
from storage.kinds import REPORT
from tests.conftest import shared_samples
from tests.mailbuilders import XLSX, email_bytes, report_workbook

# k11 control: the .xlsx and a 200 dpi scan of its printed, stamped copy (same figures)
MESSAGE = ("2021-08-17", "10-xuat-hoa-xlsx-scan.eml")
DAY = dt.date(2021, 8, 17)
NO_MESSAGE = ParsedMessage(None, None, None, "", None, None, (), "")


@pytest.fixture(scope="module")
def samples() -> Path:
    return shared_samples("samples-documents")


@pytest.fixture(scope="module")
def cfg(samples: Path) -> Config:
    return load_config(samples / "config.toml", require_secrets=False)


@pytest.fixture(scope="module")
def parts(samples: Path) -> dict[str, bytes]:
    day, name = MESSAGE
    msg = email.message_from_bytes((samples / "emails" / day / name).read_bytes(), policy=policy.default)
    out = {}
    for att in msg.iter_attachments():
        data = att.get_content()
        assert isinstance(data, bytes)
        out[str(att.get_filename())] = data
    return out


@pytest.fixture(scope="module")
def scan(parts: dict[str, bytes], cfg: Config) -> AttachmentResult:
    """The sample scan, recognised once (recognition takes seconds)."""
    name = next(n for n in parts if n.endswith(".pdf"))
    result = read_attachment(name, "application/pdf", parts[name], cfg.form, DAY)
    assert result.source == "scan" and result.outcome == "read" and result.values
    return result


@pytest.fixture(scope="module")
def sheet(parts: dict[str, bytes], cfg: Config) -> AttachmentResult:
    name = next(n for n in parts if n.endswith(".xlsx"))
    result = read_attachment(name, XLSX, parts[name], cfg.form, DAY)
    assert result.source == "spreadsheet" and result.outcome == "read"
    return result


def built_book(values: dict[str, dict[str, Decimal]], form: FormSpec) -> bytes:
    """A workbook stating `values` under the form's labels (money in đồng)."""
    labels = {m.code: m.label + (" (đồng)" if m.kind == "money" else "") for m in form.measures}
    rows = {
        next(i.label for i in form.indicators if i.code == ind): {labels[m]: int(v) for m, v in row.items()}
        for ind, row in values.items()
    }
    return report_workbook(rows, measures=tuple(labels.values()))


def info(result: AttachmentResult) -> AttachmentInfo:
    return AttachmentInfo(result.filename, "application/octet-stream", 0, "", result)


def test_a_scan_that_agrees_with_the_spreadsheet_adds_nothing(scan, sheet, cfg):
    # the sample scan states the same figures (the printed copy leaves a column out)
    assert all(v == sheet.values[i][m] for i, row in scan.values.items() for m, v in row.items())
    # a recognition flag on a figure the spreadsheet gives is no concern of the unit
    flagged = dataclasses.replace(scan, problems=(uncertain(scan.filename, "ngung_viec", "de_nghi"),))
    # the scan listed first: the order of the attachments does not decide
    combined = _combine(NO_MESSAGE, (info(flagged), info(sheet)), REPORT, None, cfg.form)
    assert combined.values == sheet.values
    assert {s for row in combined.sources.values() for s in row.values()} == {"spreadsheet"}
    assert combined.sources.keys() == combined.values.keys()
    assert not [p for p in combined.problems if scan.filename in p.params.values()]


def test_a_scan_that_disagrees_leaves_the_spreadsheet_figure_and_names_both_files(scan, parts, cfg):
    ind, meas = "ngung_viec", "de_nghi"
    changed = {k: dict(v) for k, v in scan.values.items()}
    changed[ind][meas] = scan.values[ind][meas] + 3
    sender = next(u for u in cfg.units if u.code == "XUAT_HOA").senders[0]
    raw = email_bytes(
        sender=sender,
        attachments=[
            (scan.filename, "application/pdf", parts[scan.filename]),
            ("bao-cao.xlsx", XLSX, built_book(changed, cfg.form)),
        ],
    )
    analysis = analyse_message(raw, routing_for(cfg), DAY)
    assert analysis.unit_code == "XUAT_HOA" and analysis.readable
    assert analysis.values == changed
    assert analysis.figure_sources[ind][meas] == "spreadsheet"
    [problem] = analysis.problems
    assert problem.code == "documents_disagree"
    assert problem.params["file"] == "bao-cao.xlsx" and problem.params["other_file"] == scan.filename
    assert (problem.params["indicator_code"], problem.params["measure_code"]) == (ind, meas)
    said = Texts("vi").render(problem)
    assert "bao-cao.xlsx" in said and scan.filename in said
    assert str(changed[ind][meas]) in said and str(scan.values[ind][meas]) in said
    assert "{" not in said and "{" not in Texts("en").render(problem)


def result(
    name: str, source: str, values: dict, problems: tuple[Problem, ...] = (), outcome="read"
) -> AttachmentResult:
    return AttachmentResult(name, "x", outcome, values, problems, source=source)


def uncertain(name: str, ind: str, meas: str) -> Problem:
    return Problem("uncertain_figure", {"file": name, "indicator_code": ind, "measure_code": meas, "reason": "r"})


def test_the_text_pdf_beats_the_photo_which_still_gives_what_only_it_states(cfg):
    photo = result(
        "IMG_0412.jpg",
        "photo",
        {"dao_tao": {"de_nghi": Decimal(48)}, "ngung_viec": {"de_nghi": Decimal(7)}},
        (
            uncertain("IMG_0412.jpg", "dao_tao", "de_nghi"),
            uncertain("IMG_0412.jpg", "ngung_viec", "de_nghi"),
            Problem("over_limit", {"file": "IMG_0412.jpg", "limit": "seconds"}),
        ),
    )
    pdf = result("bao-cao.pdf", "text_pdf", {"dao_tao": {"de_nghi": Decimal(46)}})
    combined = _combine(NO_MESSAGE, (info(photo), info(pdf)), REPORT, None, cfg.form)
    assert combined.values == {"dao_tao": {"de_nghi": Decimal(46)}, "ngung_viec": {"de_nghi": Decimal(7)}}
    assert combined.sources == {"dao_tao": {"de_nghi": "text_pdf"}, "ngung_viec": {"de_nghi": "photo"}}
    codes = [(p.code, p.params.get("indicator_code")) for p in combined.problems]
    # the photo's flag on the figure the PDF gives is not shown; the one on its own figure is
    assert sorted(codes, key=str) == sorted(
        [("documents_disagree", "dao_tao"), ("uncertain_figure", "ngung_viec"), ("over_limit", None)], key=str
    )
    [disagree] = [p for p in combined.problems if p.code == "documents_disagree"]
    assert (disagree.params["file"], disagree.params["other_file"]) == ("bao-cao.pdf", "IMG_0412.jpg")
    assert (disagree.params["value"], disagree.params["other_value"]) == ("46", "48")


def test_a_copy_that_adds_nothing_brings_no_problem_and_the_spreadsheet_beats_the_pdf(cfg):
    book = result("bao-cao.xlsx", "spreadsheet", {"dao_tao": {"kinh_phi": Decimal(49_500_000)}})
    pdf = result("bao-cao.pdf", "text_pdf", {"dao_tao": {"kinh_phi": Decimal(49_500_000)}})
    bad_scan = result("scan.pdf", "scan", {}, (Problem("no_table_found", {"file": "scan.pdf"}),), outcome="unreadable")
    combined = _combine(NO_MESSAGE, (info(pdf), info(bad_scan), info(book)), REPORT, None, cfg.form)
    assert combined.values == {"dao_tao": {"kinh_phi": Decimal(49_500_000)}}
    assert combined.sources == {"dao_tao": {"kinh_phi": "spreadsheet"}}
    assert combined.problems == ()
    # the same PDF with another figure: the workbook's counts, in đồng, both named
    other = result("bao-cao.pdf", "text_pdf", {"dao_tao": {"kinh_phi": Decimal(4_950_000)}})
    [problem] = _combine(NO_MESSAGE, (info(other), info(book)), REPORT, None, cfg.form).problems
    assert problem.params["value"] == "49.500.000 đồng" and problem.params["other_value"] == "4.950.000 đồng"
    # alone, an unreadable scan is the unit's problem
    alone = _combine(NO_MESSAGE, (info(bad_scan),), REPORT, None, cfg.form)
    assert not alone.readable and "no_table_found" in [p.code for p in alone.problems]
