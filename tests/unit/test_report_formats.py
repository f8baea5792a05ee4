"""The same report in every format units send: csv, docx, xls, several sheets."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.builders import (
    SheetSpec,
    csv_bytes,
    docx_bytes,
    sample_xls,
    two_row_header_sheet,
    xlsx,
)
from tests.unit.test_report_layout import codes, read

CSV_ROWS = [
    ["PHÒNG Y TẾ THÀNH PHỐ BẮC KẠN", "", "", "", "", "", "", ""],
    ["BÁO CÁO TIẾN ĐỘ HỖ TRỢ TRẺ EM VÀ NGƯỜI ĐIỀU TRỊ COVID-19, CÁCH LY Y TẾ"],
    ["Số liệu tính đến ngày 11/08/2021"],
    [
        "STT",
        "Nội dung chính sách",
        "Số đối tượng đề nghị hỗ trợ",
        "Số đối tượng được phê duyệt",
        "Kinh phí được phê duyệt (triệu đồng)",
        "Số đối tượng đã chi trả",
        "Số tiền đã chi trả (triệu đồng)",
        "Ghi chú",
    ],
    ["1", "Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế", "96", "77", "97,4", "50", "63,6", ""],
]
CSV_VALUES = {
    "tre_em_f0_f1": {"de_nghi": 96, "phe_duyet": 77, "kinh_phi": 97_400_000, "da_chi": 50, "tien_da_chi": 63_600_000}
}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiters(delimiter: str) -> None:
    result = read(csv_bytes(CSV_ROWS, delimiter=delimiter), filename="YTE.csv")
    assert result.detected_format == "csv"
    assert result.values == CSV_VALUES
    assert result.as_of == dt.date(2021, 8, 11)
    assert result.problems == ()


def test_csv_windows_1258_with_combining_tones() -> None:
    data = csv_bytes(CSV_ROWS, delimiter=";", encoding="cp1258")
    assert b"\xcc" in data or b"\xec" in data or b"\xf2" in data  # combining tone bytes
    assert read(data, filename="YTE.csv").values == CSV_VALUES


def test_csv_utf8_without_bom() -> None:
    assert read(csv_bytes(CSV_ROWS, encoding="utf-8"), filename="YTE.csv").values == CSV_VALUES


def test_csv_two_row_header_written_without_merges() -> None:
    rows = [
        ["Nội dung", "Số đối tượng", "", "Kinh phí (nghìn đồng)", ""],
        ["", "Đề nghị hỗ trợ", "Được phê duyệt", "Được phê duyệt", "Đã chi trả"],
        ["Hỗ trợ hộ kinh doanh", "5", "4", "300", "200"],
    ]
    assert read(csv_bytes(rows), filename="a.csv").values == {
        "ho_kinh_doanh": {"de_nghi": 5, "phe_duyet": 4, "kinh_phi": 300_000, "tien_da_chi": 200_000}
    }


def test_csv_over_the_cell_cap_is_named() -> None:
    from tests.unit.builders import form_with

    rows = CSV_ROWS + [["x"] * 8] * 50
    result = read(csv_bytes(rows), filename="a.csv", form=form_with(max_csv_cells=60))
    assert "over_limit" in codes(result)
    assert result.values == CSV_VALUES


DOCX_TABLE = [
    [
        "TT",
        "Nội dung",
        "Số đối tượng đề nghị hỗ trợ",
        "Số đối tượng được phê duyệt",
        "Kinh phí được phê duyệt (triệu đồng)",
        "Số đối tượng đã chi trả",
        "Số tiền đã chi trả (triệu đồng)",
    ],
    ["1", "Hỗ trợ người lao động ngừng việc", "49", "41", "41", "28", "28"],
    ["2", "Hỗ trợ hộ kinh doanh", "70", "56", "168,5", "-", "-"],
    ["", "Tổng cộng", "119", "97", "209,5", "28", "28"],
]


def test_docx_table_with_unit_and_date_paragraphs() -> None:
    data = docx_bytes(
        DOCX_TABLE,
        paragraphs=[
            "ỦY BAN NHÂN DÂN PHƯỜNG NGUYỄN THỊ MINH KHAI",
            "Đơn vị: UBND phường Nguyễn Thị Minh Khai",
            "Số liệu tính đến ngày 11/08/2021",
        ],
        after=["NGƯỜI LẬP BIỂU"],
    )
    result = read(data, filename="NTMK.docx")
    assert result.detected_format == "docx"
    assert result.values == {
        "ngung_viec": {"de_nghi": 49, "phe_duyet": 41, "kinh_phi": 41_000_000, "da_chi": 28, "tien_da_chi": 28_000_000},
        "ho_kinh_doanh": {"de_nghi": 70, "phe_duyet": 56, "kinh_phi": 168_500_000},
    }
    assert result.unit_text == "UBND phường Nguyễn Thị Minh Khai"
    assert result.as_of == dt.date(2021, 8, 11)
    assert result.problems == ()


def test_docx_merged_two_row_header() -> None:
    table = [
        ["Nội dung", "Số đối tượng", None, "Kinh phí (triệu đồng)", None],
        [None, "Đề nghị hỗ trợ", "Được phê duyệt", "Được phê duyệt", "Đã chi trả"],
        ["Hỗ trợ hộ kinh doanh", "5", "4", "3", "2"],
    ]
    data = docx_bytes(table, merges=[(0, 0, 1, 0), (0, 1, 0, 2), (0, 3, 0, 4)])
    assert read(data, filename="a.docx").values == {
        "ho_kinh_doanh": {"de_nghi": 5, "phe_duyet": 4, "kinh_phi": 3_000_000, "tien_da_chi": 2_000_000}
    }


def test_docx_tcvn3_runs() -> None:
    from parsers.vnlegacy import encode_tcvn3

    table = [[encode_tcvn3(t) for t in row] for row in DOCX_TABLE]
    data = docx_bytes(table, paragraphs=[encode_tcvn3("Đơn vị: Phòng Văn hóa")], font=".VnTime")
    result = read(data, filename="a.docx")
    assert result.values["ngung_viec"]["de_nghi"] == 49
    assert result.unit_text == "Phòng Văn hóa"


def test_docx_without_a_table_is_unreadable() -> None:
    import io

    import docx

    document = docx.Document()
    document.add_paragraph("Kính gửi: Phòng LĐTBXH. Đơn vị báo cáo 5 hộ kinh doanh.")
    buf = io.BytesIO()
    document.save(buf)
    result = read(buf.getvalue(), filename="a.docx")
    assert result.outcome == "unreadable"
    assert codes(result) == ["no_table_found"]


# ---------------------------------------------------------------- .xls


def test_xls_sample_with_merged_two_row_header() -> None:
    result = read(sample_xls(), filename="TCKH.xls")
    assert result.detected_format == "xls"
    assert result.values["ho_kinh_doanh"] == {
        "de_nghi": 412,
        "phe_duyet": 367,
        "da_chi": 258,
        "kinh_phi": 1_101_000_000,
        "tien_da_chi": 774_000_000,
    }
    assert result.unit_text == "Phòng Tài chính - Kế hoạch"


def test_xls_written_with_xlwt_tcvn3_and_sheets_per_day() -> None:
    from parsers.vnlegacy import encode_tcvn3
    from tests.unit.builders import xls

    def day_sheet(name: str, n: int) -> SheetSpec:
        s = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (n, n, n, n, n))], name=name)
        rows = [[encode_tcvn3(v) if isinstance(v, str) else v for v in r] for r in s.rows]
        return SheetSpec(name=name, rows=rows, merges=s.merges, font=".VnTime")

    data = xls(day_sheet("10.8", 10), day_sheet("11.8", 11), day_sheet("12.8", 12), active=0)
    result = read(data, filename="a.xls", day=dt.date(2021, 8, 11))
    assert result.detected_format == "xls"
    assert (result.sheet, result.sheet_reason) == ("11.8", "day_name")
    assert result.values["ho_kinh_doanh"]["kinh_phi"] == 11_000_000
    assert result.unit_text == "UBND phường Sông Cầu"
    other_day = read(data, filename="a.xls", day=dt.date(2021, 8, 20))
    assert (other_day.sheet, other_day.sheet_reason) == ("10.8", "active")


def test_encrypted_xls_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import xlrd

    from parsers.model import ReadLimits
    from parsers.readers import GridError
    from parsers.readers.xls import read_xls

    def refuse(**_kwargs: object) -> None:
        raise xlrd.XLRDError("Workbook is encrypted")  # what xlrd says on a FILEPASS record

    monkeypatch.setattr(xlrd, "open_workbook", refuse)
    with pytest.raises(GridError) as err:
        read_xls(b"\xd0\xcf\x11\xe0", ReadLimits(), "a.xls")
    assert err.value.problem.code == "encrypted_file"


# ---------------------------------------------------------------- sheet choice


def day_sheets(active: int, names=("9.8", "10.8", "11.8")) -> bytes:
    sheets = []
    for i, name in enumerate(names):
        title = [["Đơn vị: UBND phường Phùng Chí Kiên"], [f"Số liệu tính đến ngày {name.split('.')[0]}/8/2021"], []]
        sheets.append(two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (i + 1,) * 5)], name=name, title_rows=title))
    return xlsx(*sheets, active=active)


def test_sheet_for_the_reporting_day_by_name() -> None:
    result = read(day_sheets(active=0), day=dt.date(2021, 8, 10))
    assert (result.sheet, result.sheet_reason) == ("10.8", "day_name")
    assert result.values["ho_kinh_doanh"] == {
        "de_nghi": 2,
        "phe_duyet": 2,
        "da_chi": 2,
        "kinh_phi": 2_000_000,
        "tien_da_chi": 2_000_000,
    }
    assert result.as_of == dt.date(2021, 8, 10)


def test_sheet_for_the_reporting_day_by_date_written_in_it() -> None:
    sheets = []
    for i, d in enumerate((9, 10, 11)):
        title = [[f"Số liệu tính đến ngày {d}/08/2021"], []]
        sheets.append(
            two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (d,) * 5)], name=f"Trang {i + 1}", title_rows=title)
        )
    data = xlsx(*sheets, active=0)
    result = read(data, day=dt.date(2021, 8, 11))
    assert (result.sheet, result.sheet_reason) == ("Trang 3", "day_date")
    assert result.values["ho_kinh_doanh"]["de_nghi"] == 11


def test_active_sheet_when_no_sheet_is_for_the_day() -> None:
    result = read(day_sheets(active=1), day=dt.date(2021, 8, 25))
    assert (result.sheet, result.sheet_reason) == ("10.8", "active")
    result = read(day_sheets(active=1), day=None)
    assert (result.sheet, result.sheet_reason) == ("10.8", "active")


def test_only_sheet_with_a_table() -> None:
    notes = SheetSpec(name="Hướng dẫn", rows=[["Điền số liệu vào trang Báo cáo"]])
    data = xlsx(notes, two_row_header_sheet(name="Báo cáo"), active=0)
    result = read(data)
    assert (result.sheet, result.sheet_reason) == ("Báo cáo", "only")


def test_hidden_sheet_is_not_preferred() -> None:
    hidden = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (1,) * 5)], name="11.8 (cũ)")
    hidden.hidden = True
    shown = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (2,) * 5)], name="11.8")
    result = read(xlsx(hidden, shown, active=1), day=dt.date(2021, 8, 11))
    assert result.sheet == "11.8"


def test_docx_letterhead_table_before_the_report_table() -> None:
    import io

    import docx

    document = docx.Document()
    letterhead = document.add_table(rows=2, cols=2)
    letterhead.cell(0, 0).text = "ỦY BAN NHÂN DÂN PHƯỜNG ĐỨC XUÂN"
    letterhead.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    letterhead.cell(1, 0).text = "Đơn vị: UBND phường Đức Xuân"
    document.add_paragraph("Số liệu tính đến ngày 12/8/2021")
    table = document.add_table(rows=2, cols=3)
    for c, text in enumerate(["Nội dung", "Số đề nghị", "Số được phê duyệt"]):
        table.cell(0, c).text = text
    for c, text in enumerate(["Hỗ trợ hộ kinh doanh", "12", "10"]):
        table.cell(1, c).text = text
    buf = io.BytesIO()
    document.save(buf)
    result = read(buf.getvalue(), filename="a.docx")
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 12, "phe_duyet": 10}}
    assert (result.sheet, result.sheet_reason) == ("2", "only")
    assert result.unit_text == "UBND phường Đức Xuân"
    assert result.as_of == dt.date(2021, 8, 12)
