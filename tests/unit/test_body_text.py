"""Figures typed in the plain-text body: one quirk of how units write them per test."""

from __future__ import annotations

import datetime as dt

from parsers.body import read_body
from parsers.model import AttachmentResult, FormSpec, IndicatorSpec, MeasureSpec, ParsedMessage
from tests.unit.builders import FORM

DAY = dt.date(2021, 8, 16)


def body(text: str = "", html: str = "") -> ParsedMessage:
    return ParsedMessage(
        message_id="m@x",
        from_address="a@x.vn",
        from_name=None,
        subject="Báo cáo",
        date_header=None,
        automatic_reason=None,
        attachments=(),
        body_text=text,
        body_html=html,
    )


def read(text: str = "", html: str = "") -> AttachmentResult | None:
    return read_body(body(text, html), FORM, DAY)


def values(result: AttachmentResult | None) -> dict[str, dict[str, int | float]]:
    assert result is not None
    return {
        i: {m: (int(v) if v == v.to_integral_value() else float(v)) for m, v in row.items()}
        for i, row in result.values.items()
    }


def flags(result: AttachmentResult | None) -> list[tuple[str, str, str]]:
    assert result is not None
    return [
        (p.params["indicator_code"], p.params["measure_code"], p.params["reason"])
        for p in result.problems
        if p.code == "uncertain_figure"
    ]


def test_numbered_list_with_aliases_and_money_words() -> None:
    result = read(
        "Kính gửi: Phòng LĐTBXH thành phố\n\n"
        "UBND phường A báo cáo nhanh kết quả thực hiện NQ 68 đến hết ngày 16/8/2021 như sau:\n\n"
        "1. Hỗ trợ NLĐ tạm hoãn HĐLĐ, nghỉ việc không hưởng lương: đề nghị 41 người, phê duyệt 40 người, "
        "kinh phí 120,55 triệu đồng; đã chi trả 12 người, số tiền 30,5 tr.đ.\n"
        "2. NLĐ ngừng việc: đề nghị 7, được duyệt 6 người (6 triệu đồng).\n"
        "3. Hỗ trợ trẻ em, F0, F1: 12 trường hợp đề nghị, 11 trường hợp được phê duyệt, kinh phí 11tr.\n"
        "4. Hộ kinh doanh: đề nghị 30 hộ, phê duyệt 28 hộ, KP 84 tr.đ; đã chi 20 hộ = 60 tr.đ.\n\n"
        "Bản có chữ ký sẽ gửi sau ạ.\n"
    )
    assert values(result) == {
        "tam_hoan_hdld": {
            "de_nghi": 41,
            "phe_duyet": 40,
            "kinh_phi": 120_550_000,
            "da_chi": 12,
            "tien_da_chi": 30_500_000,
        },
        "ngung_viec": {"de_nghi": 7, "phe_duyet": 6, "kinh_phi": 6_000_000},
        "tre_em_f0_f1": {"de_nghi": 12, "phe_duyet": 11, "kinh_phi": 11_000_000},
        "ho_kinh_doanh": {
            "de_nghi": 30,
            "phe_duyet": 28,
            "kinh_phi": 84_000_000,
            "da_chi": 20,
            "tien_da_chi": 60_000_000,
        },
    }
    assert result is not None and result.problems == ()
    assert (result.source, result.outcome, result.as_of) == ("body_text", "read", DAY)


def test_one_sentence_with_all_five_figures() -> None:
    result = read(
        "Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế - lũy kế đến ngày 16/8/2021: "
        "số đối tượng đề nghị 115, số được phê duyệt 94, kinh phí được phê duyệt 119,16 triệu đồng; "
        "số đã chi trả 67 đối tượng, số tiền đã chi trả 84,68 triệu đồng."
    )
    assert values(result) == {
        "tre_em_f0_f1": {
            "de_nghi": 115,
            "phe_duyet": 94,
            "kinh_phi": 119_160_000,
            "da_chi": 67,
            "tien_da_chi": 84_680_000,
        }
    }
    assert flags(result) == []


def test_a_measure_only_line_takes_the_indicator_of_the_lines_above() -> None:
    result = read(
        "Chi cục Thuế báo cáo kết quả xác nhận hộ kinh doanh, số liệu tính đến hết ngày 16/8/2021:\n"
        "- Số hộ kinh doanh đề nghị hỗ trợ: 1.331 hộ;\n"
        "- Số hộ được phê duyệt: 1.158 hộ.\n"
    )
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 1331, "phe_duyet": 1158}}
    assert flags(result) == []


def test_a_line_naming_something_else_does_not_take_the_indicator_above() -> None:
    result = read("Hộ kinh doanh: đề nghị 90 hộ\nSố cán bộ tham gia rà soát: 5 người\n")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 90}}


def test_a_blank_line_ends_what_a_paragraph_was_about() -> None:
    assert read("Hộ kinh doanh đã được rà soát xong.\n\nSố đề nghị: 40\n") is None


def test_money_scales_as_people_write_them() -> None:
    cases = {
        "kinh phí 1,5 tỷ đồng": 1_500_000_000,
        "kinh phí 120 triệu": 120_000_000,
        "kinh phí 84 tr.đ": 84_000_000,
        "kinh phí 84trđ": 84_000_000,
        "kinh phí 84.500 nghìn đồng": 84_500_000,
        "kinh phí 84.500.000 đ": 84_500_000,
        "kinh phí 84.500.000 đồng": 84_500_000,
    }
    for text, want in cases.items():
        result = read(f"Hộ kinh doanh: phê duyệt 28 hộ, {text}.")
        assert values(result)["ho_kinh_doanh"]["kinh_phi"] == want, text
        assert flags(result) == [], text


def test_money_without_a_unit_is_read_in_the_forms_unit_and_flagged() -> None:
    result = read("Hộ kinh doanh: phê duyệt 28 hộ, kinh phí 84.")
    assert values(result)["ho_kinh_doanh"]["kinh_phi"] == 84_000_000
    assert flags(result) == [("ho_kinh_doanh", "kinh_phi", "scale_not_stated")]


def test_a_separator_that_may_be_thousands_or_decimals_in_money_is_flagged() -> None:
    result = read("Hộ kinh doanh: phê duyệt 28 hộ, kinh phí 1,500 triệu đồng.")
    assert ("ho_kinh_doanh", "kinh_phi", "ambiguous_locale") in flags(result)


def test_money_with_no_telling_word_and_no_count_before_is_not_placed() -> None:
    result = read("Hộ kinh doanh: đề nghị 30 hộ, kinh phí 90 triệu đồng.")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 30}}
    assert flags(result) == [("ho_kinh_doanh", "", "no_measure")]


def test_a_figure_with_no_measure_is_flagged_without_a_value() -> None:
    result = read("Hộ kinh doanh: 90 hộ.")
    assert result is not None and result.outcome == "unreadable" and result.values == {}
    assert flags(result) == [("ho_kinh_doanh", "", "no_measure")]
    assert result.problems[0].params["row"] == "Hộ kinh doanh"
    assert result.problems[0].params["text"] == "90 hộ"


def test_dates_document_numbers_and_references_are_never_figures() -> None:
    assert (
        read(
            "Thực hiện Nghị quyết 68/NQ-CP ngày 01/7/2021 và Quyết định số 23/2021/QĐ-TTg, "
            "NQ 68, công văn 1234/UBND-VX, hỗ trợ F0, F1, Covid-19 lúc 8h30 ngày 16.8, đạt 95%."
        )
        is None
    )


def test_a_figure_stated_twice_differently_keeps_the_first_and_flags_both() -> None:
    result = read("Hộ kinh doanh: đề nghị 30 hộ.\nHộ kinh doanh: đề nghị 31 hộ.")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 30}}
    assert flags(result) == [("ho_kinh_doanh", "de_nghi", "stated_twice")] * 2


def test_the_forms_checks_run_on_body_figures() -> None:
    result = read("Hộ kinh doanh: đề nghị 30 hộ, phê duyệt 35 hộ.")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 35}}
    assert result is not None and [p.code for p in result.problems] == ["check_failed"]


def test_a_body_that_mentions_numbers_but_is_not_a_report() -> None:
    assert (
        read(
            "Kính gửi anh chị,\nĐơn vị gửi kèm 2 tệp báo cáo ngày 16/8 và 3 ảnh chụp.\n"
            "Đề nghị anh chị xem giúp trước 15 giờ.\nTrân trọng!"
        )
        is None
    )


def test_an_unrelated_number_next_to_an_indicator_is_left_alone() -> None:
    result = read("Hộ kinh doanh: đề nghị 90 hộ (tăng 5 hộ so với hôm qua), số hộ đang hoạt động 2.851 hộ.")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 90}}
    assert flags(result) == []


def test_label_after_the_figure() -> None:
    result = read("Hộ kinh doanh: 30 hộ đề nghị, 28 hộ được phê duyệt.")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 28}}


# ---- history and signature --------------------------------------------------------------

OWN = "Hộ kinh doanh: đề nghị 30 hộ, phê duyệt 28 hộ.\n"


def test_quoted_reply_with_old_figures_is_not_read() -> None:
    text = (
        OWN + "\nVào Th 2, 16 thg 8, 2021 vào lúc 08:44 Phòng LĐTBXH <baocao@x.vn> đã viết:\n"
        "> Hộ kinh doanh: đề nghị 25 hộ, phê duyệt 20 hộ, đã chi 10 hộ.\n> Lao động tự do: đề nghị 9 người.\n"
    )
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 28}}


def test_english_wrapped_on_wrote_line_starts_the_history() -> None:
    text = (
        OWN + "\nOn Mon, Aug 16, 2021 at 8:44 AM Phong LDTBXH\n<baocao@x.vn> wrote:\n\n"
        "Lao động tự do: đề nghị 9 người.\n"
    )
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 28}}


def test_outlook_reply_header_starts_the_history() -> None:
    text = (
        OWN + "\n________________________________\nFrom: Phòng LĐTBXH <baocao@x.vn>\n"
        "Sent: Monday, August 16, 2021 8:44 AM\nTo: ketoan@x.vn\nSubject: Báo cáo\n\n"
        "Lao động tự do: đề nghị 9 người.\n"
    )
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 28}}
    text = (
        OWN + "\nTừ: Phòng LĐTBXH <baocao@x.vn>\nĐã gửi: 16/08/2021 8:44\nĐến: ketoan@x.vn\n"
        "Chủ đề: Báo cáo\n\nLao động tự do: đề nghị 9 người.\n"
    )
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 28}}


def test_original_message_separator_starts_the_history() -> None:
    text = OWN + "\n-----Original Message-----\nLao động tự do: đề nghị 9 người.\n"
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 28}}


def test_a_forwarded_report_is_not_read() -> None:
    text = (
        "Chuyển tiếp báo cáo của phường.\n\n---------- Forwarded message ---------\n"
        "From: UBND phường <p@x.vn>\nDate: Mon, Aug 16, 2021\nSubject: Báo cáo\n\n" + OWN
    )
    assert read(text) is None
    assert read("Gửi anh.\n\n---------- Thư đã chuyển tiếp ----------\n" + OWN) is None


def test_signature_with_phone_address_and_date_gives_no_figure() -> None:
    text = (
        OWN + "\nTrân trọng!\n--\nHà Thị A\nKế toán - Chi cục Thuế\nĐT: 0209.3870.215 - DĐ: 0912 345 678\n"
        "Địa chỉ: Số 12, tổ 5, phường Đức Xuân; ngày 16/8/2021\nHộ kinh doanh: đề nghị 99 hộ\n"
    )
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 30, "phe_duyet": 28}}


def test_a_phone_number_is_no_figure_even_in_a_statement() -> None:
    result = read("Hộ kinh doanh: đề nghị 30 hộ, liên hệ 0209.3870.215.")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 30}}
    assert flags(result) == []


# ---- tables in plain text -----------------------------------------------------------------


def test_tab_separated_table_with_one_header_row() -> None:
    text = (
        "Số liệu tính đến ngày 16/08/2021:\n\n"
        "STT\tNội dung\tSố đề nghị\tSố được phê duyệt\tKinh phí phê duyệt (triệu đồng)\n"
        "1\tHỗ trợ hộ kinh doanh\t25\t22\t66\n2\tLao động tự do\t46\t40\t60,5\n"
    )
    result = read(text)
    assert values(result) == {
        "ho_kinh_doanh": {"de_nghi": 25, "phe_duyet": 22, "kinh_phi": 66_000_000},
        "lao_dong_tu_do": {"de_nghi": 46, "phe_duyet": 40, "kinh_phi": 60_500_000},
    }
    assert result is not None and (result.source, result.as_of) == ("body_text", DAY)


def test_tab_separated_money_whose_scale_is_stated_nowhere_is_flagged() -> None:
    text = (
        "STT\tNội dung\tSố đề nghị\tSố được phê duyệt\tKinh phí phê duyệt\n"
        "1\tHỗ trợ hộ kinh doanh\t25\t22\t66\n2\tLao động tự do\t46\t40\t60,5\n"
    )
    result = read(text)
    assert values(result)["lao_dong_tu_do"] == {"de_nghi": 46, "phe_duyet": 40, "kinh_phi": 60_500_000}
    assert sorted(flags(result)) == [
        ("ho_kinh_doanh", "kinh_phi", "scale_not_stated"),
        ("lao_dong_tu_do", "kinh_phi", "scale_not_stated"),
    ]


def test_tab_separated_table_whose_merged_header_lost_its_shape_is_not_read_as_a_table() -> None:
    text = (
        "STT\tNội dung\tSố đối tượng\tKinh phí (triệu đồng)\n"
        "Đề nghị hỗ trợ\tĐược phê duyệt\tĐược phê duyệt\n"
        "1\tHỗ trợ hộ kinh doanh\t25\t22\t66\n"
    )
    assert read(text) is None  # under the shifted headings 25 would be "Được phê duyệt"


def test_one_cell_per_line_table_as_outlook_writes_the_plain_text() -> None:
    text = (
        "Số liệu tính đến ngày 16/08/2021 như sau:\n\nSTT\nNội dung chính sách\nSố đề nghị\nSố được phê duyệt\n"
        "Kinh phí phê duyệt (triệu đồng)\n\n1\nHỗ trợ hộ kinh doanh\n25\n22\n66\n\nTrân trọng!\n"
    )
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 25, "phe_duyet": 22, "kinh_phi": 66_000_000}}


def test_decimal_figures_of_money_in_one_cell_per_line_are_exact() -> None:
    text = "STT\nNội dung\nSố đề nghị\nKinh phí phê duyệt (triệu đồng)\n\n1\nHộ kinh doanh\n1.331\n116,48\n"
    assert values(read(text)) == {"ho_kinh_doanh": {"de_nghi": 1331, "kinh_phi": 116_480_000}}


def test_empty_body_gives_nothing() -> None:
    assert read("") is None
    assert read("   \n\n") is None
    assert read("1\n") is None


def test_a_count_unit_that_names_the_indicator() -> None:
    result = read("Đã chi trả cho 55 hộ kinh doanh với số tiền 165 triệu đồng.")
    assert values(result) == {"ho_kinh_doanh": {"da_chi": 55, "tien_da_chi": 165_000_000}}
    assert flags(result) == []


def test_the_money_of_the_count_before_is_never_taken_across_indicators() -> None:
    result = read("Hộ kinh doanh phê duyệt 28 hộ, lao động tự do 60 triệu đồng.")
    assert values(result) == {"ho_kinh_doanh": {"phe_duyet": 28}}
    assert flags(result) == [("lao_dong_tu_do", "", "no_measure")]


AGE_FORM = FormSpec(
    (
        MeasureSpec("doi_tuong", "Số trẻ trong diện tiêm", ("Số đối tượng",)),
        MeasureSpec("da_tiem", "Số trẻ đã được tiêm", ("Đã tiêm",)),
    ),
    (
        IndicatorSpec("tu_1_5", "Trẻ từ 1 đến 5 tuổi", ("Trẻ 1-5 tuổi",)),
        IndicatorSpec("tu_6_10", "Trẻ từ 6 đến 10 tuổi", ("Từ 6 - 10 tuổi",)),
    ),
)


def test_rows_whose_names_hold_numbers_are_found_and_their_numbers_are_no_figures() -> None:
    # "Trẻ từ 1 đến 5 tuổi": the 1 and the 5 name the row (by its label or an alias)
    result = read_body(
        body(
            "Trạm Y tế xã A báo cáo kết quả tiêm đến 16 giờ ngày 16/8/2021:\n\n"
            "1. Trẻ từ 1 đến 5 tuổi: số trẻ trong diện tiêm: 157 trẻ, đã tiêm 35 trẻ.\n"
            "- Từ 6 - 10 tuổi: số đối tượng 1.100 cháu, số trẻ đã được tiêm 227 trẻ.\n"
        ),
        AGE_FORM,
        DAY,
    )
    assert values(result) == {
        "tu_1_5": {"doi_tuong": 157, "da_tiem": 35},
        "tu_6_10": {"doi_tuong": 1100, "da_tiem": 227},
    }
    assert result is not None and result.problems == ()
