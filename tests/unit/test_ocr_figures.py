"""Readings of recognised figure cells (parsers.ocr): a figure's shape (groups of three
digits), the decimal mark by the table's other figures, and a figure under a stamp's
ring text read again as a figure; every reading mended or re-read stays unsure."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import parsers.ocr as ocr
from parsers.ocr import figures
from parsers.ocr.recognise import Reading
from parsers.readers import Cell, coordinate


@pytest.mark.parametrize(
    "text",
    ["7", "1234", "12,5", "0.65", "1.234", "482.580.600", "2.998,8", "1,234.5", "1.125.140", "-12", "431230.006"],
)
def test_a_figure_written_plain_or_in_groups_of_three_is_well_formed(text: str) -> None:
    assert figures.well_formed(text)


@pytest.mark.parametrize(
    "text",
    [
        "482.580.6000",
        "3.-540.150.000",
        ".1.18.966.000",
        "3.876.36",
        "2,998,8",
        ",65",
        "1.180,",
        "3.627.200000",
        "1..2",
        "1.30625707000",  # groups whose marks were lost: no form states eleven decimals
        "224.7359",
    ],
)
def test_a_reading_of_another_shape_is_not(text: str) -> None:
    assert not figures.well_formed(text)


def test_marks_at_either_end_are_stripped() -> None:
    assert figures.stripped(",65") == "65"
    assert figures.stripped("1.180,") == "1.180"
    assert figures.stripped("1.234,5") == "1.234,5"


def test_the_decimal_mark_is_the_one_the_columns_decimals_show() -> None:
    assert figures.decimal_mark(["440,32", "1.389", "3.876,36", "350.000.000"]) == ","
    assert figures.decimal_mark(["440.32", "1,389,000.5", "12"]) == "."
    assert figures.decimal_mark(["1.125.140", "3.280.410", "86.950"]) is None  # whole figures tell none
    assert figures.decimal_mark(["1,5", "2.5"]) is None  # as many of each


def test_a_short_tail_behind_a_group_mark_gets_the_decimal_mark() -> None:
    assert figures.with_decimal_mark("3.876.36", ",") == "3.876,36"
    assert figures.with_decimal_mark("2,998,8", ",") == "2.998,8"
    assert figures.with_decimal_mark("3,876,36", ".") == "3,876.36"
    assert figures.with_decimal_mark("482.580.6000", ",") is None  # a digit too many: no tail
    assert figures.with_decimal_mark("1.234.567", ",") is None  # groups of three only


def test_a_space_between_groups_of_a_figure_grouped_by_a_mark_is_that_mark() -> None:
    assert figures.compact("885 180.000") == "885.180.000"
    assert figures.compact("81.020 000") == "81.020.000"
    assert figures.compact("1 234,5") == "1234,5"  # no mark between groups: spaces dropped
    assert figures.compact("1 234") == "1234"
    assert figures.compact(" 3.540.150.000 ") == "3.540.150.000"


def test_a_figure_whose_space_was_taken_for_its_group_mark_stays_unsure(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([Reading("885 180.000", 0.9), Reading("885 180.000", 0.9), Reading("885 180.000", 0.9)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, _ = ocr._read_figure(_crop(), "885 180.000", 0.9) or ("", 1.0, ())
    assert figure == "885.180.000" and conf < 0.8


def test_an_unsure_figure_keeps_its_other_readings_that_differ_only_in_digits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # digits model, ×2, ×3 (Otsu), smoothed grey, then sharpened and locally binarised at ×2 and ×3
    texts = ["394", "394", "854", "894", "3.94", "594", "394"]
    answers = iter([Reading(t, 0.7) for t in texts])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, alternatives = ocr._read_figure(_crop(), "394", 0.9) or ("", 1.0, ())
    assert figure == "394" and conf < 0.8
    assert alternatives == ("854", "894", "594")  # '3.94': a mark where the figure has none


def test_the_cell_smoothed_in_grey_is_one_more_vote(monkeypatch: pytest.MonkeyPatch) -> None:
    # digits model (sure, but the text model read other digits), ×2, ×3 (Otsu), smoothed grey
    texts = ["1.125.140", "1.325.140", "1.125.140", "1.125.140"]
    answers = iter([Reading(t, 0.9) for t in texts])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, alternatives = ocr._read_figure(_crop(), "1.325.140", 0.9) or ("", 1.0, ())
    assert figure == "1.125.140"  # three readings of four against the text model's one
    assert conf < 0.8 and alternatives == ("1.325.140",)  # readings differ: unsure


def test_the_smoothed_reading_alone_is_no_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([Reading("", 0.0), Reading("", 0.0), Reading("", 0.0), Reading("7", 0.9)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    assert ocr._read_figure(_crop(), "", 0.0) is None  # dust the smoothing made a '7' of
    answers = iter([Reading("", 0.0), Reading("27", 0.5), Reading("27", 0.5), Reading("7", 0.9)])
    figure, conf, _ = ocr._read_figure(_crop(), "", 0.0, min_votes=2) or ("", 1.0, ())
    assert (figure, conf) == ("27", pytest.approx(0.25))  # no smoothed vote: the two readings agree


def test_a_sure_figure_carries_no_other_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([Reading("62", 0.93)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("99", 0.9)))
    assert ocr._read_figure(_crop(), "62", 0.9) == ("62", 0.9, ())


def _crop() -> np.ndarray:
    crop = np.full((30, 60), 255, dtype=np.uint8)
    crop[5:25, 10:50] = 0
    return crop


def _blurred_crop() -> np.ndarray:
    """Thin strokes blurred as a photo blurs them, stretched black on white as a
    cell's crop is: grey edges, no black core."""
    crop = np.full((40, 90), 255, dtype=np.uint8)
    for x in (20, 40, 60):
        crop[8:32, x : x + 3] = 0
    crop[8:11, 20:63] = 0
    blurred = cv2.GaussianBlur(crop, (0, 0), 2.0)
    return np.asarray(cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX), dtype=np.uint8)


def test_a_blurred_print_has_no_black_core_a_scans_has() -> None:
    blurred = _blurred_crop()
    assert ocr._blurred(blurred)
    assert not ocr._blurred(_crop())
    # grey remnants of a stamp's ink around a scan's black strokes: still no photo
    stamped = _crop().copy()
    stamped[:, 50:] = 150
    stamped[:4, :] = 170
    assert not ocr._blurred(stamped)


def test_a_blurred_figure_read_surely_must_agree_with_its_darkened_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    kinds: list[str] = []

    def fake(_img: np.ndarray, kind: str) -> Reading:
        kinds.append(kind)
        return Reading("36", 0.96) if len(kinds) == 1 else Reading("86", 0.7)

    monkeypatch.setattr(ocr, "recognise", fake)
    figure, conf, alternatives = ocr._read_figure(_blurred_crop(), "36", 0.9) or ("", 1.0, ())
    assert conf < 0.8  # the darkened reading saw another figure: unsure, flagged
    assert {figure, *alternatives} >= {"36", "86"}


def test_a_blurred_figure_whose_darkened_reading_agrees_is_read_twice_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []

    def fake(img: np.ndarray, _kind: str) -> Reading:
        calls.append(img.shape)
        return Reading("62", 0.93)

    monkeypatch.setattr(ocr, "recognise", fake)
    assert ocr._read_figure(_blurred_crop(), "62", 0.9) == ("62", 0.9, ())
    assert len(calls) == 2
    # the darkened one: its ink scaled to the set height, with paper around
    assert calls[1][0] >= ocr._DARK_HEIGHT + 2 * ocr._DARK_PAD


def test_a_scans_sure_figure_is_not_read_darkened(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(ocr, "recognise", lambda _img, kind: calls.append(kind) or Reading("62", 0.93))
    assert ocr._read_figure(_crop(), "62", 0.9) == ("62", 0.9, ())
    assert calls == ["digits"]


def test_sure_readings_outweigh_more_unsure_ones_that_dropped_a_digit(monkeypatch: pytest.MonkeyPatch) -> None:
    # digits model, x2, x3 (Otsu), smoothed grey: three unsure '49', two sure '491'
    texts = [("49", 0.2), ("491", 0.9), ("49", 0.1), ("491", 0.85), ("49", 0.3)]
    answers = iter([Reading(t, c) for t, c in texts])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, alternatives = ocr._read_figure(_crop(), "", 0.0) or ("", 1.0, ())
    assert figure == "491" and conf < 0.8 and "49" in alternatives


def test_the_darkened_readings_are_made_at_the_set_height_whatever_the_cells() -> None:
    heights: list[int] = []

    def fake(img: np.ndarray, _kind: str) -> Reading:
        rows = np.flatnonzero((img < 128).any(axis=1))
        heights.append(int(rows[-1] - rows[0] + 1))
        assert (img[: ocr._DARK_PAD] == 255).all() and (img[:, -ocr._DARK_PAD :] == 255).all()  # paper around
        return Reading("1", 0.5)

    original = ocr.recognise
    try:
        ocr.recognise = fake  # type: ignore[assignment]
        for factor in (0.5, 2.0):
            sized = cv2.resize(_blurred_crop(), None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            got = ocr._read_darkened(np.asarray(sized, dtype=np.uint8))
            assert len(got) == len(ocr._DARK_VARIANTS)
    finally:
        ocr.recognise = original  # type: ignore[assignment]
    assert all(0.8 * ocr._DARK_HEIGHT <= h <= 1.4 * ocr._DARK_HEIGHT for h in heights), heights


def test_a_shadows_edge_across_a_cell_is_divided_out() -> None:
    crop = np.full((40, 120), 230, dtype=np.uint8)
    crop[:, 60:] = 150  # the shadow's side: paper darker
    crop[10:30, 30:33] = 60
    crop[10:30, 90:93] = 20  # a stroke in the shadow
    flat = ocr._background_divided(crop)
    assert int(flat[5, 10]) >= 240 and int(flat[5, 100]) >= 240  # paper white on both sides
    assert int(flat[20, 31]) < 128 and int(flat[20, 91]) < 128  # strokes dark on both


def test_only_readings_with_a_figures_shape_are_chosen_and_the_figure_stays_unsure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter([Reading("482.580.6000", 0.9), Reading("482.580.600", 0.7), Reading("482.580.6000", 0.9)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, _ = ocr._read_figure(_crop(), "482.580.6000", 0.9) or ("", 1.0, ())
    assert figure == "482.580.600"  # the one reading a figure could be, though outvoted
    assert conf < 0.8


def test_a_reading_mended_at_its_ends_stays_unsure(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([Reading(",65", 0.9)] * 5)
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, _ = ocr._read_figure(_crop(), ",65", 0.9) or ("", 1.0, ())
    assert figure == "65" and conf < 0.8


def test_a_figure_re_read_needs_two_agreeing_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([Reading("", 0.0), Reading("0", 0.4), Reading("8", 0.3)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    assert ocr._read_figure(_crop(), "", 0.0, min_votes=2) is None  # noise, not a figure
    answers = iter([Reading("", 0.0), Reading("27", 0.46), Reading("27", 0.43)])
    assert ocr._read_figure(_crop(), "", 0.0, min_votes=2) == ("27", pytest.approx(0.215), ())


def _grid(rows: list[list[str]]) -> dict[tuple[int, int], Cell]:
    return {
        (r, c): Cell(text, text, None, False, coordinate(r, c), confidence=0.95, page=1)
        for r, row in enumerate(rows, start=1)
        for c, text in enumerate(row, start=1)
        if text
    }


def test_letters_read_in_a_column_of_figures_are_read_again_as_a_figure() -> None:
    grid = _grid(
        [
            ["STT", "Nội dung", "Hộ đăng ký", "Số hộ được xét duyệt"],
            ["1", "Nhà bị sập", "65", "60"],
            ["2", "Người chết", "29", "lể"],  # a stamp's ring text over '27'
            ["3", "Bị thương", "239", "229"],
            ["4", "Gia súc", "1.238", "LÊN NỈ"],
            ["II", "Cây trồng", "Tổng", "1.032"],  # a word of four letters: a word
            ["", "Tổng cộng", "1.571", "1.400"],
        ]
    )
    assert ocr._figures_read_as_words(grid) == [(3, 4), (5, 4)]


def test_a_header_or_a_column_of_words_is_not_read_as_figures() -> None:
    grid = _grid(
        [
            ["STT", "Nội dung", "Số hộ", "Ghi chú"],
            ["1", "Nhà bị sập", "65", "xã"],
            ["2", "Người chết", "29", "ok"],
            ["3", "Bị thương", "239", "12"],
        ]
    )
    # 'Số hộ' is above the data rows; 'xã', 'ok' are in a column with one figure only
    assert ocr._figures_read_as_words(grid) == []


def test_a_decimal_point_read_for_a_comma_is_mended_by_its_column_and_flagged() -> None:
    grid = _grid(
        [
            ["440,32", "1.125.140"],
            ["3.876.36", "1.892.89"],  # a decimal comma read as a point; a whole figure's lost digit
            ["687,27", "3.280.410"],
        ]
    )
    ocr._mend_decimal_marks(grid)
    assert grid[(2, 1)].text == "3.876,36"
    assert (grid[(2, 1)].confidence or 1.0) < 0.8
    assert grid[(2, 2)].text == "1.892.89"  # no decimals in its column: left as read (no figure)
    assert grid[(1, 1)].text == "440,32" and grid[(1, 1)].confidence == 0.95


def _lattice(rows: int, cols: int, merged: tuple[int, int, int, int]) -> list:
    """GridCells of a regular lattice (100 x 50 px cells, 0-based) with one merged cell."""
    from parsers.ocr.geometry import GridCell

    r0, c0, r1, c1 = merged
    out = [GridCell(r0, c0, r1, c1, (c0 * 100, r0 * 50, (c1 + 1) * 100, (r1 + 1) * 50))]
    for i in range(rows):
        for j in range(cols):
            if not (r0 <= i <= r1 and c0 <= j <= c1):
                out.append(GridCell(i, j, i, j, (j * 100, i * 50, (j + 1) * 100, (i + 1) * 50)))
    return out


def test_a_cell_merged_over_two_columns_of_figures_is_split_by_the_rules_around() -> None:
    grid = _grid(
        [
            ["STT", "Nội dung", "Kinh phí", "Số hộ"],
            ["1", "Nhà bị sập", "440,32", "35"],
            ["2", "Bị thương", "3.876,36", "1.180"],
            ["3", "Gạo cứu đói", "", ""],  # one cell over both: the rule between lost
        ]
    )
    cells = _lattice(4, 4, (3, 2, 3, 3))
    split = ocr._split_merged(cells, grid)
    assert len(split) == 1
    assert split[0][1] == [((4, 3), (200, 150, 300, 200)), ((4, 4), (300, 150, 400, 200))]


def test_a_merged_label_or_heading_is_not_split() -> None:
    grid = _grid(
        [
            ["STT", "Nội dung", "Kết quả", ""],
            ["", "", "Kinh phí", "Số hộ"],
            ["1", "Nhà bị sập", "440,32", "35"],
            ["2", "Bị thương", "3.876,36", "1.180"],
        ]
    )
    assert ocr._split_merged(_lattice(4, 4, (0, 2, 0, 3)), grid) == []  # the heading over both
    grid[(3, 1)] = grid.pop((3, 2))  # a label over the first two columns: words
    assert ocr._split_merged(_lattice(4, 4, (2, 0, 2, 1)), grid) == []


def test_letters_in_a_table_of_two_rows_are_read_again_when_the_other_cell_is_a_figure() -> None:
    grid = _grid(
        [
            ["STT", "Nội dung", "Số hộ đăng ký", "Kinh phí", "Số hộ được xét duyệt"],
            ["1", "Nhà sập đổ", "Tỷ", "2.880,22", "72"],  # a stamp's ring over '77'
            ["2", "Người chết", "33", "320,09", "bờ,"],
        ]
    )
    assert ocr._figures_read_as_words(grid) == [(2, 3), (3, 5)]
    grid = _grid(
        [
            ["STT", "Nội dung", "Số hộ", "Ghi chú"],
            ["1", "Nhà bị sập", "65", "xã"],
            ["2", "Người chết", "29", "ok"],  # the column's other cell is a word
        ]
    )
    assert ocr._figures_read_as_words(grid) == []


def test_a_sign_read_from_a_stroke_leaves_the_figure_without_it_as_another_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # digits model, ×2, ×3 (Otsu), smoothed grey: all '-166' (a stamp's stroke left of it)
    answers = iter([Reading("-166", 0.5)] * 4)
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, alternatives = ocr._read_figure(_crop(), "-166", 0.5) or ("", 1.0, ())
    assert (figure, alternatives) == ("-166", ("166",))  # offered to the total, never chosen here
    assert conf < 0.8


def test_a_line_of_a_heading_read_as_nothing_sends_the_cell_to_a_block_read(monkeypatch: pytest.MonkeyPatch) -> None:
    crop = np.full((110, 300), 255, dtype=np.uint8)
    crop[10:45, 20:280] = 0  # 'Đã giải ngân'
    crop[60:95, 20:280] = 0  # '(nghìn đồng)'
    answers = iter([Reading("", 0.0), Reading("(nghìn đồng)", 0.96), Reading("Đã giải ngân\n(nghìn đồng)", 0.92)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    assert ocr._recognise_lines(crop) == Reading("Đã giải ngân (nghìn đồng)", 0.92)


def test_a_label_read_as_nothing_is_read_again_enlarged_for_its_words(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([Reading("(Cứu 3ó", 0.26), Reading("Cứu đó", 0.7)])  # ×2, ×3 binarised
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    assert ocr._words_enlarged(_crop()) == Reading("Cứu đó", 0.7)
    answers = iter([Reading("36", 0.4), Reading("", 0.0)])  # a figure's print: no words
    assert ocr._words_enlarged(_crop()) is None


@pytest.mark.parametrize(
    ("text", "ring"), [("LIÊN E.ự", True), ("LÊN NỈ", True), ("Tổng", False), ("Cây trồng", False)]
)
def test_a_stamps_ring_text_is_in_capitals_a_forms_words_are_not(text: str, ring: bool) -> None:
    assert ocr._garbled(text) is ring


def test_a_cell_re_read_for_its_letters_is_not_read_darkened(monkeypatch: pytest.MonkeyPatch) -> None:
    # a stamp's grey ring text in an empty cell: the darkened readings would agree on
    # its strokes ('7'), so only the other readings, which must agree, are made
    answers = iter([Reading("", 0.0), Reading("7", 0.4), Reading("", 0.0)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    monkeypatch.setattr(ocr, "_read_darkened", lambda _crop, _variants=(): [("7", 0.5)] * 3)
    assert ocr._read_figure(_blurred_crop(), "", 0.0, min_votes=2) is None
    answers = iter([Reading("", 0.0), Reading("7", 0.4), Reading("", 0.0)])
    figure, conf, _ = ocr._read_figure(_blurred_crop(), "", 0.0) or ("", 1.0, ())
    assert figure == "7" and conf < 0.8  # a figure's cell: the darkened readings are votes


def test_the_darkened_readings_alone_are_no_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    # a stamp's grey remnant in an empty cell of a scan: no other reading sees a digit
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: Reading("", 0.0))
    monkeypatch.setattr(ocr, "_read_darkened", lambda _crop, _variants=(): [("7", 0.5)] * 3)
    assert ocr._read_figure(_blurred_crop(), "", 0.0) is None
    assert ocr._read_figure(_blurred_crop(), "F .. 7", 0.5) == ("F .. 7", 0.0, ())


def _drawn(glyphs: str) -> np.ndarray:
    """A blurred cell of drawn glyphs: '0' an oval, '9' a loop at the top and a tail,
    '8' two loops stacked, '3' two open bows; 22 px apart, ~26 px high."""
    cell = np.full((40, 22 * len(glyphs) + 10), 255, np.uint8)
    for i, g in enumerate(glyphs):
        x = 14 + 22 * i
        if g == "0":
            cv2.ellipse(cell, (x, 20), (7, 12), 0, 0, 360, 0, 3)
        elif g == "9":
            cv2.circle(cell, (x, 14), 6, 0, 3)
            cv2.line(cell, (x + 6, 14), (x + 3, 32), 0, 3)
        elif g == "8":
            cv2.circle(cell, (x, 12), 6, 0, 2)
            cv2.circle(cell, (x, 26), 7, 0, 2)
        elif g == "3":
            cv2.ellipse(cell, (x, 13), (6, 5), 0, -150, 90, 0, 3)
            cv2.ellipse(cell, (x, 26), (6, 6), 0, -90, 150, 0, 3)
    return np.ascontiguousarray(cv2.GaussianBlur(cell, (0, 0), 0.8), dtype=np.uint8)


def test_glyph_shapes_offer_the_zero_or_eight_a_blurred_figure_was_misread_for() -> None:
    from parsers.ocr.recognise import glyph_digit, shape_readings

    # a zero read '9' (the last group's '900'): the oval's hole says '0'
    assert shape_readings(_drawn("900"), "900") == []  # drawn as a '9': stays
    assert shape_readings(_drawn("000"), "900") == ["000"]
    assert shape_readings(_drawn("000"), "909") == ["009", "900", "000"]
    # two stacked loops read '3': '8' offered; a '3' drawn open stays a '3'
    assert shape_readings(_drawn("83"), "33") == ["83"]
    # glyphs that cannot be matched one to one to the digits read: nothing offered
    assert shape_readings(_drawn("000"), "90") == []
    # a mark between groups is no glyph
    ring = np.zeros((30, 20), np.uint8)
    cv2.ellipse(ring, (10, 15), (7, 12), 0, 0, 360, 255, 3)
    assert glyph_digit(ring) == "0"
    loop = np.zeros((30, 20), np.uint8)
    cv2.circle(loop, (10, 9), 6, 255, 3)
    cv2.line(loop, (16, 9), (13, 28), 255, 3)
    assert glyph_digit(loop) is None  # a 9: its loop at the top


def test_a_shape_reading_is_offered_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    # every reading agrees on '900' for a blurred '000', unsurely: the figure stays as
    # read (flagged), the glyphs' '000' is one of its other readings for the checks
    monkeypatch.setattr(ocr, "recognise", lambda gray, kind: Reading("900", 0.5))
    monkeypatch.setattr(ocr, "digit_choices", lambda gray: [])
    got = ocr._read_figure(_drawn("000"), "900", 0.5)
    assert got is not None
    figure, conf, alternatives = got
    assert figure == "900" and conf < 0.8 and "000" in alternatives
