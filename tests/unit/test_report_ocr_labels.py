"""Tests for the looser matching of recognised labels and headings garbled by OCR
(parsers.report.ocrlabels, parsers.report.tables): a row label placed by its row among
the form's indicators, a heading matched by its letters; both always flagged, never
taken from a text layer, and never guessed when two could be meant."""

from __future__ import annotations

from pathlib import Path

from parsers.model import AttachmentResult
from parsers.readers import Cell, Grid, Sheet, coordinate
from parsers.report import form_index, report_from_grid
from parsers.report.ocrlabels import snap_labels
from service.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / ".." / "shared" / "samples-documents"

HEADER = ["Nội dung", "Số đối tượng đề nghị hỗ trợ", "Số đối tượng được phê duyệt", "Kinh phí được phê duyệt (đồng)"]
GUIDE = ["Hỗ trợ hướng dẫn viên du lịch", "12", "10", "30.000.000"]
SHOP = ["Hỗ trợ hộ kinh doanh", "83", "68", "204.500.000"]
LOAN = ["Cho vay trả lương ngừng việc, trả lương phục hồi sản xuất", "5", "4", "900.000.000"]
GARBLED = "Hc ri kh đa"  # 'Hộ kinh doanh', too far for the close tiers


def _read(rows: list[list[str]], recognised: bool = True) -> AttachmentResult:
    cells = {}
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            if text:
                conf = 0.95 if recognised else None
                cells[(r, c)] = Cell(text, text, None, False, coordinate(r, c), confidence=conf, page=1)
    form = load_config(SAMPLES / "config.toml", require_secrets=False).form
    grid = Grid((Sheet("Trang 1", cells, ()),))
    if recognised:
        grid = snap_labels(grid, form, form_index(form))
    return report_from_grid(grid, "scan.pdf", "pdf", form, None, source="scan" if recognised else "text_pdf")


def _reasons(result: AttachmentResult) -> dict[tuple[str, str], tuple[str, str, str]]:
    return {
        (p.params["indicator_code"], p.params["measure_code"]): (
            p.params["reason"],
            p.params["row"],
            p.params["column"],
        )
        for p in result.problems
        if p.code == "uncertain_figure"
    }


def test_a_garbled_label_between_two_rows_takes_the_indicator_the_form_lists_there_flagged() -> None:
    result = _read([HEADER, GUIDE, [GARBLED, *SHOP[1:]], LOAN])
    assert result.values["ho_kinh_doanh"] == {"de_nghi": 83, "phe_duyet": 68, "kinh_phi": 204_500_000}
    reasons = _reasons(result)
    assert {reasons[("ho_kinh_doanh", m)][:2] for m in ("de_nghi", "phe_duyet", "kinh_phi")} == {
        ("approximate_label", GARBLED)
    }
    assert not any(ind != "ho_kinh_doanh" for ind, _ in reasons)


def test_a_garbled_label_is_not_placed_above_the_table_nor_where_the_form_lists_no_such_row() -> None:
    # above the first matched row: it could be a heading
    assert "ho_kinh_doanh" not in _read([HEADER, [GARBLED, *SHOP[1:]], GUIDE, LOAN]).values
    # between two rows the form lists next to each other: no indicator fits there
    loan_then_free = ["Hỗ trợ người lao động không có giao kết hợp đồng lao động", "1", "1", "1.000.000"]
    assert "ho_kinh_doanh" not in _read([HEADER, GUIDE, LOAN, [GARBLED, *SHOP[1:]], loan_then_free]).values
    # a text layer is read exactly: no loose match at all
    assert "ho_kinh_doanh" not in _read([HEADER, GUIDE, [GARBLED, *SHOP[1:]], LOAN], recognised=False).values


def test_a_label_two_indicators_placed_there_could_be_is_not_guessed() -> None:
    # between the first indicator and 'Hỗ trợ hộ kinh doanh' lie eight: 'Hỗ trợ' fits many
    first = ["Giảm mức đóng bảo hiểm tai nạn lao động, bệnh nghề nghiệp", "1", "1", "1.000.000"]
    result = _read([HEADER, first, ["Hỗ trợ ng lđ", "7", "7", "7.000.000"], SHOP])
    assert set(result.values) == {"giam_bhtnld", "ho_kinh_doanh"}


def test_a_garbled_heading_takes_its_measure_flagged_and_named_as_read() -> None:
    garbled = "Sốđối tượng để nghị hỗ tr"
    result = _read([[HEADER[0], garbled, *HEADER[2:]], GUIDE, SHOP])
    assert result.values["ho_kinh_doanh"]["de_nghi"] == 83
    reasons = _reasons(result)
    # named by the heading as read (its diacritics respelled where a phrase was clear)
    assert reasons[("ho_kinh_doanh", "de_nghi")] == (
        "approximate_heading",
        "Hỗ trợ hộ kinh doanh",
        "Sốđối tượng đề nghị hỗ tr",
    )
    assert reasons[("huong_dan_vien", "de_nghi")][0] == "approximate_heading"
    assert ("ho_kinh_doanh", "phe_duyet") not in reasons  # the other columns as before
    # read well: nothing flagged
    assert _reasons(_read([HEADER, GUIDE, SHOP])) == {}
    # from a text layer: the column is not taken
    assert "de_nghi" not in _read([[HEADER[0], garbled, *HEADER[2:]], GUIDE, SHOP], recognised=False).columns


def test_a_heading_close_to_two_measures_or_over_a_column_without_figures_is_not_taken() -> None:
    # 'Số đối tượng' alone is as close to every count measure
    two = _read([[HEADER[0], "Số đối tượng", *HEADER[2:]], GUIDE, SHOP])
    assert "de_nghi" not in two.columns
    no_figures = _read(
        [[HEADER[0], "Sốđối tượng để nghị hỗ tr", *HEADER[2:]], [GUIDE[0], "", *GUIDE[2:]], [SHOP[0], "", *SHOP[2:]]]
    )
    assert "de_nghi" not in no_figures.columns
