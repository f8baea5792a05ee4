"""Vietnamese text the way units' machines write it: legacy fonts, NFD, Ð, old tones."""

from __future__ import annotations

import unicodedata

from parsers.vnlegacy import encode_tcvn3, encode_vni
from tests.unit.builders import TITLE_ROWS, SheetSpec, two_row_header_sheet, xlsx
from tests.unit.test_report_layout import read

ROWS = [
    ("Hỗ trợ viên chức, người lao động hoạt động nghệ thuật", (24, 22, 13, 66.78, 38.955)),
    ("Hỗ trợ hướng dẫn viên du lịch", (17, 14, 10, 51.94, 37.1)),
]
EXPECTED = {
    "nghe_thuat": {"de_nghi": 24, "phe_duyet": 22, "da_chi": 13, "kinh_phi": 66_780_000, "tien_da_chi": 38_955_000},
    "huong_dan_vien": {"de_nghi": 17, "phe_duyet": 14, "da_chi": 10, "kinh_phi": 51_940_000, "tien_da_chi": 37_100_000},
}


def transformed(sheet: SheetSpec, fn, font: str | None = None) -> SheetSpec:
    rows = [[fn(v) if isinstance(v, str) else v for v in row] for row in sheet.rows]
    return SheetSpec(name=sheet.name, rows=rows, merges=sheet.merges, font=font)


def test_tcvn3_cells_in_vntime_font() -> None:
    sheet = transformed(two_row_header_sheet(ROWS), encode_tcvn3, font=".VnTime")
    assert "Hç trî" in sheet.rows[len(TITLE_ROWS) + 2][0]
    result = read(xlsx(sheet))
    assert result.values == EXPECTED
    assert result.unit_text == "UBND phường Sông Cầu"
    assert result.as_of is not None


def test_tcvn3_cells_without_a_font_hint_are_detected() -> None:
    sheet = transformed(two_row_header_sheet(ROWS), encode_tcvn3, font="Arial")
    assert read(xlsx(sheet)).values == EXPECTED


def test_vni_cells_in_vni_font() -> None:
    sheet = transformed(two_row_header_sheet(ROWS), encode_vni, font="VNI-Times")
    result = read(xlsx(sheet))
    assert result.values == EXPECTED
    assert result.unit_text == "UBND phường Sông Cầu"


def test_nfd_text_everywhere() -> None:
    sheet = transformed(two_row_header_sheet(ROWS), lambda t: unicodedata.normalize("NFD", t))
    result = read(xlsx(sheet))
    assert result.values == EXPECTED
    assert result.unit_text == unicodedata.normalize("NFC", "UBND phường Sông Cầu")


def test_eth_typed_for_d_with_stroke() -> None:
    sheet = transformed(two_row_header_sheet(ROWS), lambda t: t.replace("Đ", "\u00d0").replace("đ", "\u00f0"))
    assert "\u00d0ề nghị hỗ trợ" in sheet.rows[len(TITLE_ROWS) + 1]
    result = read(xlsx(sheet))
    assert result.values == EXPECTED
    assert result.unit_text == "UBND phường Sông Cầu"


def test_old_tone_placement_and_case_and_spacing() -> None:
    rows = [
        ("  HỖ TRỢ   VIÊN CHỨC , NGƯỜI LAO ĐỘNG HOẠT ĐỘNG NGHỆ THUẬT ", (24, 22, 13, 66.78, 38.955)),
        ("hỗ trợ hướng dẫn viên du lịch", (17, 14, 10, 51.94, 37.1)),
    ]
    sheet = two_row_header_sheet(rows)
    sheet = transformed(sheet, lambda t: t.replace("Kinh phí", "Kinh  phí"))
    assert read(xlsx(sheet)).values == EXPECTED


def test_old_and_new_tone_placement_match() -> None:
    from parsers.model import FormSpec, IndicatorSpec, MeasureSpec

    form = FormSpec(
        (MeasureSpec("so_luong", "Số lượng"),), (IndicatorSpec("van_hoa", "Hỗ trợ thiết chế văn hóa, thủy lợi"),)
    )
    sheet = SheetSpec(rows=[["Nội dung", "Số lượng"], ["Hỗ trợ thiết chế văn hoá, thuỷ lợi", 3]])
    assert read(xlsx(sheet), form=form).values == {"van_hoa": {"so_luong": 3}}
