"""The coordinator sees the source: figures read from a scan, a photo or the email's text are
stored with their source, marked in the digest, shaded in the workbook, and the originals of
the flagged ones are attached (issue 13, point 8)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io

from openpyxl import load_workbook

from service.config import UnitConfig
from service.ingest.analysis import Routing, analyse_message
from service.ingest.archive import Archive
from service.ingest.pipeline import analysis_rows
from service.outputs.digest import render_digest
from service.outputs.sheets import READ_FROM_FILL
from service.outputs.workbook import render_workbook
from service.schedule.dispatch import flagged_files, unread_files
from storage.models import Message
from tests.mailbuilders import email_bytes
from tests.unit.builders import FORM as BODY_FORM
from tests.unit.builders import two_row_header_sheet, xlsx
from tests.unit.test_digest import CFG, DAY, at, make_cfg, model, msg, plain, scenario, view_of

SCAN_FIGURES = {("ngung_viec", "de_nghi"): 1234, ("ngung_viec", "kinh_phi"): 1_234_500_000}


def with_source(m: Message, source: str, cells: set[tuple[str, str]] | None = None) -> Message:
    """`m` with its figures (or `cells` of them) read from `source`."""
    for f in m.figures:
        if cells is None or (f.indicator, f.measure) in cells:
            f.source = source
    return m


def uncertain(file: str, indicator: str = "ngung_viec", measure: str = "de_nghi") -> tuple[str, dict]:
    return (
        "uncertain_figure",
        {
            "file": file,
            "row": "Hỗ trợ người lao động ngừng việc",
            "column": "Số đối tượng đề nghị hỗ trợ",
            "text": "1.234",
            "reason": "low_confidence",
            "indicator_code": indicator,
            "measure_code": measure,
        },
    )


def marked_scenario() -> list[Message]:
    """scenario(), with BHXH's report of the day a scan and SONG_CAU's the email's free text."""
    out = []
    for m in scenario():
        if m.unit_code == "BHXH" and m.report_day == DAY:
            m = msg("BHXH", m.received_at, SCAN_FIGURES, files=("scan.jpg",))
            with_source(m, "scan", {("ngung_viec", "kinh_phi")})
            with_source(m, "spreadsheet", {("ngung_viec", "de_nghi")})
        elif m.unit_code == "SONG_CAU" and m.report_day == DAY:
            m = with_source(m, "body_text")
        out.append(m)
    return out


# -- stored and carried through the day view --------------------------------------------------


def test_the_day_view_knows_which_figures_were_read_from_an_image_or_the_email():
    view = view_of(CFG, DAY, marked_scenario())
    units = {u.unit.code: u for u in view.units}
    bhxh, song_cau, yte = units["BHXH"], units["SONG_CAU"], units["YTE"]
    assert bhxh.read_from("ngung_viec", "kinh_phi") == "image"
    assert bhxh.read_from("ngung_viec", "de_nghi") is None  # a spreadsheet's cell is the document's own
    assert song_cau.read_from("ngung_viec", "de_nghi") == "email"
    assert yte.read_from("ho_kinh_doanh", "de_nghi") is None  # stored before the source was kept ("file")


def test_a_body_figure_is_stored_with_its_source():
    routing = Routing(units=(UnitConfig("A", "UBND phường A", senders=("a@x.vn",)),), form=BODY_FORM)
    raw = email_bytes(sender="a@x.vn", body="Hộ kinh doanh: đề nghị 30 hộ, phê duyệt 28 hộ.\n")
    analysis = analyse_message(raw, routing, dt.date(2021, 8, 16))
    assert analysis.values and analysis.figure_sources == {
        ind: {meas: "body_text" for meas in row} for ind, row in analysis.values.items()
    }
    _, _, figures, _ = analysis_rows(analysis, at(DAY, 9))
    assert {f["source"] for f in figures} == {"body_text"}


def test_a_spreadsheet_figure_is_stored_as_read_from_a_spreadsheet():
    routing = Routing(units=(UnitConfig("A", "UBND phường A", senders=("a@x.vn",)),), form=BODY_FORM)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    raw = email_bytes(sender="a@x.vn", attachments=[("bc.xlsx", mime, xlsx(two_row_header_sheet()))])
    analysis = analyse_message(raw, routing, dt.date(2021, 8, 16))
    _, _, figures, _ = analysis_rows(analysis, at(DAY, 9))
    assert figures and {f["source"] for f in figures} == {"spreadsheet"}


# -- the digest ---------------------------------------------------------------------------------


def test_the_digest_marks_figures_read_from_a_scan_or_the_email_with_a_legend():
    m = model(messages=marked_scenario())
    units = {u["code"]: u for u in m["units"]}
    assert [s["mark"] for s in units["BHXH"]["sums"]] == ["", "(ảnh)"]  # only the money column is a scan's
    assert [s["mark"] for s in units["SONG_CAU"]["sums"]] == ["(thư)", ""]
    assert m["read_from_legend"] == [
        "(ảnh): số liệu đọc từ ảnh/bản quét; cần đối chiếu với bản gốc.",
        "(thư): số liệu đọc từ nội dung thư; cần đối chiếu với bản gốc.",
    ]
    content = render_digest(view_of(CFG, DAY, marked_scenario()), CFG, now=at(DAY, 15))
    html = plain(content.html)
    assert "1.234,5 (ảnh)" in html and "(ảnh): số liệu đọc từ ảnh/bản quét" in html
    bhxh_line = next(line for line in content.text.splitlines() if line.strip().startswith("Bảo hiểm xã hội"))
    assert bhxh_line.endswith("; số liệu đọc từ ảnh/bản quét")
    assert any(line.endswith("; số liệu đọc từ nội dung thư") for line in content.text.splitlines())


def test_the_digest_in_english_marks_them_too():
    cfg = make_cfg("en")
    content = render_digest(view_of(cfg, DAY, marked_scenario()), cfg, now=at(DAY, 15))
    assert "(scan): figure read from a scan or photo" in plain(content.html)
    assert "figures read from the email's text" in content.text


def test_figures_from_spreadsheets_carry_no_mark_and_no_legend():
    m = model()
    assert m["read_from_legend"] == []
    assert all(not s["mark"] for u in m["units"] for s in u["sums"])
    content = render_digest(view_of(CFG, DAY, scenario()), CFG, now=at(DAY, 15))
    assert "(ảnh)" not in content.html and "đọc từ" not in content.text


# -- the workbook -------------------------------------------------------------------------------


def test_the_workbook_shades_figures_read_from_an_image_or_the_email():
    wb = load_workbook(io.BytesIO(render_workbook(model(messages=marked_scenario()), CFG)))
    ws = wb["Chi tiết theo đơn vị"]
    rows = {ws.cell(r, 2).value: r for r in range(1, ws.max_row + 1)}
    bhxh, song_cau = rows["Bảo hiểm xã hội thành phố"], rows["UBND phường Sông Cầu"]
    # columns: STT, unit, status, day, then ngung_viec × (de_nghi, kinh_phi), ho_kinh_doanh × ...
    shade = READ_FROM_FILL.fgColor.rgb
    assert ws.cell(bhxh, 6).fill.fgColor.rgb == shade and ws.cell(bhxh, 6).value == 1_234.5
    assert ws.cell(bhxh, 5).fill.fgColor.rgb != shade  # the spreadsheet's cell
    assert ws.cell(song_cau, 5).fill.fgColor.rgb == shade
    legend = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "(ảnh)" in c.value]
    assert legend and "đọc từ ảnh/bản quét" in legend[0]
    status = wb["Tình hình báo cáo"]
    status_rows = {status.cell(r, 3).value: r for r in range(1, status.max_row + 1)}
    assert status.cell(status_rows["Bảo hiểm xã hội thành phố"], 9).fill.fgColor.rgb == shade


def test_a_workbook_of_spreadsheet_figures_has_no_shading():
    wb = load_workbook(io.BytesIO(render_workbook(model(), CFG)))
    shade = READ_FROM_FILL.fgColor.rgb
    assert not any(c.fill.fgColor.rgb == shade for ws in wb.worksheets for row in ws.iter_rows() for c in row)


# -- the originals of flagged figures -----------------------------------------------------------


def archived(archive: Archive, m: Message, raw: bytes) -> Message:
    m.archive_path = archive.store(raw, sync=False)
    return m


def flagged_scenario(archive: Archive, pad: int = 0) -> tuple[list[Message], bytes, bytes]:
    scan = b"\xff\xd8\xff scan of the stamped page"
    bhxh_raw = email_bytes(sender="bhxh@example.gov.vn", attachments=[("scan.jpg", "image/jpeg", scan)])
    song_cau_raw = email_bytes(sender="songcau@example.gov.vn", body="Ngừng việc: đề nghị 50 người\n" + "x" * pad)
    messages = []
    for m in scenario():
        if m.unit_code == "BHXH" and m.report_day == DAY:
            m = msg("BHXH", m.received_at, SCAN_FIGURES, files=("scan.jpg",), problems=(uncertain("scan.jpg"),))
            m = archived(archive, with_source(m, "scan"), bhxh_raw)
        elif m.unit_code == "SONG_CAU" and m.report_day == DAY:
            m = msg("SONG_CAU", m.received_at, {("ngung_viec", "de_nghi"): 50}, problems=(uncertain("body_text"),))
            m = archived(archive, with_source(m, "body_text"), song_cau_raw)
        messages.append(m)
    return messages, scan, song_cau_raw


def test_the_original_of_every_flagged_figure_is_attached(tmp_path):
    archive = Archive(tmp_path / "archive")
    messages, scan, song_cau_raw = flagged_scenario(archive)
    view = view_of(CFG, DAY, messages)
    files = flagged_files(view, archive, "vi")
    assert [(f.filename, f.data) for f in files] == [("BHXH_scan.jpg", scan), ("SONG_CAU_thu-goc.eml", song_cau_raw)]
    assert unread_files(view, archive) == []  # nothing unreadable today: only the flagged ones go
    content = render_digest(view, CFG, now=at(DAY, 15), unread_files=files)
    sent = email.message_from_bytes(content_bytes(content), policy=email.policy.default)
    attached = {p.get_filename(): p.get_content() for p in sent.iter_attachments()}
    assert attached["BHXH_scan.jpg"] == scan and attached["SONG_CAU_thu-goc.eml"] == song_cau_raw


def test_a_flagged_original_that_does_not_fit_is_named(tmp_path):
    archive = Archive(tmp_path / "archive")
    messages, _, _ = flagged_scenario(archive, pad=30_000)
    view = view_of(CFG, DAY, messages)
    files = flagged_files(view, archive, "vi")
    cap = len(content_bytes(render_digest(view, CFG, now=at(DAY, 15), unread_files=files[:1]))) + 5000
    content = render_digest(view, CFG, now=at(DAY, 15), unread_files=files, max_message_bytes=cap)
    assert [f.filename for f in content.files][1:] == ["BHXH_scan.jpg"]  # after the workbook
    assert "SONG_CAU_thu-goc.eml" in content.text and "vượt quá dung lượng" in content.text


def test_no_original_is_attached_without_a_flag(tmp_path):
    archive = Archive(tmp_path / "archive")
    messages, _, _ = flagged_scenario(archive)
    for m in messages:
        m.problems = []
    assert flagged_files(view_of(CFG, DAY, messages), archive, "vi") == []


def content_bytes(content) -> bytes:
    from service.outputs.digest import compose_email

    return compose_email(content, CFG, now=at(DAY, 15), message_id="<x@example.gov.vn>").as_bytes()


def test_the_json_export_names_the_source_of_marked_figures_beside_the_values():
    from service.outputs.export import day_json

    units = {u["code"]: u for u in day_json(view_of(CFG, DAY, marked_scenario()), CFG)["units"]}
    assert units["BHXH"]["figure_sources"] == {"ngung_viec": {"kinh_phi": "scan"}}
    assert units["SONG_CAU"]["figure_sources"] == {"ngung_viec": {"de_nghi": "body_text"}}
    assert units["YTE"]["figure_sources"] == {} and units["BHXH"]["values"]["ngung_viec"]["de_nghi"] == 1234
