"""Tests for the report layer's cross-checks on recognised cells (parsers.report.uncertain):
a figure read negative, a money figure whose last digits break the round figures of
the rest of its table, a row's checks passed by several readings; and a money scale
note with a stray letter read after it (parsers.numbers.scale_from_header)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from parsers.model import AttachmentResult
from parsers.numbers import scale_from_header
from parsers.readers import Cell, Grid, Sheet, coordinate
from parsers.report import report_from_grid
from service.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / ".." / "shared" / "samples-documents"

HEADER = [
    "Nội dung",
    "Số đối tượng đề nghị hỗ trợ",
    "Số đối tượng được phê duyệt",
    "Kinh phí được phê duyệt (đồng)",
]
ROWS = [
    ["Hỗ trợ hộ kinh doanh", "83", "68", "204.500.000"],
    ["Hỗ trợ người lao động ngừng việc", "57", "50", "50.120.000"],
    ["Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế", "62", "51", "51.300.000"],
]


def _recognised(
    rows: list[list[str]],
    confidence: dict[tuple[int, int], float] | None = None,
    alternatives: dict[tuple[int, int], tuple[str, ...]] | None = None,
) -> AttachmentResult:
    """A grid as parsers.ocr returns it (every cell with a confidence), read as a scan."""
    cells = {}
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            if not text:
                continue
            conf = (confidence or {}).get((r, c), 0.95)
            alts = (alternatives or {}).get((r, c), ())
            cells[(r, c)] = Cell(text, text, None, False, coordinate(r, c), confidence=conf, page=1, alternatives=alts)
    form = load_config(SAMPLES / "config.toml", require_secrets=False).form
    return report_from_grid(Grid((Sheet("Trang 1", cells, ()),)), "scan.pdf", "pdf", form, None, source="scan")


def _reasons(result: AttachmentResult) -> dict[tuple[str, str], str]:
    return {
        (p.params["indicator_code"], p.params["measure_code"]): p.params["reason"]
        for p in result.problems
        if p.code == "uncertain_figure"
    }


def _with(row: int, col: int, text: str) -> list[list[str]]:
    rows = [HEADER, *(list(r) for r in ROWS)]
    rows[row - 1][col - 1] = text
    return rows


# -- a figure read negative -------------------------------------------------------------


def test_a_figure_read_negative_takes_its_unsigned_reading_flagged() -> None:
    result = _recognised(_with(3, 3, "-50"), {(3, 3): 0.3}, {(3, 3): ("50", "58")})
    assert result.values["ngung_viec"]["phe_duyet"] == 50
    assert _reasons(result)[("ngung_viec", "phe_duyet")] == "sign_chosen"
    assert not [p for p in result.problems if p.code == "negative_value"]
    chosen = next(p for p in result.problems if p.params.get("reason") == "sign_chosen")
    assert chosen.params["text"] == "50"


def test_a_figure_read_negative_without_an_unsigned_reading_stays_as_read() -> None:
    result = _recognised(_with(3, 3, "-50"), {(3, 3): 0.3}, {(3, 3): ("58",)})
    assert result.values["ngung_viec"]["phe_duyet"] == -50
    assert [p.code for p in result.problems if p.code == "negative_value"] == ["negative_value"]


# -- round money figures ----------------------------------------------------------------


def test_a_money_figure_off_the_round_figures_of_its_table_takes_the_round_reading() -> None:
    # '51.300.009' among 204.500.000 and 50.120.000: its last zero read '9'
    alts = ("57.300.009", "51.300.000", "513.000.000")  # '513.000.000': a digit more, not taken
    result = _recognised(_with(4, 4, "51.300.009"), {(4, 4): 0.3}, {(4, 4): alts})
    assert result.values["tre_em_f0_f1"]["kinh_phi"] == Decimal(51_300_000)
    assert _reasons(result)[("tre_em_f0_f1", "kinh_phi")] == "round_chosen"
    # a surely read figure is left as read (and not flagged by this)
    sure = _recognised(_with(4, 4, "51.300.009"), {}, {(4, 4): alts})
    assert sure.values["tre_em_f0_f1"]["kinh_phi"] == Decimal(51_300_009)
    assert ("tre_em_f0_f1", "kinh_phi") not in _reasons(sure)


def test_round_figures_choose_nothing_on_too_little_or_ambiguous_evidence() -> None:
    # two readings as round and as close to the reading: which one the zeros cannot tell
    two = _recognised(_with(4, 4, "51.300.009"), {(4, 4): 0.3}, {(4, 4): ("51.310.000", "51.390.000")})
    assert two.values["tre_em_f0_f1"]["kinh_phi"] == Decimal(51_300_009)
    # one other figure only: no pattern
    rows = [HEADER, ROWS[0], ["Hỗ trợ người lao động ngừng việc", "57", "50", "50.120.009"]]
    one = _recognised(rows, {(3, 4): 0.3}, {(3, 4): ("50.120.000",)})
    assert one.values["ngung_viec"]["kinh_phi"] == Decimal(50_120_009)
    # the others not round (fewer than 3 zeros): no pattern
    odd = _with(2, 4, "204.500.310")
    odd[2][3] = "50.120.420"
    odd[3][3] = "51.300.009"
    assert _recognised(odd, {(4, 4): 0.3}, {(4, 4): ("51.300.000",)}).values["tre_em_f0_f1"]["kinh_phi"] == Decimal(
        51_300_009
    )


def test_a_money_figure_in_a_column_that_adds_up_to_its_total_is_not_made_round() -> None:
    rows = _with(4, 4, "51.300.009")
    rows.append(["Tổng cộng", "202", "169", "305.920.009"])
    result = _recognised(rows, {(4, 4): 0.3}, {(4, 4): ("51.300.000",)})
    assert result.values["tre_em_f0_f1"]["kinh_phi"] == Decimal(51_300_009)


def test_a_reading_whose_groups_are_no_thousands_may_take_a_round_reading_a_digit_longer() -> None:
    # '51.300' for 51.300.000 would be a digit count apart; '51.30' (a digit dropped,
    # a group of two) may take '51.300' in thousands
    header = [*HEADER[:3], "Kinh phí được phê duyệt (nghìn đồng)"]
    rows = [
        header,
        ["Hỗ trợ hộ kinh doanh", "83", "68", "204.500"],
        ["Hỗ trợ người lao động ngừng việc", "57", "50", "50.120"],
        ["Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế", "62", "51", "51.30"],
    ]
    result = _recognised(rows, {(4, 4): 0.3}, {(4, 4): ("51.359", "51.300")})
    assert result.values["tre_em_f0_f1"]["kinh_phi"] == Decimal(51_300_000)
    assert _reasons(result)[("tre_em_f0_f1", "kinh_phi")] == "round_chosen"


# -- a row's checks passed by several readings ------------------------------------------


def test_of_several_readings_that_pass_a_check_the_closest_to_the_reading_is_chosen() -> None:
    # approved read '168' of 83 requested: '68' (a digit too many) and '8' both pass;
    # '68' differs from the reading by one digit, '8' by two
    result = _recognised(_with(2, 3, "168"), {(2, 3): 0.3}, {(2, 3): ("8", "68")})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 68
    assert _reasons(result)[("ho_kinh_doanh", "phe_duyet")] == "check_chosen"
    # as close as each other: nothing chosen, the row stays flagged
    tie = _recognised(_with(2, 3, "168"), {(2, 3): 0.3}, {(2, 3): ("18", "68")})
    assert tie.values["ho_kinh_doanh"]["phe_duyet"] == 168
    assert _reasons(tie)[("ho_kinh_doanh", "phe_duyet")] in {"check_failed", "low_confidence"}


# -- a money scale note with a stray letter ---------------------------------------------


@pytest.mark.parametrize(
    ("header", "scale"),
    [
        ("(nghìn đồng í", 1_000),
        ("Kinh phí được phê duyệt (nghìn đồng í", 1_000),
        ("nghìn đồng í", 1_000),
        ("(triệu đồng l)", 1_000_000),
        ("Kinh phí (tỷ đồng j", 1_000_000_000),
        ("(1.000đ í", 1_000),
        ("Kinh phí (tr.đ ii", 1_000_000),
    ],
)
def test_a_scale_phrase_with_stray_letters_after_it_is_read(header: str, scale: int) -> None:
    assert scale_from_header(header) == scale


@pytest.mark.parametrize(
    "header",
    [
        "Tỷ lệ",  # a scale word alone followed by a short word: not a scale
        "Đồng ý",
        "Kinh phí (triệu í",
        "(đồng í",
        "nghìn đồng ở xã",  # a word, then more words: not noise
        "Số triệu người",
    ],
)
def test_a_scale_word_alone_or_followed_by_words_is_still_no_scale(header: str) -> None:
    assert scale_from_header(header) is None


def test_a_recognised_header_with_a_stray_letter_states_its_scale() -> None:
    header = [*HEADER[:3], "Kinh phí được phê duyệt (nghìn đồng í"]
    rows = [header, ["Hỗ trợ hộ kinh doanh", "83", "68", "204.500"]]
    result = _recognised(rows)
    assert result.values["ho_kinh_doanh"]["kinh_phi"] == Decimal(204_500_000)
    assert "scale_not_stated" not in _reasons(result).values()


# -- a row label merged over the number column ------------------------------------------


def _with_merged(rows: list[list[str]], merged: tuple[tuple[int, int, int, int], ...]) -> AttachmentResult:
    covered = {(r, c) for r1, c1, r2, c2 in merged for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    covered -= {(r1, c1) for r1, c1, _, _ in merged}
    cells = {}
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            if text and (r, c) not in covered:
                cells[(r, c)] = Cell(text, text, None, False, coordinate(r, c), confidence=0.95, page=1)
    form = load_config(SAMPLES / "config.toml", require_secrets=False).form
    return report_from_grid(Grid((Sheet("Trang 1", cells, merged),)), "scan.pdf", "pdf", form, None, source="scan")


def test_a_row_label_merged_over_the_number_column_is_read_and_its_figures_flagged() -> None:
    # the rule between 'STT' and the label lost on row 3: its label's cell starts in column 1
    rows = [
        ["STT", *HEADER],
        ["1", *ROWS[0]],
        [ROWS[1][0], "", *ROWS[1][1:]],
        ["3", *ROWS[2]],
    ]
    result = _with_merged(rows, ((3, 1, 3, 2),))
    assert result.values["ngung_viec"] == {"de_nghi": 57, "phe_duyet": 50, "kinh_phi": Decimal(50_120_000)}
    reasons = _reasons(result)
    assert {k: v for k, v in reasons.items() if k[0] == "ngung_viec"} == {
        ("ngung_viec", m): "merged_cells" for m in ("de_nghi", "phe_duyet", "kinh_phi")
    }
    assert not [k for k in reasons if k[0] != "ngung_viec"]


def test_checks_sharing_no_measure_are_put_right_apart() -> None:
    # money paid above money approved, the paid figure unsure with no other reading (it
    # may be the misread one): that leaves the row's counts to their own check
    header = [*HEADER, "Số tiền đã chi trả (đồng)"]
    rows = [header, ["Hỗ trợ hộ kinh doanh", "83", "168", "204.500.000", "305.000.000"]]
    result = _recognised(rows, {(2, 3): 0.3, (2, 5): 0.3}, {(2, 3): ("68",)})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 68
    assert result.values["ho_kinh_doanh"]["tien_da_chi"] == Decimal(305_000_000)
    reasons = _reasons(result)
    assert reasons[("ho_kinh_doanh", "phe_duyet")] == "check_chosen"
    assert reasons[("ho_kinh_doanh", "tien_da_chi")] in {"check_failed", "low_confidence"}


def test_of_readings_as_close_that_pass_a_check_the_one_keeping_the_digit_count_is_chosen() -> None:
    # approved read '93' of 83 requested: '83' (a digit read otherwise) and '3' (one
    # dropped) both pass and are as close; '83' keeps the reading's two digits
    result = _recognised(_with(2, 3, "93"), {(2, 3): 0.3}, {(2, 3): ("3", "83")})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 83
    assert _reasons(result)[("ho_kinh_doanh", "phe_duyet")] == "check_chosen"


def test_a_round_reading_chosen_gives_way_to_the_total_choosing_the_cell_as_read() -> None:
    # '51.300.009' is made round first; the total then adds up only with it as read
    # (and the misread '50.720.000' put right): the total is the stronger evidence
    rows = _with(3, 4, "50.720.000")
    rows[3][3] = "51.300.009"
    rows.append(["Tổng cộng", "202", "169", "305.920.009"])
    alts = {(3, 4): ("50.120.000",), (4, 4): ("51.300.000",)}
    result = _recognised(rows, {(3, 4): 0.3, (4, 4): 0.3}, alts)
    assert result.values["ngung_viec"]["kinh_phi"] == Decimal(50_120_000)
    assert result.values["tre_em_f0_f1"]["kinh_phi"] == Decimal(51_300_009)
    reasons = _reasons(result)
    assert reasons[("ngung_viec", "kinh_phi")] == "total_chosen"
    assert reasons[("tre_em_f0_f1", "kinh_phi")] == "total_chosen"
