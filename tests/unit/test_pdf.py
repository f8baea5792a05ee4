"""Text PDFs: tables from ruling lines or word alignment, continued tables, the number
locale of the document, scans told apart, and hostile files named."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from parsers.model import FormSpec, IndicatorSpec, MeasureSpec, ReadLimits
from parsers.readers import has_text_layer, read_grid
from parsers.readers.common import GridError
from parsers.readers.pdf import MAX_PDF_OBJECTS
from parsers.report import read_attachment
from tests.unit.builders import sample_form
from tests.unit.pdfbuild import A4, Page, pdf_bytes, ruled_table, with_incremental_update

DOCUMENTS = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples-documents"

# Labels without diacritics: the test PDFs are written in Helvetica (WinAnsi); money
# headers state their scale as "(tr.VND)" (a header stating none is flagged).
FORM = FormSpec(
    (
        MeasureSpec("de_nghi", "So de nghi", ("De nghi ho tro",), "count"),
        MeasureSpec("kinh_phi", "Kinh phi phe duyet", (), "money", 1_000_000),
    ),
    (
        IndicatorSpec("ho_kinh_doanh", "Ho tro ho kinh doanh"),
        IndicatorSpec("ngung_viec", "Ho tro nguoi lao dong ngung viec"),
        IndicatorSpec("tu_do", "Lao dong tu do"),
    ),
)
HEADER = ["Noi dung", "So de nghi", "Kinh phi phe duyet (tr.VND)"]
WIDTHS = [200, 80, 160]


def read(data: bytes, filename: str = "bc.pdf", form: FormSpec = FORM):
    return read_attachment(filename, "application/pdf", data, form, None)


def report_page(rows, *, ruled: bool = True, size=A4) -> Page:
    page = Page(size)
    page.text(40, 40, "UBND PHUONG A                                   CONG HOA XA HOI CHU NGHIA VIET NAM")
    page.text(40, 70, "BAO CAO TIEN DO")
    bottom = ruled_table(page, 100, [HEADER, *rows], WIDTHS, ruled=ruled)
    # paragraphs, "Noi nhan" and the signature block below the table are no cells
    page.text(40, bottom + 20, "Noi nhan: Lao dong tu do 999; Ho tro ho kinh doanh 5 ho")
    page.text(300, bottom + 40, "CHU TICH    12")
    return page


def test_a_ruled_table_is_read_like_a_spreadsheet() -> None:
    data = pdf_bytes(
        [report_page([["Ho tro ho kinh doanh", "1.331", "57,06"], ["Ho tro nguoi lao dong ngung viec", "12", "-"]])]
    )
    result = read(data)
    assert (result.outcome, result.source, result.detected_format) == ("read", "text_pdf", "pdf")
    assert result.values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(57_060_000)},
        "ngung_viec": {"de_nghi": Decimal(12)},
    }
    assert result.problems == ()


def test_a_column_number_line_under_an_unruled_header_makes_no_columns() -> None:
    # numbers right-aligned in their columns, the "(1) (2) (3)" marks centred: the marks
    # are no row of figures and no columns of their own
    page = Page(A4)
    page.text(40, 40, "BAO CAO TIEN DO")
    for x, text in [(43, "Noi dung"), (250, "So de nghi"), (330, "Kinh phi phe duyet (tr.VND)")]:
        page.text(x, 100, text)
    for x, text in [(130, "(1)"), (275, "(2)"), (400, "(3)")]:
        page.text(x, 118, text)
    for y, label, count, money in [
        (136, "Ho tro ho kinh doanh", "1.331", "57,06"),
        (154, "Lao dong tu do", "12", "3,5"),
    ]:
        page.text(43, y, label)
        page.text(318 - 5.6 * len(count), y, count)
        page.text(478 - 5.6 * len(money), y, money)
    assert read(pdf_bytes([page])).values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(57_060_000)},
        "tu_do": {"de_nghi": Decimal(12), "kinh_phi": Decimal(3_500_000)},
    }


def test_cells_carry_their_page_and_the_lines_above_are_notes() -> None:
    data = pdf_bytes([report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]])])
    grid = read_grid(data, "pdf", ReadLimits(), "bc.pdf")
    (sheet,) = grid.sheets
    assert sheet.cells[(2, 2)].text == "1.331" and sheet.cells[(2, 2)].page == 1
    assert sheet.notes[1] == "BAO CAO TIEN DO"
    assert "   " in sheet.notes[0]  # two columns of the letterhead stay apart
    assert all("Noi nhan" not in c.text for c in sheet.cells.values())
    assert sheet.number_locale == "vi"


def test_the_last_revision_of_an_incrementally_updated_pdf_is_read() -> None:
    original = pdf_bytes([report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]])])
    updated = with_incremental_update(original, report_page([["Ho tro ho kinh doanh", "1.332", "57,06"]]))
    assert updated.startswith(original) and updated.count(b"%%EOF") == 2
    assert read(updated).values == {"ho_kinh_doanh": {"de_nghi": Decimal(1332), "kinh_phi": Decimal(57_060_000)}}


def test_text_printed_twice_over_itself_is_read_once() -> None:
    page = report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]])
    page.texts += [(x + 0.2, y, text) for x, y, text in page.texts]  # bold faked by printing twice
    assert read(pdf_bytes([page])).values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(57_060_000)}
    }


def test_a_landscape_page() -> None:
    data = pdf_bytes([report_page([["Lao dong tu do", "65", "88,5"]], size=(842.0, 595.0))])
    assert read(data).values == {"tu_do": {"de_nghi": Decimal(65), "kinh_phi": Decimal(88_500_000)}}


def test_a_landscape_page_stored_turned_a_quarter() -> None:
    page = Page((842.0, 595.0), rotate=90)  # portrait MediaBox, /Rotate 90: upright when shown
    page.text(40, 40, "BAO CAO")
    ruled_table(page, 100, [HEADER, ["Ho tro ho kinh doanh", "1.331", "57,06"]], WIDTHS)
    assert read(pdf_bytes([page])).values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(57_060_000)}
    }


@pytest.mark.parametrize("repeat_header", [True, False])
def test_a_table_continued_on_the_next_page_is_one_table(repeat_header: bool) -> None:
    first = Page()
    first.text(40, 40, "BAO CAO")
    ruled_table(first, 700, [HEADER, ["Ho tro ho kinh doanh", "35", "99"]], WIDTHS)
    second = Page()
    rows = [["Ho tro nguoi lao dong ngung viec", "64", "54,5"], ["Lao dong tu do", "47", "64,5"]]
    bottom = ruled_table(second, 50, [HEADER, *rows] if repeat_header else rows, WIDTHS)
    second.text(300, bottom + 40, "NGUOI LAP BIEU")
    data = pdf_bytes([first, second])
    grid = read_grid(data, "pdf", ReadLimits(), "bc.pdf")
    assert len(grid.sheets) == 1
    assert sorted({c.page for c in grid.sheets[0].cells.values()}) == [1, 2]
    assert sum(1 for c in grid.sheets[0].cells.values() if c.text == "Noi dung") == 1
    result = read(data)
    assert result.values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(35), "kinh_phi": Decimal(99_000_000)},
        "ngung_viec": {"de_nghi": Decimal(64), "kinh_phi": Decimal(54_500_000)},
        "tu_do": {"de_nghi": Decimal(47), "kinh_phi": Decimal(64_500_000)},
    }
    assert result.problems == ()


def test_two_reports_on_two_pages_are_two_tables() -> None:
    pages = []
    for day, figure in (("15/08/2021", "30"), ("16/08/2021", "35")):
        page = Page()
        page.text(40, 40, "BAO CAO TIEN DO")
        page.text(40, 55, f"Ngay {day}")
        bottom = ruled_table(page, 100, [HEADER, ["Ho tro ho kinh doanh", figure, "9"]], WIDTHS)
        page.text(300, bottom + 30, "CHU TICH")
        pages.append(page)
    grid = read_grid(pdf_bytes(pages), "pdf", ReadLimits(), "bc.pdf")
    assert [sorted({c.page for c in s.cells.values()}) for s in grid.sheets] == [[1], [2]]
    assert grid.sheets[1].notes[-1] == "Ngay 16/08/2021"


@pytest.mark.parametrize("horizontal_rules", [False, True])
def test_a_table_without_ruling_lines_is_read_from_the_alignment_of_its_words(horizontal_rules: bool) -> None:
    page = report_page(
        [["Ho tro ho kinh doanh", "1.331", "57,06"], ["Ho tro nguoi lao dong ngung viec", "12", "3,5"]], ruled=False
    )
    if horizontal_rules:  # a Word table style with rules between rows and no column lines
        for i in range(4):
            page.line(40, 100 + 18 * i, 480, 100 + 18 * i)
    result = read(pdf_bytes([page]))
    assert result.outcome == "read", result.problems
    assert result.values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(57_060_000)},
        "ngung_viec": {"de_nghi": Decimal(12), "kinh_phi": Decimal(3_500_000)},
    }
    # the columns are inferred, not drawn: every figure is shown for checking
    flagged = {(p.params["indicator_code"], p.params["measure_code"]) for p in result.problems}
    assert flagged == {(i, m) for i, row in result.values.items() for m in row}
    assert {(p.code, p.params["reason"]) for p in result.problems} == {("uncertain_figure", "inferred_columns")}


def test_an_unruled_table_of_one_row_is_read() -> None:
    # a unit reporting one policy: one line of figures under its header
    result = read(pdf_bytes([report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]], ruled=False)]))
    assert result.outcome == "read", result.problems
    assert result.values == {"ho_kinh_doanh": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(57_060_000)}}
    assert {(p.code, p.params["reason"]) for p in result.problems} == {("uncertain_figure", "inferred_columns")}


def test_an_unruled_table_of_one_row_under_a_header_of_four_lines_is_read() -> None:
    # a Word report: a group heading over the measures and headers wrapped over three
    # lines, a rule under the header and one under the only row, sections around it
    page = Page()
    page.text(40, 40, "II. KET QUA HO TRO")
    page.text(40, 54, "Thuc hien Cong van so 1474/UBND-NN ngay 18/9/2021, phuong bao cao nhu sau:")
    page.text(300, 80, "Ket qua thuc hien den ngay 21/09/2021")
    for x, lines in (
        (45, ["STT"]),
        (120, ["Noi dung"]),
        (300, ["So de", "nghi"]),
        (400, ["Kinh phi phe", "duyet (tr.", "VND)"]),
    ):
        for k, text in enumerate(lines):
            page.text(x, 94 + 11 * k, text)
    page.line(40, 128, 520, 128)
    page.text(50, 134, "1")
    page.text(70, 134, "Ho tro ho kinh doanh")
    page.text(318, 134, "1.235")
    page.text(430, 134, "324,07")
    page.line(40, 148, 520, 148)
    page.text(40, 162, "III. KHO KHAN, VUONG MAC")
    page.text(40, 176, "Mot so ho di lam an xa chua ve nhan ho tro; don vi tiep tuc thong bao.")
    result = read(pdf_bytes([page]))
    assert result.outcome == "read", result.problems
    assert result.values == {"ho_kinh_doanh": {"de_nghi": Decimal(1235), "kinh_phi": Decimal(324_070_000)}}
    assert {(p.code, p.params["reason"]) for p in result.problems} == {("uncertain_figure", "inferred_columns")}


def test_money_whose_scale_is_stated_nowhere_is_flagged_never_silently_scaled() -> None:
    # a Word report whose money header states no scale and no "Don vi tinh" line above:
    # read in the measure's default scale (trieu dong), which the document does not confirm
    page = Page()
    page.text(40, 40, "BAO CAO")
    ruled_table(
        page, 70, [["Noi dung", "So de nghi", "Kinh phi phe duyet"], ["Lao dong tu do", "65", "345,18"]], WIDTHS
    )
    result = read(pdf_bytes([page]), filename="DT.pdf")
    assert result.values == {"tu_do": {"de_nghi": Decimal(65), "kinh_phi": Decimal(345_180_000)}}
    (problem,) = result.problems
    assert (problem.code, problem.params["reason"], problem.params["file"]) == (
        "uncertain_figure",
        "scale_not_stated",
        "DT.pdf",
    )
    assert (problem.params["row"], problem.params["column"]) == ("Lao dong tu do", "Kinh phi phe duyet")
    # stated in the header, the scale is the document's: nothing to check
    page = Page()
    page.text(40, 40, "BAO CAO")
    ruled_table(page, 70, [["Noi dung", "So de nghi", "Kinh phi (nghìn)"], ["Lao dong tu do", "65", "345,18"]], WIDTHS)
    result = read(pdf_bytes([page]))
    assert result.values == {"tu_do": {"de_nghi": Decimal(65), "kinh_phi": Decimal("345180")}}
    assert result.problems == ()


def test_a_figure_line_without_a_header_is_no_table() -> None:
    page = Page()
    page.text(40, 40, "Ho tro ho kinh doanh")
    page.text(250, 40, "1.331")
    page.text(330, 40, "57,06")
    page.text(40, 60, "Kinh gui: UBND quan, so de nghi va kinh phi phe duyet nhu tren.")
    assert read(pdf_bytes([page])).values == {}


def test_an_unruled_table_runs_on_to_the_next_page_without_its_header() -> None:
    # Word or LibreOffice: the table goes on at the top of page 2, its header not repeated;
    # there one row has figures and a column holds only "-" (no column of its own there)
    first = Page()
    first.text(40, 40, "BAO CAO")
    ruled_table(first, 740, [HEADER, ["Ho tro ho kinh doanh", "35", "99"]], WIDTHS, ruled=False)
    first.text(43, 772, "(ho ca the)")  # the last label wrapped under its figures
    first.text(280, 815, "Trang 1/2")
    second = Page()
    rows = [["Ho tro nguoi lao dong ngung viec", "-", "-"], ["Lao dong tu do", "47", "-"]]
    bottom = ruled_table(second, 50, rows, WIDTHS, ruled=False)
    second.text(300, bottom + 40, "NGUOI LAP BIEU")
    second.text(280, 815, "Trang 2/2")
    result = read(pdf_bytes([first, second]))
    assert result.values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(35), "kinh_phi": Decimal(99_000_000)},
        "tu_do": {"de_nghi": Decimal(47)},
    }
    assert {(p.code, p.params["reason"]) for p in result.problems} == {("uncertain_figure", "inferred_columns")}


def test_unruled_columns_set_close_keep_their_headers_and_figures_apart() -> None:
    # two narrow right-aligned columns: their headers and their figures nearly touch
    page = Page()
    page.text(40, 60, "Noi dung")
    page.text(250, 60, "So de nghi")
    page.text(298, 60, "Kinh phi phe duyet (tr.VND)")
    for y, label, count, money in ((80, "Ho tro ho kinh doanh", "1.003", "57,06"), (95, "Lao dong tu do", "12", "3,5")):
        page.text(40, y, label)
        page.text(292 - 4.5 * len(count), y, count)
        page.text(297, y, money)
    page.text(40, 130, "Noi nhan: nhu tren.")
    grid = read_grid(pdf_bytes([page]), "pdf", ReadLimits(), "bc.pdf")
    texts = {(r, c): cell.text for (r, c), cell in grid.sheets[0].cells.items()}
    assert texts[(1, 2)] == "So de nghi" and texts[(1, 3)] == "Kinh phi phe duyet (tr.VND)"
    assert texts[(2, 2)] == "1.003" and texts[(2, 3)] == "57,06"
    assert read(pdf_bytes([page])).values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(1003), "kinh_phi": Decimal(57_060_000)},
        "tu_do": {"de_nghi": Decimal(12), "kinh_phi": Decimal(3_500_000)},
    }


def test_unruled_columns_never_make_one_number_of_two_figures() -> None:
    page = Page()
    page.text(40, 60, "Noi dung")
    page.text(250, 60, "So de nghi")
    page.text(330, 60, "Kinh phi phe duyet (tr.VND)")
    page.text(40, 80, "Ho tro ho kinh doanh")
    page.text(270, 80, "35")
    page.text(330, 80, "105")  # a figure set in the wrong place, close to the one before
    page.text(40, 95, "Lao dong tu do")
    page.text(262, 95, "1.331")
    page.text(300, 95, "57,06")
    result = read(pdf_bytes([page]))
    for row in result.values.values():
        assert Decimal(35105) not in row.values() and Decimal(35_105_000_000) not in row.values()
    assert all(p.code in ("uncertain_figure", "not_a_number") for p in result.problems)


def test_an_unruled_table_under_a_ruled_letterhead_box_is_read() -> None:
    page = report_page([["Ho tro ho kinh doanh", "1.331", "57,06"], ["Lao dong tu do", "65", "88,5"]], ruled=False)
    ruled_table(page, 20, [["", ""]], [150, 150])  # a framed box of the letterhead, no figures
    result = read(pdf_bytes([page]))
    assert result.values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(57_060_000)},
        "tu_do": {"de_nghi": Decimal(65), "kinh_phi": Decimal(88_500_000)},
    }


def test_a_paragraph_with_figures_is_no_table() -> None:
    page = Page()
    page.text(40, 40, "Ho tro ho kinh doanh: de nghi 1.331 ho, duoc duyet 1.286 ho.")
    page.text(40, 55, "Lao dong tu do: de nghi 65 nguoi.")
    result = read(pdf_bytes([page]))
    assert result.outcome == "unreadable" and result.values == {}


def test_a_document_printed_with_english_regional_settings() -> None:
    data = pdf_bytes([report_page([["Ho tro ho kinh doanh", "454", "1,212"], ["Lao dong tu do", "1,331", "220.5"]])])
    result = read(data)
    assert result.values == {
        "ho_kinh_doanh": {"de_nghi": Decimal(454), "kinh_phi": Decimal(1_212_000_000)},
        "tu_do": {"de_nghi": Decimal(1331), "kinh_phi": Decimal(220_500_000)},
    }
    assert result.problems == ()


def test_a_lone_ambiguous_figure_is_flagged_never_silently_scaled() -> None:
    data = pdf_bytes([report_page([["Ho tro ho kinh doanh", "454", "1,212"]])])
    result = read(data, filename="TCKH.pdf")
    (problem,) = result.problems
    assert problem.code == "uncertain_figure"
    assert problem.params["reason"] == "ambiguous_locale"
    assert problem.params["file"] == "TCKH.pdf"
    assert (problem.params["row"], problem.params["column"]) == ("Ho tro ho kinh doanh", "Kinh phi phe duyet")
    assert (problem.params["indicator_code"], problem.params["measure_code"]) == ("ho_kinh_doanh", "kinh_phi")
    assert problem.params["text"] == "1,212"


def test_a_pdf_without_text_is_a_scan_and_goes_to_recognition() -> None:
    page = Page()
    ruled_table(page, 100, [["", "", ""]] * 3, WIDTHS)  # the lines of a form, no text
    data = pdf_bytes([page])
    assert has_text_layer(data, ReadLimits()) is False
    result = read(data)
    # recognised as a scan (parsers.ocr): an empty form yields no figure, never an invented one
    assert (result.source, result.outcome, dict(result.values)) == ("scan", "unreadable", {})
    assert has_text_layer(pdf_bytes([report_page([])]), ReadLimits()) is True


# ------------------------------------------------------------------ hostile files


def _codes(result) -> list[str]:
    return [p.code for p in result.problems]


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_a_truncated_pdf_is_named(cut: float) -> None:
    data = pdf_bytes([report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]])])
    result = read(data[: int(len(data) * cut)], filename="cut.pdf")
    assert result.outcome in ("unreadable", "evidence")
    assert result.values == {}
    assert result.problems and all(p.params.get("file") == "cut.pdf" for p in result.problems)


def test_a_password_protected_pdf_is_named() -> None:
    data = pdf_bytes([report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]])], encrypt_user_password="secret")
    result = read(data, filename="locked.pdf")
    assert (result.outcome, _codes(result)) == ("unreadable", ["encrypted_file"])
    assert result.problems[0].params["file"] == "locked.pdf"


def test_more_pages_than_the_limit_is_named() -> None:
    data = pdf_bytes([report_page([["Ho tro ho kinh doanh", "1", "2"]])] * 21)
    result = read(data, filename="long.pdf")
    assert (result.outcome, _codes(result)) == ("unreadable", ["over_limit"])
    assert result.problems[0].params == {"file": "long.pdf", "limit": "pages", "detail": "20"}
    with pytest.raises(GridError):
        has_text_layer(data, ReadLimits())


def test_a_pdf_whose_content_unpacks_past_the_cap_is_refused_before_it_is_unpacked() -> None:
    page = report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]])
    form = FormSpec(FORM.measures, FORM.indicators, limits=ReadLimits(max_decompressed_bytes=4 * 2**20))
    bomb = pdf_bytes([page], padding=8 * 2**20)
    assert len(bomb) < 20_000
    result = read(bomb, filename="bomb.pdf", form=form)
    assert (result.outcome, _codes(result)) == ("unreadable", ["over_limit"])
    assert result.problems[0].params == {"file": "bomb.pdf", "limit": "decompressed_bytes", "detail": str(4 * 2**20)}
    # the same page compressed, within the cap, is read
    assert read(pdf_bytes([page], padding=1000), form=form).values["ho_kinh_doanh"]["de_nghi"] == 1331


@pytest.mark.parametrize("broken_xref", [False, True])
def test_a_pdf_of_countless_objects_is_refused_before_pdfminer_parses_them(broken_xref: bool) -> None:
    page = report_page([["Ho tro ho kinh doanh", "1.331", "57,06"]])
    data = pdf_bytes([page], extra_objects=MAX_PDF_OBJECTS)
    if broken_xref:  # pdfminer would then read the whole file to find them
        data = data.replace(b"startxref\n", b"startxref\n9")
    result = read(data, filename="objects.pdf")
    assert (result.outcome, _codes(result)) == ("unreadable", ["over_limit"])
    assert result.problems[0].params == {"file": "objects.pdf", "limit": "pdf_objects", "detail": str(MAX_PDF_OBJECTS)}
    assert read(pdf_bytes([page], extra_objects=100)).values["ho_kinh_doanh"]["de_nghi"] == 1331


def test_a_pdf_of_no_page_is_named() -> None:
    result = read(pdf_bytes([]), filename="empty.pdf")
    assert (result.outcome, _codes(result)) == ("unreadable", ["empty_file"])


@pytest.mark.parametrize("data", [b"%PDF-1.7\n" + bytes(range(256)) * 20, b"%PDF-1.4\n1 0 obj << /Type /Catalog"])
def test_garbage_after_a_pdf_header_is_named(data: bytes) -> None:
    result = read(data, filename="junk.pdf")
    assert result.outcome == "unreadable" and result.values == {}
    assert _codes(result) == ["file_unreadable"] and result.problems[0].params["file"] == "junk.pdf"


def test_a_pdf_over_the_size_cap_is_not_opened() -> None:
    data = pdf_bytes([report_page([["Ho tro ho kinh doanh", "1", "2"]])])
    form = FormSpec(FORM.measures, FORM.indicators, limits=ReadLimits(max_attachment_bytes=len(data) - 1))
    result = read(data, form=form)
    assert (result.outcome, _codes(result)) == ("unreadable", ["over_limit"])


# ------------------------------------------------------------------ the public documents samples


def _sample_pdfs(kinds: set[str]) -> list[tuple[str, str, str, bytes, dict]]:
    if not (DOCUMENTS / "documents.json").exists():
        return []
    out = []
    for msg in json.loads((DOCUMENTS / "documents.json").read_text("utf-8"))["messages"]:
        if msg["kind"] not in kinds:
            continue
        parsed = email.message_from_bytes((DOCUMENTS / msg["file"]).read_bytes(), policy=email.policy.default)
        for part in parsed.iter_attachments():
            for stated in msg["parts"]:
                if stated["part"] == part.get_filename() and part.get_filename().lower().endswith(".pdf"):
                    out.append((msg["kind"], msg["file"], msg["day"], part.get_payload(decode=True), stated))
    return out


_TEXT_PDFS = _sample_pdfs({"k1", "k2", "k3", "k9"})


def test_the_public_samples_have_text_pdfs_of_every_kind() -> None:
    assert {kind for kind, *_ in _TEXT_PDFS} == {"k1", "k2", "k3", "k9"}
    assert len({day for _k, _f, day, *_ in _TEXT_PDFS}) == 2


@pytest.mark.parametrize(("kind", "file", "day", "data", "stated"), _TEXT_PDFS, ids=[t[1] for t in _TEXT_PDFS])
def test_every_figure_of_a_sample_text_pdf_is_exact(kind, file, day, data, stated) -> None:
    result = read_attachment(stated["part"], "application/pdf", data, sample_form(), dt.date.fromisoformat(day))
    assert (result.outcome, result.source) == ("read", "text_pdf")
    want = {ind: {m: Decimal(str(v)) for m, v in row.items()} for ind, row in stated["values"].items()}
    assert result.values == want
    assert result.problems == ()
    assert result.as_of is not None
