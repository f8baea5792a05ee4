"""The superior's form, beyond one table: every matching table filled, columns split into
the period's figure and the figure to date, and the template's package kept as it is
(only the sheet's XML and workbook.xml's calcPr, or word/document.xml, change). Cell by cell."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from service.outputs.upward import PeriodFigures, UnitFigures, figures_of_day, fill_upward
from tests.unit.builders import FORM, docx_bytes
from tests.unit.test_digest import DAY, UNITS, YESTERDAY, at, make_cfg, msg, view_of
from tests.unit.upward_forms import RICH_DOCX_ROWS, RICH_ROWS, RICH_SHEET, rich_docx, rich_xlsx

M = 1_000_000


def D(values: dict[str, dict[str, int]]) -> dict[str, dict[str, Decimal]]:
    return {ind: {meas: Decimal(v) for meas, v in row.items()} for ind, row in values.items()}


TOTALS = D(
    {
        "ngung_viec": {"de_nghi": 99, "phe_duyet": 88, "kinh_phi": 75 * M},
        "ho_kinh_doanh": {"de_nghi": 26, "phe_duyet": 23, "kinh_phi": 69_500_000},
    }
)
UNIT_VALUES = {
    "BHXH": D({"ngung_viec": {"de_nghi": 60, "kinh_phi": 40 * M}}),
    "YTE": D({"ho_kinh_doanh": {"de_nghi": 26, "kinh_phi": 69_500_000}}),
    "SONG_CAU": D({"ngung_viec": {"de_nghi": 39, "kinh_phi": 35 * M}}),
    "XUAT_HOA": {},
    "NONG_THUONG": {},
}
FIGURES = PeriodFigures(
    start=DAY,
    end=DAY,
    totals=TOTALS,
    units=tuple(UnitFigures(u.code, u.name, u.aliases, u.group, UNIT_VALUES[u.code]) for u in UNITS),
)


def _rows(data: bytes, sheet: str | None = None) -> dict[str, object]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book[sheet] if sheet else book.active
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def _save(book: openpyxl.Workbook, path: Path) -> Path:
    book.save(path)
    return path


# ---------------------------------------------------------------------------------- 1. every table


def test_an_indicator_table_and_a_unit_table_in_one_sheet_and_a_second_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Biểu 01"
    ws.append(["I. THEO CHÍNH SÁCH"])  # 1
    ws.append(["TT", "Chính sách", "Số đề nghị", "Kinh phí phê duyệt (triệu đồng)"])  # 2
    ws.append(["1", "Hỗ trợ hộ kinh doanh"])  # 3
    ws.append(["2", "Hỗ trợ người lao động ngừng việc"])  # 4
    ws.append([])  # 5
    ws.append(["II. THEO ĐƠN VỊ"])  # 6
    ws.append(["TT", "Tên đơn vị", "Kinh phí phê duyệt (nghìn đồng)", "Số đề nghị"])  # 7: another column order
    ws.append(["1", "BHXH thành phố"])  # 8: no such unit name
    ws.append(["2", "Phòng Y tế"])  # 9
    ws.append(["3", "UBND P. Sông Cầu"])  # 10
    ws.append([None, "Cộng"])  # 11
    second = book.create_sheet("Biểu 02")
    second.append(["STT", "Đơn vị", "Số đề nghị"])
    second.append(["1", "Phường Sông Cầu"])
    second.append(["2", "UBND xã Nông Thượng"])
    notes = book.create_sheet("Hướng dẫn")
    for line in (["Ghi chú", "Nội dung"], ["1", "Điền số liệu"], ["2", "Gửi trước 17 giờ"]):
        notes.append(line)
    filled = fill_upward(_save(book, tmp_path / "hai-bang.xlsx"), FIGURES, FORM)
    assert filled.tables == 3
    cells = _rows(filled.data, "Biểu 01")
    assert (cells["C3"], cells["D3"], cells["C4"], cells["D4"]) == (26, 69.5, 99, 75)
    assert "C8" not in cells and "D8" not in cells  # an unmatched row stays empty
    assert (cells["C9"], cells["D9"]) == (69_500, 26)
    assert (cells["C10"], cells["D10"]) == (35_000, 39)
    assert (cells["C11"], cells["D11"]) == (144_500, 125)  # every unit's figures
    other = _rows(filled.data, "Biểu 02")
    assert other["C2"] == 39 and "C3" not in other
    assert filled.filled == 4 + 6 + 1
    assert filled.unmatched == (
        "trang 'Biểu 01', ô B8: dòng 'BHXH thành phố' không khớp chỉ tiêu hay đơn vị nào, chưa điền",
        "trang 'Hướng dẫn': không có bảng nào khớp chỉ tiêu (hoặc đơn vị) và cột số liệu, chưa điền",
        "Đơn vị 'Bảo hiểm xã hội thành phố' có số liệu nhưng biểu mẫu không có dòng nào cho đơn vị này",
    )


def test_a_docx_with_two_tables_fills_both(tmp_path: Path) -> None:
    import docx

    document = docx.Document(io.BytesIO(docx_bytes([["UBND TỈNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]])))
    document.add_paragraph("Biểu 1. Theo chính sách")
    first = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Chính sách", "Số đề nghị", "Số được phê duyệt"], ["Hộ kinh doanh"], ["NLĐ ngừng việc"]]):
        for c, value in enumerate(row):
            first.cell(r, c).text = value
    document.add_paragraph("Biểu 2. Theo đơn vị")
    second = document.add_table(rows=4, cols=3)
    for r, row in enumerate(
        [["Đơn vị", "Kinh phí phê duyệt (triệu đồng)", "Số đề nghị"], ["Phòng Y tế"], ["X. Nông Thượng"], ["Tổng số"]]
    ):
        for c, value in enumerate(row):
            second.cell(r, c).text = value
    path = tmp_path / "hai-bang.docx"
    document.save(path)
    filled = fill_upward(path, FIGURES, FORM)
    tables = docx.Document(io.BytesIO(filled.data)).tables
    texts = [[[c.text for c in row.cells] for row in t.rows] for t in tables]
    assert texts[0] == [["UBND TỈNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]]  # the letterhead: not a table of figures
    assert texts[1][1:] == [["Hộ kinh doanh", "26", "23"], ["NLĐ ngừng việc", "99", "88"]]
    assert texts[2][1:] == [["Phòng Y tế", "69,5", "26"], ["X. Nông Thượng", "", ""], ["Tổng số", "144,5", "125"]]
    assert filled.tables == 2 and filled.filled == 4 + 2 + 2


# ---------------------------------------------------------------------------------- 2. period / to date


def _split_book() -> openpyxl.Workbook:
    """A header over three rows: "Kết quả thực hiện" over two measures, each split in two."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["TT", "Chính sách", "Kết quả thực hiện"])  # 1
    ws.append([None, None, "Số đối tượng được phê duyệt", None, "Kinh phí được phê duyệt (triệu đồng)"])  # 2
    ws.append([None, None, "Trong kỳ", "Lũy kế", "Kỳ này", "Từ đầu năm"])  # 3
    ws.append(["1", "Hỗ trợ hộ kinh doanh"])  # 4
    ws.append(["2", "Hỗ trợ người lao động ngừng việc"])  # 5
    ws.append([None, "Tổng cộng", "=SUM(C4:C5)", "=SUM(D4:D5)", "=SUM(E4:E5)", "=SUM(F4:F5)"])  # 6
    for ref in ("A1:A3", "B1:B3", "C1:F1", "C2:D2", "E2:F2"):
        ws.merge_cells(ref)
    return book


PERIOD = D({"ngung_viec": {"phe_duyet": 8, "kinh_phi": 5 * M}, "ho_kinh_doanh": {"phe_duyet": 3}})


def test_a_cumulative_report_fills_the_period_and_the_to_date_columns(tmp_path: Path) -> None:
    figures = PeriodFigures(start=DAY, end=DAY, totals=TOTALS, period_totals=PERIOD, to_date_totals=TOTALS)
    filled = fill_upward(_save(_split_book(), tmp_path / "tach.xlsx"), figures, FORM)
    cells = _rows(filled.data)
    assert (cells["C4"], cells["D4"], cells.get("E4"), cells["F4"]) == (3, 23, None, 69.5)
    assert (cells["C5"], cells["D5"], cells["E5"], cells["F5"]) == (8, 88, 5, 75)
    assert cells["C6"] == "=SUM(C4:C5)"  # the total row's formulas kept
    assert filled.unmatched == ()
    assert any(n.startswith("Báo cáo lũy kế: cột lũy kế") for n in filled.notes)


def test_a_cumulative_report_without_period_figures_lists_the_period_columns(tmp_path: Path) -> None:
    figures = PeriodFigures(start=DAY, end=DAY, totals=TOTALS)  # no period_totals: not known
    filled = fill_upward(_save(_split_book(), tmp_path / "tach.xlsx"), figures, FORM)
    cells = _rows(filled.data)
    assert "C4" not in cells and "E5" not in cells and cells["D5"] == 88 and cells["F5"] == 75
    assert filled.unmatched == (
        "trang 'Sheet', ô C3: cột 'Kết quả thực hiện / Số đối tượng được phê duyệt / Trong kỳ' là số liệu trong kỳ, "
        "nhưng không có số liệu riêng của kỳ này (chỉ có số lũy kế), chưa điền",
        "trang 'Sheet', ô E3: cột 'Kết quả thực hiện / Kinh phí được phê duyệt (triệu đồng) / Kỳ này' là số liệu "
        "trong kỳ, nhưng không có số liệu riêng của kỳ này (chỉ có số lũy kế), chưa điền",
    )


def test_a_report_that_is_not_cumulative_takes_its_figures_to_date_when_asked(tmp_path: Path) -> None:
    asked: list[int] = []
    earlier = {"YTE": D({"ho_kinh_doanh": {"phe_duyet": 20, "kinh_phi": 60 * M}})}

    def to_date() -> dict[str, dict[str, dict[str, Decimal]]]:
        asked.append(1)
        return earlier

    figures = PeriodFigures(
        start=DAY, end=DAY, totals=PERIOD, units=FIGURES.units, cumulative=False, to_date_loader=to_date
    )
    path = _save(_split_book(), tmp_path / "tach.xlsx")
    cells = _rows(fill_upward(path, figures, FORM).data)
    assert (cells["C4"], cells["D4"], cells["F4"], cells["C5"], cells["E5"]) == (3, 20, 60, 8, 5)
    assert "D5" not in cells and "F5" not in cells  # nothing to date for ngung_viec
    assert asked == [1]
    without = PeriodFigures(start=DAY, end=DAY, totals=PERIOD, cumulative=False)
    filled = fill_upward(path, without, FORM)
    assert [u.split(":")[0] for u in filled.unmatched] == ["trang 'Sheet', ô D3", "trang 'Sheet', ô F3"]
    assert all("báo cáo này không lũy kế" in u for u in filled.unmatched)
    # A form without split columns never reads the earlier periods.
    plain = openpyxl.Workbook()
    plain.active.append(["Chính sách", "Số được phê duyệt"])
    plain.active.append(["Hỗ trợ hộ kinh doanh"])
    asked.clear()
    fill_upward(_save(plain, tmp_path / "plain.xlsx"), figures, FORM)
    assert asked == []


def test_the_period_columns_of_a_day_view_are_each_units_change(tmp_path: Path) -> None:
    """BHXH 80 yesterday, 100 today: 20 in the period; YTE only yesterday: carried forward,
    its period cell empty; SONG_CAU first today: all 52 in the period."""
    cfg = make_cfg()
    view = view_of(
        cfg,
        DAY,
        [
            msg("BHXH", at(YESTERDAY, 9), {("ngung_viec", "de_nghi"): 80}),
            msg("YTE", at(YESTERDAY, 9), {("ngung_viec", "de_nghi"): 7}),
            msg("BHXH", at(DAY, 9), {("ngung_viec", "de_nghi"): 100}),
            msg("SONG_CAU", at(DAY, 10), {("ngung_viec", "de_nghi"): 52}),
        ],
    )
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["TT", "Đơn vị", "Số đề nghị"])
    ws.append([None, None, "Trong ngày", "Cộng dồn"])
    ws.merge_cells("C1:D1")
    for n, name in enumerate(("Bảo hiểm xã hội thành phố", "Phòng Y tế", "Phường Sông Cầu"), 1):
        ws.append([str(n), name])
    ws.append([None, "Tổng cộng"])
    filled = fill_upward(_save(book, tmp_path / "ngay.xlsx"), figures_of_day(view), FORM)
    cells = _rows(filled.data)
    assert (cells["C3"], cells["D3"], cells.get("C4"), cells["D4"], cells["C5"], cells["D5"]) == (
        20,
        100,
        None,
        7,
        52,
        52,
    )
    assert (cells["C6"], cells["D6"]) == (72, 159)
    assert any("(Phòng Y tế)" in n for n in filled.notes)


@pytest.mark.parametrize(
    ("heads", "expected"),
    [
        (("Số được phê duyệt", "Tuần này"), ("phe_duyet", "period")),
        (("Số được phê duyệt", "Cộng dồn từ đầu năm"), ("phe_duyet", "to_date")),
        (("Số đối tượng được phê duyệt lũy kế",), ("phe_duyet", "to_date")),
        (("Trong tháng", "Số đề nghị"), ("de_nghi", "period")),
        (("Số được phê duyệt",), ("phe_duyet", None)),
    ],
)
def test_split_headings(tmp_path: Path, heads: tuple[str, ...], expected: tuple[str, str | None]) -> None:
    from parsers.model import ReadLimits
    from parsers.readers import read_grid
    from parsers.report.reverse import find_layout

    book = openpyxl.Workbook()
    ws = book.active
    for r, head in enumerate(heads, 1):
        ws.cell(r, 1, "Chính sách" if r == 1 else None)
        ws.cell(r, 2, head)
    ws.append(["Hỗ trợ hộ kinh doanh"])
    data = io.BytesIO()
    book.save(data)
    layout = find_layout(read_grid(data.getvalue(), "xlsx", ReadLimits()).sheets[0], FORM)
    assert layout is not None
    assert [(s.measure, s.span) for s in layout.slots] == [expected]


# ---------------------------------------------------------------------------------- 3. the .xlsx package


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def test_an_xlsx_form_keeps_every_other_part_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "bieu-01.xlsx"
    path.write_bytes(rich_xlsx())
    filled = fill_upward(path, FIGURES, FORM)
    before, after = _parts(path.read_bytes()), _parts(filled.data)
    assert list(after) == list(before)  # the same parts, in the same order
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == ["xl/workbook.xml", "xl/worksheets/sheet1.xml"]
    assert "LOGO SỞ".encode() in after["xl/drawings/drawing1.xml"] and "xl/media/image1.png" in after
    sheet = after["xl/worksheets/sheet1.xml"].decode()
    for kept in (
        "<drawing ",
        "<legacyDrawing ",
        "<dataValidations",
        "<conditionalFormatting",
        "<pageSetup",
        "x14:dataValidation",
        "<oddHeader>",
    ):
        assert kept in sheet, kept
    book_xml = after["xl/workbook.xml"].decode()
    assert 'fullCalcOnLoad="1"' in book_xml and "Vung_so_lieu" in book_xml and "_xlnm.Print_Area" in book_xml
    # numbers as numbers, the formulas kept without their stale cached results
    assert re.search(r'<c r="C6"[^>]*s="\d+"[^>]*><v>26</v></c>', sheet), sheet
    assert re.search(r'<c r="D7"[^>]*><v>75</v></c>', sheet)
    assert re.search(r'<c r="C8"[^>]*><f>SUM\(C6:C7\)</f></c>', sheet)
    # the date beside "Tính đến ngày:" stays a date in its own format
    with warnings.catch_warnings():  # openpyxl: "Data Validation extension is not supported"
        warnings.simplefilter("ignore")
        ws = openpyxl.load_workbook(io.BytesIO(filled.data))[RICH_SHEET]
    assert ws["C3"].value == dt.datetime(2021, 8, 11) and ws["C3"].number_format == "dd/mm/yyyy"
    for row, indicator in RICH_ROWS.items():
        assert ws[f"C{row}"].value == TOTALS[indicator]["de_nghi"]
        assert Decimal(str(ws[f"D{row}"].value)) == TOTALS[indicator]["kinh_phi"] / M
        assert ws[f"C{row}"].number_format == "#,##0.00"
    assert ws["D7"].font.b and ws["D7"].font.name == "Times New Roman"
    assert filled.filled == 4
    assert filled.notes == ("Giữ nguyên công thức của biểu mẫu ở 2 ô (C8, D8); Excel tính lại khi mở tệp",)


def test_openpyxl_would_have_lost_the_text_box_and_the_x14_validation() -> None:
    """Why the form is not saved through openpyxl: what a load and save drops."""
    data = rich_xlsx()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(io.BytesIO(data))
    out = io.BytesIO()
    book.save(out)
    parts = _parts(out.getvalue())
    assert b"LOGO" not in parts["xl/drawings/drawing1.xml"]
    assert b"x14:dataValidation" not in parts["xl/worksheets/sheet1.xml"]


def test_cells_the_template_does_not_have_are_created_in_order_with_the_column_style(tmp_path: Path) -> None:
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    ws = book.active
    ws["D1"], ws["B1"] = "Số đề nghị", "Chính sách"
    ws["B3"] = "Hỗ trợ hộ kinh doanh"
    ws["B2"] = "Hỗ trợ người lao động ngừng việc"
    ws["F2"] = "x"  # a cell after the one to create
    ws.column_dimensions["D"].font = Font(name="Arial", italic=True)
    ws.column_dimensions["D"].number_format = "#,##0"
    path = _save(book, tmp_path / "thua.xlsx")
    filled = fill_upward(path, FIGURES, FORM)
    out = openpyxl.load_workbook(io.BytesIO(filled.data)).active
    assert (out["D2"].value, out["D3"].value, out["F2"].value) == (99, 26, "x")
    assert out["D2"].font.i and out["D2"].number_format == "#,##0"
    sheet = _parts(filled.data)["xl/worksheets/sheet1.xml"].decode()
    assert sheet.index('r="B2"') < sheet.index('r="D2"') < sheet.index('r="F2"')


# ---------------------------------------------------------------------------------- 4. the .docx package


def test_a_docx_form_keeps_pictures_headers_footers_and_styles(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "don-vi.docx"
    path.write_bytes(rich_docx())
    filled = fill_upward(path, FIGURES, FORM)
    before, after = _parts(path.read_bytes()), _parts(filled.data)
    assert list(after) == list(before)
    assert sorted(name for name in before if before[name] != after[name]) == ["word/document.xml"]
    document = docx.Document(io.BytesIO(filled.data))
    paragraphs = [p.text for p in document.paragraphs]
    assert "(Số liệu tính đến ngày 11/08/2021)" in paragraphs
    assert "Bắc Kạn, ngày 11 tháng 8 năm 2021" in paragraphs
    assert document.sections[0].header.paragraphs[0].text == "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI TỈNH BẮC KẠN"
    assert len(document.inline_shapes) == 1
    texts = [[c.text for c in row.cells] for row in document.tables[0].rows]
    for row, code in RICH_DOCX_ROWS.items():
        values = UNIT_VALUES[code]
        de_nghi = sum((r["de_nghi"] for r in values.values() if "de_nghi" in r), Decimal(0))
        kinh_phi = sum((r["kinh_phi"] for r in values.values() if "kinh_phi" in r), Decimal(0))
        assert texts[row - 1][2:] == [f"{de_nghi:,}".replace(",", "."), f"{kinh_phi / 1000:,.0f}".replace(",", ".")]
    assert texts[4][2:] == ["125", "144.500"]
    assert texts[0][3] == "Kinh phí phê duyệt (nghìn đồng)"


def test_unit_names_as_forms_write_them() -> None:
    from parsers.report.reverse import unit_name_variants

    assert unit_name_variants("UBND phường Sông Cầu") == (
        "phường Sông Cầu",
        "Ủy ban nhân dân phường Sông Cầu",
        "P. Sông Cầu",
        "UBND P. Sông Cầu",
    )
    assert "TT. Chợ Mới" in unit_name_variants("Thị trấn Chợ Mới")
    assert unit_name_variants("Phòng Y tế") == ()  # a department is no people's committee


def test_an_in_which_column_and_total_rows_that_say_more(tmp_path: Path) -> None:
    """ "Kinh phí được duyệt" over "Tổng số" and "Trong đó: đã chi": two measures, not one
    twice; "Toàn thành phố" is the total row, "Cộng đồng dân cư" a row that matches nothing."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["TT", "Chính sách", "Kinh phí được phê duyệt (triệu đồng)", None])
    ws.append([None, None, "Tổng số", "Trong đó: số tiền đã chi"])
    ws.merge_cells("C1:D1")
    ws.append(["1", "Hỗ trợ hộ kinh doanh"])
    ws.append(["2", "Hỗ trợ người lao động ngừng việc"])
    ws.append(["3", "Cộng đồng dân cư"])
    ws.append([None, "Toàn thành phố"])
    totals = D({**TOTALS, "ngung_viec": {**TOTALS["ngung_viec"], "tien_da_chi": 45_500_000}})
    figures = PeriodFigures(start=DAY, end=DAY, totals=totals)
    filled = fill_upward(_save(book, tmp_path / "trong-do.xlsx"), figures, FORM)
    cells = _rows(filled.data)
    assert (cells["C3"], cells.get("D3"), cells["C4"], cells["D4"]) == (69.5, None, 75, 45.5)
    assert "C5" not in cells and (cells["C6"], cells["D6"]) == (144.5, 45.5)
    assert filled.unmatched == (
        "trang 'Sheet', ô B5: dòng 'Cộng đồng dân cư' không khớp chỉ tiêu hay đơn vị nào, chưa điền",
    )


def test_a_running_total_that_went_down_gives_no_period_figure(tmp_path: Path) -> None:
    period = D({"ngung_viec": {"phe_duyet": -4, "kinh_phi": 5 * M}, "ho_kinh_doanh": {"phe_duyet": 3}})
    figures = PeriodFigures(start=DAY, end=DAY, totals=TOTALS, period_totals=period, to_date_totals=TOTALS)
    filled = fill_upward(_save(_split_book(), tmp_path / "tach.xlsx"), figures, FORM)
    cells = _rows(filled.data)
    assert "C5" not in cells and (cells["C4"], cells["D5"], cells["E5"]) == (3, 88, 5)
    assert filled.unmatched == tuple(
        f"trang 'Sheet', ô {cell}: số lũy kế giảm so với báo cáo trước kỳ nên không có số trong kỳ, chưa điền"
        for cell in ("C5", "C6")  # the unit's row, and the total that would count it
    )


def test_a_docx_as_of_label_with_the_date_after_it(tmp_path: Path) -> None:
    import docx

    document = docx.Document(io.BytesIO(docx_bytes([["Tính đến ngày:", "..../..../...."], ["Kỳ báo cáo:", "tháng 8"]])))
    document.add_paragraph("Số liệu tính đến ngày:")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Chính sách", "Số đề nghị"], ["Hỗ trợ hộ kinh doanh", ""]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    path = tmp_path / "ngay.docx"
    document.save(path)
    filled = docx.Document(io.BytesIO(fill_upward(path, FIGURES, FORM).data))
    assert [c.text for c in filled.tables[0].rows[0].cells] == ["Tính đến ngày:", "11/08/2021"]
    assert [c.text for c in filled.tables[0].rows[1].cells] == ["Kỳ báo cáo:", "tháng 8"]
    assert "Số liệu tính đến ngày: 11/08/2021" in [p.text for p in filled.paragraphs]
    assert filled.tables[1].cell(1, 1).text == "26"


def _indicator_sheet(ws: object, top: int = 1) -> None:
    ws.cell(top, 1, "Chính sách")  # type: ignore[attr-defined]
    ws.cell(top, 2, "Số đề nghị")  # type: ignore[attr-defined]
    ws.cell(top + 1, 1, "Hỗ trợ hộ kinh doanh")  # type: ignore[attr-defined]
    ws.cell(top + 2, 1, "Hỗ trợ người lao động ngừng việc")  # type: ignore[attr-defined]


def test_the_same_table_twice_told_apart_or_listed(tmp_path: Path) -> None:
    # sheets named by day: the period's last day's is filled, the others said
    book = openpyxl.Workbook()
    book.active.title = "10.8"
    for ws in (book.active, book.create_sheet("11.8"), book.create_sheet("12.8")):
        _indicator_sheet(ws)
    filled = fill_upward(_save(book, tmp_path / "ngay.xlsx"), FIGURES, FORM)
    assert [_rows(filled.data, name).get("B2") for name in ("10.8", "11.8", "12.8")] == [None, 26, None]
    assert filled.unmatched == (
        "trang '10.8': bảng của ngày khác (theo tên trang), không điền",
        "trang '12.8': bảng của ngày khác (theo tên trang), không điền",
    )
    # two sheets alike, neither named by the day: none filled, one sentence
    book["10.8"].title, book["12.8"].title = "Bản 1", "Bản 2"
    del book["11.8"]
    with pytest.raises(Exception, match=r"các bảng Bản 1, Bản 2 giống hệt nhau"):
        fill_upward(_save(book, tmp_path / "hai-ban.xlsx"), FIGURES, FORM)
    # one sheet, two tables alike under "I. Số liệu trong kỳ" and "II. Số liệu lũy kế"
    book = openpyxl.Workbook()
    ws = book.active
    ws["A1"] = "I. Số liệu trong kỳ"
    _indicator_sheet(ws, 2)
    ws["A6"] = "II. Số liệu lũy kế"
    _indicator_sheet(ws, 7)
    period = D({"ho_kinh_doanh": {"de_nghi": 2}, "ngung_viec": {"de_nghi": 9}})
    figures = PeriodFigures(start=DAY, end=DAY, totals=TOTALS, period_totals=period)
    filled = fill_upward(_save(book, tmp_path / "hai-bang.xlsx"), figures, FORM)
    cells = _rows(filled.data)
    assert (cells["B3"], cells["B4"], cells["B8"], cells["B9"]) == (2, 9, 26, 99)
    assert filled.unmatched == ()
