"""Finding the report table without a fixed layout: one quirk per test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from parsers.model import AttachmentResult, FormSpec
from parsers.report import read_attachment
from tests.unit.builders import (
    FORM,
    TITLE_ROWS,
    SheetSpec,
    docx_bytes,
    one_row_header_sheet,
    two_row_header_sheet,
    xlsx,
)


def read(
    data: bytes, filename: str = "bao-cao.xlsx", day: dt.date | None = None, form: FormSpec = FORM
) -> AttachmentResult:
    return read_attachment(filename, "application/octet-stream", data, form, day)


def codes(result: AttachmentResult) -> list[str]:
    return [p.code for p in result.problems]


def test_merged_two_row_header_gives_every_measure() -> None:
    result = read(xlsx(two_row_header_sheet()))
    assert result.outcome == "read"
    assert result.values["ngung_viec"] == {
        "de_nghi": 53,
        "phe_duyet": 46,
        "da_chi": 27,
        "kinh_phi": 46_000_000,
        "tien_da_chi": 27_000_000,
    }
    assert result.values["tam_hoan_hdld"]["kinh_phi"] == Decimal(126_140_000)
    assert result.problems == ()


def test_parent_decides_between_count_and_money_for_the_same_child_text() -> None:
    # "Được phê duyệt" appears under "Số đối tượng" (count) and "Kinh phí" (money).
    result = read(xlsx(two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (9, 8, 7, 6, 5))])))
    assert result.values["ho_kinh_doanh"] == {
        "de_nghi": 9,
        "phe_duyet": 8,
        "da_chi": 7,
        "kinh_phi": 6_000_000,
        "tien_da_chi": 5_000_000,
    }


def test_numbering_prefixes_in_label_cells() -> None:
    rows = [
        ("I.1. Hỗ trợ người lao động ngừng việc", (1, 1, 1, 1, 1)),
        ("a) Hỗ trợ hộ kinh doanh", (2, 2, 2, 2, 2)),
        ("- Hỗ trợ hướng dẫn viên du lịch", (3, 3, 3, 3, 3)),
        ("12. Hỗ trợ người lao động không có giao kết hợp đồng lao động (lao động tự do)", (4, 4, 4, 4, 4)),
    ]
    result = read(xlsx(two_row_header_sheet(rows)))
    assert {k: v["de_nghi"] for k, v in result.values.items()} == {
        "ngung_viec": 1,
        "ho_kinh_doanh": 2,
        "huong_dan_vien": 3,
        "lao_dong_tu_do": 4,
    }


def test_columns_in_another_order_and_an_extra_numeric_column() -> None:
    sheet = one_row_header_sheet(
        [
            "TT",
            "Nội dung",
            "Số được phê duyệt",
            "Số hộ kinh doanh đang hoạt động trên địa bàn",
            "Số đề nghị",
            "Ghi chú",
        ],
        [[1, "Hỗ trợ hộ kinh doanh", "1.075", 2847, "1.236", "đối chiếu 1.236 hồ sơ"]],
    )
    result = read(xlsx(sheet))
    assert result.values == {"ho_kinh_doanh": {"phe_duyet": 1075, "de_nghi": 1236}}
    assert result.problems == ()


def test_aliases_for_labels_and_headers() -> None:
    sheet = one_row_header_sheet(
        [
            "STT",
            "Nội dung",
            "Số đề nghị",
            "Số được phê duyệt",
            "Kinh phí phê duyệt (nghìn đồng)",
            "Số đã chi trả",
            "Số tiền đã chi (nghìn đồng)",
        ],
        [
            [1, "Tạm hoãn HĐLĐ, nghỉ việc không hưởng lương", 34, 28, 83475, 16, 48230],
            [2, "NLĐ ngừng việc", 41, 36, 36000, None, None],
            [3, "HKD", 46, 43, 129000, 29, 87000],
        ],
    )
    result = read(xlsx(sheet))
    assert result.values["tam_hoan_hdld"] == {
        "de_nghi": 34,
        "phe_duyet": 28,
        "kinh_phi": 83_475_000,
        "da_chi": 16,
        "tien_da_chi": 48_230_000,
    }
    assert result.values["ngung_viec"] == {"de_nghi": 41, "phe_duyet": 36, "kinh_phi": 36_000_000}
    assert result.values["ho_kinh_doanh"]["de_nghi"] == 46


def test_longer_label_wins_over_a_shorter_alias_it_contains() -> None:
    # "Hộ kinh doanh" is an alias of ho_kinh_doanh; "Hỗ trợ hộ kinh doanh gặp khó khăn"
    # contains it and nothing longer: still ho_kinh_doanh, and a total row is no indicator.
    sheet = one_row_header_sheet(
        ["Nội dung", "Số đề nghị"], [["Hỗ trợ hộ kinh doanh gặp khó khăn do Covid-19", 5], ["Tổng cộng", 5]]
    )
    assert read(xlsx(sheet)).values == {"ho_kinh_doanh": {"de_nghi": 5}}


def test_ambiguous_shortened_label_is_not_guessed() -> None:
    sheet = one_row_header_sheet(
        ["Nội dung", "Số đề nghị"], [["Hỗ trợ người lao động", 5], ["Hỗ trợ hộ kinh doanh", 7]]
    )
    assert read(xlsx(sheet)).values == {"ho_kinh_doanh": {"de_nghi": 7}}


def test_total_rows_are_never_indicators() -> None:
    rows = [("Hỗ trợ hộ kinh doanh", (2, 2, 2, 2, 2))]
    sheet = two_row_header_sheet(rows)
    extra = [list(r) for r in sheet.rows] + [
        ["Cộng", 9, 9, 9, 9, 9],
        ["Tổng số", 8, 8, 8, 8, 8],
        ["TỔNG CỘNG (I+II)", 7, 7, 7, 7, 7],
    ]
    result = read(xlsx(SheetSpec(rows=extra, merges=sheet.merges)))
    assert list(result.values) == ["ho_kinh_doanh"]
    assert result.problems == ()


def test_group_rows_and_column_number_row_are_ignored() -> None:
    rows = [
        ("I. NHÓM CHÍNH SÁCH HỖ TRỢ NGƯỜI LAO ĐỘNG", (None,) * 5),
        ("a) Hỗ trợ người lao động ngừng việc", (53, 46, 27, "46", "27")),
        ("II. NHÓM CHÍNH SÁCH HỖ TRỢ HỘ KINH DOANH VÀ ĐỐI TƯỢNG KHÁC", (None,) * 5),
        ("a) Hỗ trợ hộ kinh doanh", (26, 23, 14, "69", "42")),
    ]
    sheet = two_row_header_sheet(rows, total=False)
    body = [list(r) for r in sheet.rows]
    header_end = len(TITLE_ROWS) + 2
    body.insert(header_end, ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"])
    result = read(xlsx(SheetSpec(rows=body, merges=sheet.merges)))
    assert result.values == {
        "ngung_viec": {"de_nghi": 53, "phe_duyet": 46, "da_chi": 27, "kinh_phi": 46_000_000, "tien_da_chi": 27_000_000},
        "ho_kinh_doanh": {
            "de_nghi": 26,
            "phe_duyet": 23,
            "da_chi": 14,
            "kinh_phi": 69_000_000,
            "tien_da_chi": 42_000_000,
        },
    }
    assert result.problems == ()


def test_group_heading_with_subtotals_gives_way_to_the_indicator_row() -> None:
    sheet = one_row_header_sheet(
        ["Nội dung", "Số đề nghị"],
        [["II. Nhóm hỗ trợ hộ kinh doanh và đối tượng khác", 30], ["a) Hỗ trợ hộ kinh doanh", 26]],
    )
    result = read(xlsx(sheet))
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 26}}
    assert result.problems == ()


def test_indicator_twice_keeps_the_first_and_says_so() -> None:
    sheet = one_row_header_sheet(
        ["Nội dung", "Số đề nghị"], [["Hỗ trợ hộ kinh doanh", 26], ["Hỗ trợ hộ kinh doanh", 30]]
    )
    result = read(xlsx(sheet))
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 26}}
    assert codes(result) == ["duplicate_indicator"]
    assert result.problems[0].params["cell"] == "A11"
    assert result.problems[0].params["detail"] == "A10"


def test_code_column_of_the_generated_template_takes_precedence() -> None:
    sheet = one_row_header_sheet(
        ["Mã", "Nội dung", "Số đề nghị", "Số được phê duyệt"],
        [["ngung_viec", "Hỗ trợ hộ kinh doanh (ghi nhầm tên)", 4, 3], ["ho_kinh_doanh", "", 9, 8]],
    )
    result = read(xlsx(sheet))
    assert result.values == {
        "ngung_viec": {"de_nghi": 4, "phe_duyet": 3},
        "ho_kinh_doanh": {"de_nghi": 9, "phe_duyet": 8},
    }


def test_label_column_need_not_be_the_first() -> None:
    title = [["", "", "Đơn vị: UBND xã Dương Quang"], []]
    sheet = one_row_header_sheet(
        [None, None, "Nội dung chính sách", "Số đề nghị"], [[None, None, "Hỗ trợ hộ kinh doanh", 3]], title_rows=title
    )
    result = read(xlsx(sheet))
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 3}}
    assert result.unit_text == "UBND xã Dương Quang"


def test_title_mentioning_an_indicator_above_a_first_column_label_table() -> None:
    title = [["BÁO CÁO KẾT QUẢ HỖ TRỢ HỘ KINH DOANH"], []]
    sheet = one_row_header_sheet(
        ["Nội dung", "Số đề nghị", "Số được phê duyệt"], [["Hỗ trợ hộ kinh doanh", 5, 4]], title_rows=title
    )
    assert read(xlsx(sheet)).values == {"ho_kinh_doanh": {"de_nghi": 5, "phe_duyet": 4}}


def test_unit_line_and_as_of_line() -> None:
    result = read(xlsx(two_row_header_sheet()))
    assert result.unit_text == "UBND phường Sông Cầu"
    assert result.as_of == dt.date(2021, 8, 11)


def test_unit_name_in_the_next_cell_and_date_as_a_date_cell() -> None:
    title = [["Tên đơn vị:", None, "UBND phường Xuất Hoá"], ["Số liệu tính đến ngày:", dt.datetime(2021, 8, 12)], []]
    sheet = one_row_header_sheet(["Nội dung", "Số đề nghị"], [["Hộ kinh doanh", 5]], title_rows=title)
    result = read(xlsx(sheet))
    assert result.unit_text == "UBND phường Xuất Hoá"
    assert result.as_of == dt.date(2021, 8, 12)


def test_unit_of_measure_line_is_not_the_unit() -> None:
    title = [["Đơn vị tính: triệu đồng"], ["ĐƠN VỊ BÁO CÁO: Phòng Y tế"], []]
    sheet = one_row_header_sheet(
        ["Nội dung", "Số đề nghị", "Kinh phí được phê duyệt"], [["Hộ kinh doanh", 5, 2.5]], title_rows=title
    )
    result = read(xlsx(sheet))
    assert result.unit_text == "Phòng Y tế"
    assert result.values["ho_kinh_doanh"]["kinh_phi"] == 2_500_000


def test_a_scale_line_printed_above_a_document_table_counts() -> None:
    data = docx_bytes(
        [["Nội dung", "Số đề nghị", "Kinh phí được phê duyệt"], ["Hộ kinh doanh", "5", "2.600,5"]],
        paragraphs=["BÁO CÁO", "Đơn vị tính: hộ; tiền: nghìn đồng"],
    )
    result = read(data, "bao-cao.docx")
    assert result.values["ho_kinh_doanh"] == {"de_nghi": 5, "kinh_phi": 2_600_500}


def test_no_table_is_unreadable_with_a_named_problem() -> None:
    sheet = SheetSpec(rows=[["Kính gửi phòng LĐTBXH"], ["Đơn vị xin báo cáo như sau: 5 hộ"]])
    result = read(xlsx(sheet))
    assert result.outcome == "unreadable"
    assert codes(result) == ["no_table_found"]
    assert result.values == {}


def test_labels_without_any_known_header_is_no_table() -> None:
    sheet = one_row_header_sheet(["Nội dung", "Cột A", "Cột B"], [["Hỗ trợ hộ kinh doanh", 5, 4]])
    assert read(xlsx(sheet)).outcome == "unreadable"


def test_empty_and_dash_cells_are_absent_not_zero() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (5, "-", None, " ", "x"))])
    result = read(xlsx(sheet))
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 5}}
    assert result.problems == ()


def test_row_with_all_dashes_is_read_but_has_no_values() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", ("-",) * 5)])
    result = read(xlsx(sheet))
    assert result.outcome == "read"
    assert result.values == {}


def test_header_words_shortened_under_a_parent() -> None:
    sheet = SheetSpec(
        rows=[
            ["Nội dung", "Số đối tượng", None, "Kinh phí hỗ trợ (nghìn đồng)", None],
            [None, "Đề nghị", "Phê duyệt", "Phê duyệt", "Đã chi"],
            ["Hỗ trợ hộ kinh doanh", 9, 8, 700, 600],
        ],
        merges=["A1:A2", "B1:C1", "D1:E1"],
    )
    assert read(xlsx(sheet)).values == {
        "ho_kinh_doanh": {"de_nghi": 9, "phe_duyet": 8, "kinh_phi": 700_000, "tien_da_chi": 600_000}
    }


def test_money_parent_without_a_matching_child_reads_nothing_for_that_column() -> None:
    sheet = SheetSpec(
        rows=[
            ["Nội dung", "Số đề nghị", "Kinh phí (triệu đồng)"],
            [None, None, "Đề nghị"],
            ["Hỗ trợ hộ kinh doanh", 9, 700],
        ],
        merges=["A1:A2", "B1:B2"],
    )
    assert read(xlsx(sheet)).values == {"ho_kinh_doanh": {"de_nghi": 9}}


def test_unit_and_date_on_one_line() -> None:
    title = [["Đơn vị: UBND xã Nông Thượng - Số liệu tính đến ngày 12/8/2021"], []]
    sheet = one_row_header_sheet(["Nội dung", "Số đề nghị"], [["Hộ kinh doanh", 5]], title_rows=title)
    result = read(xlsx(sheet))
    assert result.unit_text == "UBND xã Nông Thượng"
    assert result.as_of == dt.date(2021, 8, 12)


# The as-of date: the unit's own "Số liệu tính đến ngày" line, not a date inside the title.
_QUICK_TITLE = ["BÁO CÁO NHANH SỐ LIỆU ĐẾN NGÀY 20/8/2021"]


def _as_of_of(title_rows: list[list[object]]) -> dt.date | None:
    sheet = one_row_header_sheet(["Nội dung", "Số đề nghị"], [["Hộ kinh doanh", 5]], title_rows=title_rows)
    result = read(xlsx(sheet))
    assert result.outcome == "read"
    return result.as_of


def test_the_units_as_of_line_wins_over_a_date_in_the_title() -> None:
    title = [_QUICK_TITLE, ["Đơn vị: UBND xã A"], ["Số liệu tính đến ngày 19/8/2021"], []]
    assert _as_of_of(title) == dt.date(2021, 8, 19)


def test_the_units_as_of_line_wins_wherever_it_stands() -> None:
    # after "Đơn vị: ..." on the unit's line, in brackets, as a date cell, below the table
    assert _as_of_of([_QUICK_TITLE, ["Đơn vị: UBND xã A   Số liệu tính đến ngày 18/8/2021"], []]) == dt.date(
        2021, 8, 18
    )
    assert _as_of_of([_QUICK_TITLE, ["(Số liệu tính đến ngày 18/8/2021)"], []]) == dt.date(2021, 8, 18)
    assert _as_of_of([_QUICK_TITLE, ["Tính đến ngày:", dt.datetime(2021, 8, 17)], []]) == dt.date(2021, 8, 17)
    sheet = SheetSpec(
        rows=[_QUICK_TITLE, [], ["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", 5], [], ["Số liệu đến ngày 16/8/2021"]]
    )
    assert read(xlsx(sheet)).as_of == dt.date(2021, 8, 16)


def test_stray_ocr_letters_before_the_as_of_line_keep_it_the_units() -> None:
    title = [["BÁO CÁO TIẾN ĐỘ TÍNH ĐẾN NGÀY 10/8/2021"], ["| __ Sđ liệu tính đến ngày 12/8/2021"], []]
    assert _as_of_of(title) == dt.date(2021, 8, 12)


def test_a_blank_as_of_line_is_not_filled_from_the_title() -> None:
    title = [_QUICK_TITLE, ["Số liệu tính đến ngày ....../....../........"], []]
    assert _as_of_of(title) is None


def test_a_date_in_the_title_is_the_as_of_date_when_the_unit_wrote_no_such_line() -> None:
    assert _as_of_of([_QUICK_TITLE, ["Đơn vị: UBND xã A"], []]) == dt.date(2021, 8, 20)
    title = [["BÁO CÁO KẾT QUẢ THỰC HIỆN CHÍNH SÁCH HỖ TRỢ TÍNH ĐẾN HẾT NGÀY 15/8/2021"], []]
    assert _as_of_of(title) == dt.date(2021, 8, 15)


def test_a_title_broken_after_den_ngay_takes_its_date_from_the_next_line() -> None:
    # a Word report printed to PDF (every k2 of the unseen sets): the title's date wrapped onto
    # the next line, and a sentence of the report states the period of the flood; the
    # sentence's date is no as-of date ("đến 14/09/2021" shown beside the unit in the digest)
    data = docx_bytes(
        [["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", 5]],
        paragraphs=[
            "Tình hình thiệt hại và kết quả hỗ trợ khắc phục hậu quả mưa lũ đến ngày",
            "20/09/2021",
            "Do ảnh hưởng của hoàn lưu bão số 5, từ ngày 11/9 đến ngày 14/9/2021 trên địa bàn xảy ra mưa to",
        ],
    )
    result = read(data, "bao-cao.docx")
    assert result.outcome == "read" and result.as_of == dt.date(2021, 9, 20)
    # an own as-of line broken the same way; a next line that does not open with a date is no date
    for after, want in [
        ("19/8/2021", dt.date(2021, 8, 19)),
        ("19 tháng 8 năm 2021", dt.date(2021, 8, 19)),
        ("Đơn vị: UBND xã A, ngày 19/8/2021", None),
        ("1. Theo Công văn ngày 18/9/2021", None),
    ]:
        data = docx_bytes(
            [["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", 5]], paragraphs=["Số liệu tính đến ngày", after]
        )
        assert read(data, "bao-cao.docx").as_of == want


def test_a_documents_as_of_paragraph_wins_over_its_title() -> None:
    data = docx_bytes(
        [["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", 5]],
        paragraphs=["BÁO CÁO NHANH SỐ LIỆU ĐẾN NGÀY 20/8/2021", "Đơn vị: UBND xã A", "Số liệu tính đến ngày 19/8/2021"],
    )
    result = read(data, "bao-cao.docx")
    assert result.outcome == "read" and result.as_of == dt.date(2021, 8, 19)
