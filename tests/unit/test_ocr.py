"""Scans and photos (parsers.ocr): the public sample scans read exactly or flagged,
never silently wrong; documents that are not the report unreadable; pages turned by
EXIF, red ink dropped and the caps of ReadLimits on synthetic images."""

from __future__ import annotations

import datetime as dt
import email
import io
import json
import struct
import zlib
from dataclasses import replace
from email import policy
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from parsers.model import AttachmentResult, ReadLimits
from parsers.ocr import geometry, read_scan
from parsers.ocr.pages import MAX_PHOTO_SIDE, iter_pages
from parsers.readers import Cell, Grid, GridError, Sheet, coordinate, has_text_layer
from parsers.report import form_index, read_attachment, report_from_grid
from parsers.report.ocrlabels import snap_labels
from service.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / ".." / "shared" / "samples-documents"

# (day, message number, kind): every scan and photo kind and both controls
SCANS = [
    ("2021-08-16", "05", "k4"),
    ("2021-08-16", "06", "k5"),
    ("2021-08-17", "09", "k4"),
    ("2021-08-16", "11", "k10"),
    ("2021-08-16", "13", "k10"),
    ("2021-08-16", "14", "k11"),
]


def _attachment(day: str, number: str, part: str) -> bytes:
    eml = next((SAMPLES / "emails" / day).glob(f"{number}-*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    for att in msg.iter_attachments():
        if att.get_filename() == part:
            data = att.get_content()
            assert isinstance(data, bytes)
            return data
    raise AssertionError(f"{part} not in {eml}")


@pytest.fixture(scope="module")
def sample_results() -> dict[tuple[str, str], tuple[str, dict[str, dict[str, int]], AttachmentResult]]:
    """Each sample scan read once (recognition is slow): (kind, truth, result)."""
    form = load_config(SAMPLES / "config.toml", require_secrets=False).form
    docs = json.loads((SAMPLES / "documents.json").read_text(encoding="utf-8"))
    out = {}
    for day, number, kind in SCANS:
        message = next(m for m in docs["messages"] if m["day"] == day and Path(m["file"]).name.startswith(number))
        part = next(p for p in message["parts"] if p["role"] == "pdf-scan")
        data = _attachment(day, number, part["part"])
        result = read_attachment(part["part"], "application/pdf", data, form, dt.date.fromisoformat(day))
        out[(day, number)] = (kind, part.get("values", {}), result)
    return out


def _flagged(result: AttachmentResult) -> set[tuple[str, str]]:
    return {
        (p.params.get("indicator_code", ""), p.params.get("measure_code", ""))
        for p in result.problems
        if p.params.get("measure_code")
    }


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("day", "number", "kind"), [s for s in SCANS if s[2] not in ("k10",)])
def test_sample_scan_figures_are_exact_or_flagged(sample_results, day: str, number: str, kind: str) -> None:
    _, truth, result = sample_results[(day, number)]
    assert result.outcome == "read"
    assert result.source == "scan"
    flagged = _flagged(result)
    exact = 0
    for ind, row in truth.items():
        for measure, value in row.items():
            got = result.values.get(ind, {}).get(measure)
            if got is None:
                continue
            if got == value:
                exact += 1
            else:
                assert (ind, measure) in flagged, f"{ind}/{measure}: read {got}, the scan says {value}, unflagged"
    assert exact >= len([v for row in truth.values() for v in row]) * 0.6
    for ind, row in result.values.items():  # nothing the scan does not state
        for measure in row:
            assert measure in truth.get(ind, {}) or (ind, measure) in flagged


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("day", "number"), [(d, n) for d, n, k in SCANS if k == "k10"])
def test_a_scan_that_is_not_the_report_is_unreadable_with_no_figure(sample_results, day: str, number: str) -> None:
    _, _, result = sample_results[(day, number)]
    assert result.outcome == "unreadable"
    assert not result.values
    assert [p.code for p in result.problems] == ["no_table_found"]


def test_a_pdf_printed_to_pdf_has_a_text_layer_and_a_scan_has_none() -> None:
    printed = _attachment("2021-08-16", "01", "Báo cáo tiến độ NQ68 - BHXH thành phố ngày 16.8.2021.pdf")
    scanned = _attachment("2021-08-16", "05", "Scan_20210816_091402.pdf")
    assert has_text_layer(printed, ReadLimits())
    assert not has_text_layer(scanned, ReadLimits())


# -- synthetic pages ---------------------------------------------------------------------

FIGURES = [["64", "52", "155,82"], ["57", "50", "50"], ["10", "8", "29,68"]]


def _table_image(stamp: bool = False) -> Image.Image:
    """A white page with a ruled 3x3 table of figures (Pillow's own font), as wide as
    a table scanned at 300 dpi."""
    img = Image.new("RGB", (3400, 1000), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=44)
    x0, y0, cw, rh = 200, 200, 1000, 110
    for i in range(len(FIGURES) + 1):
        draw.line([(x0, y0 + i * rh), (x0 + 3 * cw, y0 + i * rh)], fill="black", width=4)
    for j in range(4):
        draw.line([(x0 + j * cw, y0), (x0 + j * cw, y0 + len(FIGURES) * rh)], fill="black", width=4)
    for i, row in enumerate(FIGURES):
        for j, text in enumerate(row):
            draw.text((x0 + j * cw + 400, y0 + i * rh + 30), text, fill="black", font=font)
    if stamp:  # a red round stamp over the middle column, ink on ink as on paper
        ink = Image.new("RGB", img.size, "white")
        pen = ImageDraw.Draw(ink)
        pen.ellipse([(x0 + cw - 40, y0 - 30), (x0 + 2 * cw + 40, y0 + 3 * rh + 30)], outline=(220, 30, 40), width=14)
        pen.text((x0 + cw + 300, y0 + 80), "UBND", fill=(220, 30, 40), font=font)
        img = ImageChops.multiply(img, ink)
    return img


def _encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _figures(data: bytes, limits: ReadLimits | None = None) -> list[list[str]]:
    grid = read_scan(data, "image", limits or ReadLimits(), "t.png")
    cells = grid.sheets[0].cells
    rows = sorted({r for r, _ in cells})
    return [[cells[(r, c)].text for c in sorted(c for rr, c in cells if rr == r)] for r in rows]


@pytest.fixture(scope="module")
def upright_figures() -> list[list[str]]:
    return _figures(_encode(_table_image()))


def test_a_ruled_table_is_read_cell_by_cell(upright_figures: list[list[str]]) -> None:
    assert upright_figures == FIGURES


def test_the_engines_are_ended_after_a_page_and_read_the_same_when_made_again(
    upright_figures: list[list[str]],
) -> None:
    import importlib

    engines = importlib.import_module("parsers.ocr.recognise")._engines
    assert engines == {}  # (memory: the next page is rendered without them)
    assert _figures(_encode(_table_image())) == upright_figures and engines == {}


def test_a_photo_stored_sideways_is_turned_by_its_exif_orientation(upright_figures: list[list[str]]) -> None:
    img = _table_image().rotate(90, expand=True)  # stored turned; EXIF 6 says turn it back clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    assert _figures(_encode(img, "JPEG", quality=95, exif=exif.tobytes())) == upright_figures


def test_red_stamp_ink_over_the_figures_is_dropped(upright_figures: list[list[str]]) -> None:
    assert _figures(_encode(_table_image(stamp=True))) == upright_figures


def test_a_page_over_the_megapixel_cap_is_refused_before_recognition() -> None:
    with pytest.raises(GridError) as err:
        read_scan(_encode(_table_image()), "image", ReadLimits(max_page_megapixels=1), "big.png")
    assert err.value.problem.params["limit"] == "megapixels"


def test_a_photo_far_above_300_dpi_is_decoded_at_a_reduced_size() -> None:
    big = Image.new("RGB", (7000, 5000), "white")  # 35 MP: under the cap, twice what an A4 page can use
    ImageDraw.Draw(big).rectangle((1000, 1000, 1400, 1200), fill="black")
    (page,) = iter_pages(
        _encode(big, "JPEG", quality=80), "image", ReadLimits(), "big.jpg", geometry.ColouredInkDropped()
    )
    assert max(page.shape) <= MAX_PHOTO_SIDE
    assert page.shape[1] > page.shape[0]  # the same picture, only smaller
    assert page[int(1100 * page.shape[0] / 5000), int(1200 * page.shape[1] / 7000)] < 50


def _png_header(width: int, height: int) -> bytes:
    """A PNG that says it is `width` x `height` pixels (its few pixels need no more)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    head = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + head + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_a_decompression_bomb_image_is_over_the_megapixel_cap() -> None:
    # past Pillow's own bomb limit (twice Image.MAX_IMAGE_PIXELS): it refuses to open it
    with pytest.raises(GridError) as err:
        read_scan(_png_header(50_000, 50_000), "image", ReadLimits(), "bom.png")
    assert err.value.problem.code == "over_limit"
    assert err.value.problem.params == {"file": "bom.png", "limit": "megapixels", "detail": "40"}


def test_a_document_over_the_page_cap_is_refused() -> None:
    frames = [_table_image().convert("L") for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(GridError) as err:
        read_scan(buf.getvalue(), "image", ReadLimits(max_pages=2), "three.tif")
    assert err.value.problem.params["limit"] == "pages"


def test_recognition_stops_when_the_document_runs_out_of_time() -> None:
    ticks = iter(range(0, 10_000, 7))  # each look at the clock: 7 more seconds

    limits = ReadLimits(max_document_seconds=20)
    with pytest.raises(GridError) as err:
        read_scan(_encode(_table_image()), "image", limits, "slow.png", clock=lambda: next(ticks))
    assert err.value.problem.params["limit"] == "seconds"


def test_a_scan_past_the_seconds_limit_makes_the_unit_unreadable_with_the_reason() -> None:
    ticks = iter(range(0, 10_000, 7))  # the clock read_attachment is given: 7 more seconds a look
    form = replace(
        load_config(SAMPLES / "config.toml", require_secrets=False).form,
        limits=ReadLimits(max_document_seconds=20),
    )
    result = read_attachment(
        "slow.png", "image/png", _encode(_table_image()), form, None, clock=lambda: float(next(ticks))
    )
    assert result.outcome == "unreadable"
    assert result.values == {}
    assert [(p.code, p.params.get("limit"), p.params.get("file")) for p in result.problems] == [
        ("over_limit", "seconds", "slow.png")
    ]


# -- figures from recognised cells: which are flagged -------------------------------------

HEADER = [
    "Nội dung",
    "Số đối tượng đề nghị hỗ trợ",
    "Số đối tượng được phê duyệt",
    "Kinh phí được phê duyệt (triệu đồng)",
]
ROWS = {
    "ho_kinh_doanh": ["Hỗ trợ hộ kinh doanh", "83", "68", "204"],
    "ngung_viec": ["Hỗ trợ người lao động ngừng việc", "57", "50", "50"],
    "tre_em_f0_f1": ["Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế", "62", "51", "51"],
}
TOTAL = ["Tổng cộng", "202", "169", "305"]


def _recognised(
    rows: list[list[str]],
    confidence: dict[tuple[int, int], float] | None = None,
    merged: tuple[tuple[int, int, int, int], ...] = (),
    alternatives: dict[tuple[int, int], tuple[str, ...]] | None = None,
    snap: bool = False,
) -> AttachmentResult:
    """A grid as parsers.ocr returns it (every cell with a confidence, a merged cell
    only at its origin, empty cells absent), through the same table finding and
    flagging as a scan (`snap`: its labels first snapped to the form's, as a scan's are)."""
    cells = {}
    covered = {(r, c) for r1, c1, r2, c2 in merged for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    covered -= {(r1, c1) for r1, c1, _, _ in merged}
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            if (r, c) in covered or not text:
                continue
            conf = (confidence or {}).get((r, c), 0.95)
            alts = (alternatives or {}).get((r, c), ())
            cells[(r, c)] = Cell(text, text, None, False, coordinate(r, c), confidence=conf, page=1, alternatives=alts)
    form = load_config(SAMPLES / "config.toml", require_secrets=False).form
    grid = Grid((Sheet("Trang 1", cells, merged),))
    if snap:
        grid = snap_labels(grid, form, form_index(form))
    return report_from_grid(grid, "scan.pdf", "pdf", form, None, source="scan")


def _reasons(result: AttachmentResult) -> dict[tuple[str, str], str]:
    return {
        (p.params["indicator_code"], p.params["measure_code"]): p.params["reason"]
        for p in result.problems
        if p.code == "uncertain_figure"
    }


def test_sure_figures_that_add_up_are_not_flagged() -> None:
    result = _recognised([HEADER, *ROWS.values(), TOTAL])
    assert result.values["ho_kinh_doanh"] == {"de_nghi": 83, "phe_duyet": 68, "kinh_phi": 204_000_000}
    assert _reasons(result) == {}


def test_an_unsure_figure_is_flagged_unless_its_column_adds_up_to_the_total() -> None:
    unsure = {(2, 2): 0.6}  # ho_kinh_doanh / de_nghi
    assert _reasons(_recognised([HEADER, *ROWS.values(), TOTAL], unsure)) == {}
    # very unsure: an unread cell and a misread can make a column add up by chance
    very_unsure = _recognised([HEADER, *ROWS.values(), TOTAL], {(2, 2): 0.2})
    assert _reasons(very_unsure) == {("ho_kinh_doanh", "de_nghi"): "low_confidence"}
    no_total = _recognised([HEADER, *ROWS.values()], unsure)
    assert _reasons(no_total) == {("ho_kinh_doanh", "de_nghi"): "low_confidence"}
    problem = next(p for p in no_total.problems if p.code == "uncertain_figure")
    assert (problem.params["file"], problem.params["page"], problem.params["text"]) == ("scan.pdf", "1", "83")
    assert problem.params["row"] == "Hỗ trợ hộ kinh doanh"


def test_a_column_that_does_not_add_up_to_its_total_is_flagged_whole() -> None:
    rows = [HEADER, *ROWS.values(), ["Tổng cộng", "202", "170", "305"]]
    reasons = _reasons(_recognised(rows))
    assert reasons == {(code, "phe_duyet"): "total_mismatch" for code in ROWS}


def test_the_total_chooses_the_one_combination_of_readings_that_adds_up_and_it_stays_flagged() -> None:
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "83", "63", "204"], *list(ROWS.values())[1:], TOTAL]
    result = _recognised(rows, {(2, 3): 0.3}, alternatives={(2, 3): ("68", "88")})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 68  # 68 + 50 + 51 = 169, the only fit
    reasons = _reasons(result)
    assert reasons == {
        ("ho_kinh_doanh", "phe_duyet"): "total_chosen",
        ("ngung_viec", "phe_duyet"): "total_mismatch",  # the column added up only by a choice
        ("tre_em_f0_f1", "phe_duyet"): "total_mismatch",
    }
    chosen = next(p for p in result.problems if p.params.get("reason") == "total_chosen")
    assert chosen.params["text"] == "68"
    assert not [p for p in result.problems if p.code == "check_failed"]  # 68 <= 83 once chosen


def test_readings_that_add_up_in_two_ways_are_not_chosen_from() -> None:
    rows = [
        HEADER,
        ["Hỗ trợ hộ kinh doanh", "83", "63", "204"],
        *list(ROWS.values())[1:],
        TOTAL,
    ]
    alternatives = {(2, 3): ("68", "73"), (3, 3): ("45",)}  # 68 + 50 and 73 + 45: both 118
    result = _recognised(rows, {(2, 3): 0.3, (3, 3): 0.3}, alternatives=alternatives)
    assert (result.values["ho_kinh_doanh"]["phe_duyet"], result.values["ngung_viec"]["phe_duyet"]) == (63, 50)
    assert _reasons(result) == {(code, "phe_duyet"): "total_mismatch" for code in ROWS}


def test_no_reading_is_chosen_in_a_column_with_a_figure_left_unread() -> None:
    rows = [
        HEADER,
        ["Hỗ trợ hộ kinh doanh", "83", "63", "204"],
        ["Hỗ trợ người lao động ngừng việc", "57", "50", "50"],
        ["Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế", "62", "lể", "51"],
        TOTAL,
    ]
    # 119 + 50 would make 169 were the unread figure nothing: it is not
    result = _recognised(rows, {(2, 3): 0.3}, alternatives={(2, 3): ("119",)})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 63
    reasons = _reasons(result)
    assert reasons[("tre_em_f0_f1", "phe_duyet")] == "not_a_figure"
    assert "total_chosen" not in reasons.values()


def test_one_digit_misread_the_same_at_every_size_is_mended_by_the_total_and_stays_flagged() -> None:
    # no other reading of the cell; only '294' read as 204 makes kinh_phi add up to 305
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "83", "68", "294"], *list(ROWS.values())[1:], TOTAL]
    result = _recognised(rows, {(2, 4): 0.5})
    assert result.values["ho_kinh_doanh"]["kinh_phi"] == 204_000_000
    reasons = _reasons(result)
    assert reasons[("ho_kinh_doanh", "kinh_phi")] == "total_chosen"
    assert reasons[("ngung_viec", "kinh_phi")] == reasons[("tre_em_f0_f1", "kinh_phi")] == "total_mismatch"


def test_a_one_row_column_takes_the_surer_of_its_figure_and_its_total() -> None:
    row = ["Hỗ trợ hộ kinh doanh", "33", "68", "204"]  # 83 read '33'
    total = ["Tổng cộng", "83", "68", "204"]
    result = _recognised([HEADER, row, total], {(2, 2): 0.87})
    assert result.values["ho_kinh_doanh"]["de_nghi"] == 83
    assert _reasons(result)[("ho_kinh_doanh", "de_nghi")] == "total_chosen"
    # the total read less surely than the figure: it may be the one misread
    result = _recognised([HEADER, row, total], {(2, 2): 0.87, (3, 2): 0.5})
    assert result.values["ho_kinh_doanh"]["de_nghi"] == 33
    assert _reasons(result)[("ho_kinh_doanh", "de_nghi")] == "total_mismatch"


def test_a_total_read_blind_chooses_no_reading() -> None:
    # '4.678.710.006' for ...000 (a stamp's dot), Tesseract unsure of it at all: it would
    # choose the cell's misread that matches its own
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "83", "63", "204"], *list(ROWS.values())[1:], TOTAL]
    result = _recognised(rows, {(2, 3): 0.3, (5, 3): 0.1}, alternatives={(2, 3): ("68", "88")})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 63
    assert "total_chosen" not in _reasons(result).values()


def test_a_total_two_cells_could_be_mended_to_mends_none() -> None:
    # 57 read '37': '37' -> 57 and '62' -> 82 both make 202
    rows = [HEADER, ROWS["ho_kinh_doanh"], ["Hỗ trợ người lao động ngừng việc", "37", "50", "50"], ROWS["tre_em_f0_f1"]]
    result = _recognised([*rows, TOTAL], {(3, 2): 0.6})
    assert (result.values["ngung_viec"]["de_nghi"], result.values["tre_em_f0_f1"]["de_nghi"]) == (37, 62)
    assert {r for (_, m), r in _reasons(result).items() if m == "de_nghi"} == {"total_mismatch"}


def test_a_dropped_decimal_comma_is_flagged_by_its_digit_count() -> None:
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "83", "68", "20450"], *list(ROWS.values())[1:]]
    assert _reasons(_recognised(rows)) == {("ho_kinh_doanh", "kinh_phi"): "digits_unlike_column"}


def test_money_under_a_heading_without_a_readable_scale_is_flagged() -> None:
    header = [*HEADER[:3], "Kinh phí được phê duyệt"]  # "(triệu đồng)" not read
    reasons = _reasons(_recognised([header, *ROWS.values(), TOTAL]))
    assert reasons == {(code, "kinh_phi"): "scale_not_stated" for code in ROWS}


def test_figures_breaking_a_check_of_the_form_are_flagged() -> None:
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "38", "68", "204"], *list(ROWS.values())[1:]]  # 83 read as 38
    reasons = _reasons(_recognised(rows))
    assert reasons == {("ho_kinh_doanh", "de_nghi"): "check_failed", ("ho_kinh_doanh", "phe_duyet"): "check_failed"}


def _named(result: AttachmentResult) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(indicator, measure) -> (row, column, reason) of each uncertain_figure."""
    return {
        (p.params["indicator_code"], p.params["measure_code"]): (
            p.params["row"],
            p.params["column"],
            p.params["reason"],
        )
        for p in result.problems
        if p.code == "uncertain_figure"
    }


def test_a_recognised_cell_that_is_no_figure_is_named_by_its_row_and_column() -> None:
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "VÀ", "68", "204"], *list(ROWS.values())[1:]]  # stamp ring text
    result = _recognised(rows)
    assert "de_nghi" not in result.values["ho_kinh_doanh"]
    assert _named(result)[("ho_kinh_doanh", "de_nghi")] == (
        "Hỗ trợ hộ kinh doanh",
        "Số đối tượng đề nghị hỗ trợ",
        "not_a_figure",
    )


def test_a_cell_spanning_two_rows_names_the_figure_of_each() -> None:
    # a rule across hidden by a stamp: two rows' figures read as one cell
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "83", "68", "204 50"], *list(ROWS.values())[1:]]
    result = _recognised(rows, merged=((2, 4, 3, 4),))
    named = _named(result)
    assert named[("ho_kinh_doanh", "kinh_phi")][2] == "not_a_figure"
    assert named[("ngung_viec", "kinh_phi")] == (
        "Hỗ trợ người lao động ngừng việc",
        "Kinh phí được phê duyệt",
        "merged_cells",
    )
    # read as one figure: kept, flagged
    one = _recognised(
        [HEADER, ["Hỗ trợ hộ kinh doanh", "83", "68", "20450"], *list(ROWS.values())[1:]], None, ((2, 4, 3, 4),)
    )
    assert _named(one)[("ho_kinh_doanh", "kinh_phi")][2] == "merged_cells"
    assert _named(one)[("ngung_viec", "kinh_phi")][2] == "merged_cells"


def test_a_cell_spanning_two_measures_names_both() -> None:
    rows = [HEADER, ["Hỗ trợ hộ kinh doanh", "83", "68 204", ""], *list(ROWS.values())[1:]]
    result = _recognised(rows, merged=((2, 3, 2, 4),))
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 68204  # "68 204": grouped like one figure
    named = _named(result)
    assert named[("ho_kinh_doanh", "phe_duyet")][2] == "merged_cells"  # kept, flagged
    assert named[("ho_kinh_doanh", "kinh_phi")][2] == "merged_cells"


def test_a_figure_in_a_column_no_measure_claims_is_named() -> None:
    # a stamp's arc taken for a rule: a measure's column split in two under its heading
    header = [*HEADER, ""]
    rows = [header, ["Hỗ trợ hộ kinh doanh", "83", "68", "", "204"], *[[*r, ""] for r in list(ROWS.values())[1:]]]
    result = _recognised(rows, merged=((1, 4, 1, 5),))
    assert "kinh_phi" not in result.values["ho_kinh_doanh"]
    assert _named(result)[("ho_kinh_doanh", "kinh_phi")] == (
        "Hỗ trợ hộ kinh doanh",
        "Kinh phí được phê duyệt",
        "unclaimed_column",
    )
    # a column with no heading at all: named by its letter
    rows = [header, ["Hỗ trợ hộ kinh doanh", "83", "68", "204", "17"], *[[*r, ""] for r in list(ROWS.values())[1:]]]
    assert _named(_recognised(rows))[("ho_kinh_doanh", "")] == ("Hỗ trợ hộ kinh doanh", "E", "unclaimed_column")


# ---- cell-level cleanup (synthetic arrays, no Tesseract) ----------------------------


def test_black_print_under_a_red_seal_stays_and_the_seal_goes() -> None:
    import numpy as np

    from parsers.ocr import geometry

    rgb = np.full((200, 200, 3), (226, 216, 197), dtype=np.uint8)  # warm paper
    rgb[40:160, 40:160] = (200, 120, 115)  # faded red seal
    rgb[90:110, 60:70] = (128, 80, 75)  # a black stroke seen through the seal
    gray = geometry.drop_coloured_ink(rgb)
    assert int(gray[100, 65]) < 160  # the stroke is still print
    assert int(gray[60, 120]) == 255  # the seal itself is paper
    desk = np.full((100, 100, 3), (200, 110, 100), dtype=np.uint8)  # red desk round the page
    desk[20:80, 20:80] = (230, 230, 230)
    assert int(geometry.drop_coloured_ink(desk)[5, 5]) == 255


def test_a_seal_in_a_photos_shadow_leaves_no_ring_of_ink() -> None:
    import cv2
    import numpy as np

    from parsers.ocr import geometry

    rgb = np.full((400, 400, 3), 150, dtype=np.uint8)  # paper in a shadow
    rgb[:, :60] = 235  # and in the light
    rgb[150:250, 30:50] = 20  # print
    cv2.circle(rgb, (220, 200), 90, (150, 40, 45), 10)  # the seal's ring
    rgb = cv2.GaussianBlur(rgb, (0, 0), 1.5)  # a phone's blur: outlines darker than the ring
    gray = geometry.drop_coloured_ink(rgb)
    assert 130 <= int(gray[200, 130]) <= 170  # the ring is paper as grey as around it, not white
    ink = geometry.binarize(geometry.flatten_light(gray))
    assert not ink[100:300, 120:320].any()  # nothing of the ring is ink
    assert ink[200, 40] and int(gray[200, 40]) < 100  # the print stays
    light = np.full((200, 200, 3), 235, dtype=np.uint8)
    cv2.circle(light, (100, 100), 60, (200, 60, 60), 8)
    assert int(geometry.drop_coloured_ink(light)[100, 40]) == 255  # on light paper the seal is white


def test_a_page_decoded_in_bands_loses_ink_as_the_whole_page_would() -> None:
    import numpy as np

    from parsers.ocr import geometry

    rgb = np.full((700, 300, 3), (226, 216, 197), dtype=np.uint8)
    rgb[200:330, 50:250] = (200, 120, 115)  # a seal across the band boundary at row 256
    rgb[250:290, 100:110] = (128, 80, 75)  # print under it
    rgb[600:, :] = (200, 110, 100)  # a red desk at the bottom edge
    (page,) = iter_pages(_encode(Image.fromarray(rgb)), "image", ReadLimits(), "t.png", geometry.ColouredInkDropped())
    assert np.array_equal(page, geometry.drop_coloured_ink(rgb))
    assert int(page[270, 105]) < 160 and int(page[210, 60]) == 255 and int(page[650, 10]) == 255
    exif = Image.Exif()
    exif[0x0112] = 6  # taken sideways: the page is turned before its whole-page step
    photo = _encode(Image.fromarray(rgb), "JPEG", quality=95, exif=exif.tobytes())
    (turned,) = iter_pages(photo, "image", ReadLimits(), "t.jpg", geometry.ColouredInkDropped())
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB"), dtype=np.uint8)
    assert np.array_equal(turned, geometry.drop_coloured_ink(upright))


def test_a_page_with_specks_of_red_in_every_band_loses_ink_as_the_whole_page_would() -> None:
    # the planes besides the grey one are kept only near the red ink (memory): red specks
    # on the bands' edges, inside bands and at the page's edges, each over print seen
    # through it (its brightest channel is used), give the whole page's result
    import numpy as np

    from parsers.ocr import geometry

    rng = np.random.default_rng(7)
    rgb = rng.integers(170, 236, (520, 330, 3), dtype=np.uint8)
    rgb[:, :, 2] = rgb[:, :, 1]  # warm grey paper, no colour
    for y in [0, 1, 62, 63, 64, 65, 127, 128, 200, 255, 256, 300, 383, 384, 447, 519]:
        for x in rng.integers(0, 330, 6).tolist():
            rgb[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = (205, 60, 55)  # a speck of seal
            rgb[y, x] = (120, 50, 45)  # print under it
    (page,) = iter_pages(_encode(Image.fromarray(rgb)), "image", ReadLimits(), "t.png", geometry.ColouredInkDropped())
    assert np.array_equal(page, geometry.drop_coloured_ink(rgb))


def test_a_photos_decoded_image_is_freed_before_its_page_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # leaving `with Image.open(...)` closes only the file: the decoded pixels (46 MiB for
    # 12 megapixels) stayed alive while the page was read
    import weakref

    from parsers.ocr import pages

    opened: list[weakref.ref[Image.Image]] = []
    real_open = Image.open

    def recording_open(*args: object, **kw: object) -> Image.Image:
        img = real_open(*args, **kw)  # type: ignore[arg-type]
        opened.append(weakref.ref(img))
        return img

    monkeypatch.setattr(pages.Image, "open", recording_open)
    data = _encode(_table_image(stamp=True), "JPEG", quality=90)
    page_iter = iter_pages(data, "image", ReadLimits(), "t.jpg", geometry.ColouredInkDropped())
    page = next(page_iter)  # the generator now waits while the page is read
    assert page.ndim == 2 and opened
    assert all(ref() is None for ref in opened)


def test_the_first_grey_page_is_freed_once_the_next_step_has_its_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    # (enumerate kept the page it handed over alive for the whole page's reading)
    import weakref

    from parsers.ocr import pages

    firsts: list[weakref.ref[object]] = []
    real_pages = pages.iter_pages

    def recording_pages(*args: object, **kw: object):  # type: ignore[no-untyped-def]
        source = real_pages(*args, **kw)  # type: ignore[arg-type]
        while (held := [next(source, None)])[0] is not None:
            firsts.append(weakref.ref(held[0]))
            yield held.pop()  # (no reference kept here)

    seen: list[bool] = []
    real_quad = geometry.table_quad

    def checking_quad(ink, *rest):  # type: ignore[no-untyped-def]
        seen.append(all(ref() is None for ref in firsts))
        return real_quad(ink, *rest)

    import parsers.ocr as ocr

    monkeypatch.setattr(ocr, "iter_pages", recording_pages)
    monkeypatch.setattr(geometry, "table_quad", checking_quad)
    read_scan(_encode(_table_image()), "image", ReadLimits(), "t.png")
    assert firsts and seen == [True]


def test_a_pdf_page_rendered_in_bands_is_the_whole_render() -> None:
    # a 200 dpi scan rendered at 300 dpi: PDFium stretches it; the bands (with their
    # margins dropped) give exactly the whole page's render (without the margins, rows
    # at the bands' edges differ), a red seal across a band edge
    import numpy as np
    import pypdfium2 as pdfium

    from parsers.ocr import geometry

    rng = np.random.default_rng(5)
    rgb = rng.integers(150, 256, (1200, 800, 3), dtype=np.uint8)
    rgb[280:330, 100:700] = (205, 110, 105)  # a seal across row 451 at 300 dpi (the first band's edge)
    rgb[295:310, 200:600] = (40, 40, 40)  # print under it
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PDF", resolution=200)
    data = buf.getvalue()
    pdf = pdfium.PdfDocument(data)
    bitmap = pdf[0].render(scale=300 / 72, grayscale=False, rev_byteorder=True)
    whole = np.array(bitmap.to_numpy()[:, :, :3])
    bitmap.close()
    pdf.close()
    (page,) = iter_pages(data, "pdf", ReadLimits(), "scan.pdf", geometry.ColouredInkDropped())
    assert page.shape == whole.shape[:2]
    assert np.array_equal(page, geometry.drop_coloured_ink(whole))


def test_a_rule_is_fitted_without_the_digit_touching_it() -> None:
    import numpy as np

    from parsers.ocr import geometry

    sub = np.zeros((40, 400), dtype=bool)
    sub[20:23, :] = True  # a straight rule, three pixels thick
    sub[0:20, 380:392] = True  # a digit standing on it
    curve = geometry._rule_curve(sub, 0, 0, np.arange(400, dtype=np.float64))
    assert curve is not None
    assert float(np.abs(curve - 21.0).max()) < 0.5
    short = np.zeros((10, 400), dtype=bool)
    short[5, :150] = True  # a rule seen over a third of the width only
    assert geometry._rule_curve(short, 0, 0, np.arange(400, dtype=np.float64)) is None


def test_a_dash_is_empty_and_a_figure_is_not() -> None:
    import numpy as np

    from parsers.ocr import _is_dash

    dash = np.zeros((60, 200), dtype=bool)
    dash[30:34, 90:100] = True  # a short, blurred "-": 10 x 4
    dash[5, 5] = True  # a speck
    assert _is_dash(dash, 60)
    hundred = np.zeros((60, 200), dtype=bool)
    hundred[20:30, 100:106] = True  # thin strokes of "100" written small
    hundred[20:30, 110:112] = hundred[20:30, 118:120] = True
    hundred[20:22, 110:120] = hundred[28:30, 110:120] = True
    assert not _is_dash(hundred, 60)


def test_a_figure_touching_the_right_rule_keeps_its_last_digit() -> None:
    import numpy as np

    from parsers.ocr import _clear_rule_remnants

    cell = np.full((46, 240), 255, dtype=np.uint8)
    cell[:, 236:240] = 90  # what is left of the rule, full height
    cell[8:38, 226:236] = 30  # the last digit, touching it
    out = _clear_rule_remnants(cell)
    assert (out[:, 236:] == 255).all()
    assert (out[8:38, 226:236] == 30).all()
    untouched = np.full((46, 240), 255, dtype=np.uint8)
    untouched[8:38, 226:240] = 30  # a digit at the edge, no rule: kept
    assert (_clear_rule_remnants(untouched) == untouched).all()


def test_a_speck_above_a_figure_is_dropped_and_its_decimal_comma_kept() -> None:
    import numpy as np

    from parsers.ocr import _stray_specks

    dark = np.zeros((60, 200), dtype=bool)
    dark[20:45, 100:115] = dark[20:45, 120:135] = True  # two digits
    dark[40:46, 138:141] = True  # a decimal comma at the foot of the line
    dark[5:8, 125:128] = True  # dust above the line
    stray = _stray_specks(dark)
    assert stray[5:8, 125:128].all()
    assert not stray[40:46, 138:141].any()
    assert not stray[20:45, 100:135].any()


def test_readings_of_a_figure_that_differ_leave_it_unsure(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    import parsers.ocr as ocr
    from parsers.ocr.recognise import Reading

    crop = np.full((30, 40), 255, dtype=np.uint8)
    crop[5:25, 10:30] = 0
    answers = iter([Reading("34", 0.5), Reading("34", 0.9), Reading("44", 0.9)])
    monkeypatch.setattr(ocr, "recognise", lambda _img, _kind: next(answers, Reading("", 0.0)))
    figure, conf, _ = ocr._read_figure(crop, "34", 0.95) or ("", 1.0, ())
    assert figure == "34"  # three of four readings say so
    assert conf < 0.8  # but one disagrees: flagged
    answers = iter([Reading("", 0.0), Reading("10", 0.95), Reading("10", 0.9)])
    figure, conf, _ = ocr._read_figure(crop, "", 0.0) or ("", 1.0, ())
    assert figure == "10" and conf < 0.8  # kept, flagged: the text model saw nothing
    answers = iter([Reading("62", 0.93)])
    assert ocr._read_figure(crop, "62", 0.9) == ("62", 0.9, ())  # sure at once: read once


def test_a_stamps_arcs_are_no_column_rules() -> None:
    import cv2
    import numpy as np

    from parsers.ocr import geometry

    ink = np.zeros((700, 2400), dtype=np.uint8)  # a 4 x 4 ruled table
    for y in (20, 170, 290, 410, 530):
        cv2.line(ink, (20, y), (2380, y), 255, 4)
    for x in (20, 600, 1200, 1800, 2380):
        cv2.line(ink, (x, 20), (x, 530), 255, 4)
    plain, _ = geometry.find_cells(ink)
    cv2.circle(ink, (1500, 520), 230, 255, 9)  # a seal's two rings over the last rows, left as ink
    cv2.circle(ink, (1500, 520), 170, 255, 5)
    stamped, _ = geometry.find_cells(ink)
    assert [c.box for c in stamped] == [c.box for c in plain]
    assert len(plain) == 16


def test_a_last_column_whose_rule_down_is_lost_is_closed_by_the_rules_across() -> None:
    import cv2
    import numpy as np

    from parsers.ocr import geometry

    ink = np.zeros((700, 2400), dtype=np.uint8)
    for y in (20, 170, 290, 410, 530):
        cv2.line(ink, (20, y), (2380, y), 255, 4)
    for x in (20, 600, 1200, 1800):  # the table's right border too faint to be seen
        cv2.line(ink, (x, 20), (x, 530), 255, 4)
    cells, _ = geometry.find_cells(ink)
    assert max(c.col_end for c in cells) + 1 == 4
    assert max(c.box[2] for c in cells) >= 2370


def test_a_small_table_with_thin_leaning_rules_is_found() -> None:
    import math

    import cv2
    import numpy as np

    from parsers.ocr import geometry

    ink = np.zeros((2300, 1700), dtype=np.uint8)  # a photo's page: one figure row under a two-row header
    lean = math.tan(math.radians(3))  # rules one pixel thin, leaning 3 degrees
    ys = (570, 610, 650, 700)
    for y in ys:
        cv2.line(ink, (420, y), (1560, y + 8), 255, 1)
    for x in (420, 470, 700, 820, 940, 1060, 1180, 1560):
        top = ys[0] if x in (420, 470, 700, 1560) else ys[1]
        cv2.line(ink, (x, top), (int(x - lean * (ys[-1] - top)), ys[-1]), 255, 1)
    quad = geometry.table_quad(ink)
    assert quad is not None
    assert abs(float(quad[0][0]) - 420) < 10 and abs(float(quad[2][1]) - 708) < 10


def test_a_figure_no_line_was_found_in_is_read_as_a_raw_line_and_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    import parsers.ocr as ocr
    from parsers.ocr.recognise import Reading

    crop = np.full((43, 60), 255, dtype=np.uint8)
    crop[5:38, 8:52] = 0
    raw = {"text": "88"}

    def recognise(_img: object, kind: str) -> Reading:
        # every read with layout analysis finds no line; the raw line reads the figure
        return Reading(raw["text"], 0.9) if kind == "raw" else Reading("", 0.0)

    monkeypatch.setattr(ocr, "recognise", recognise)
    figure, conf, _ = ocr._read_cell(crop, crop, (0, 0, 60, 43)) or ("", 1.0, ())
    assert figure == "88"
    assert conf < ocr._SURE  # only the raw line saw it: flagged unless its total confirms it
    readings = iter(["88", "86"])  # the raw readings disagree: dust, a mark, nothing taken
    monkeypatch.setattr(
        ocr, "recognise", lambda _img, kind: Reading(next(readings), 0.9) if kind == "raw" else Reading("", 0.0)
    )
    assert ocr._read_figure(crop, "", 0.0) is None


def test_a_heading_word_with_one_letter_misread_is_respelled_as_the_forms_phrase() -> None:
    from parsers.report.ocrlabels import _one_letter_off, _phrases, _respell

    form = load_config(SAMPLES / "config.toml", require_secrets=False).form
    phrases = _phrases(form)
    near = _one_letter_off(phrases)
    assert _respell("Số tiền đề chi trả (triệu đồng)", phrases, near) == "Số tiền đã chi trả (triệu đồng)"
    assert _respell("Kinh phí được phế duyệt", phrases, near) == "Kinh phí được phê duyệt"
    assert _respell("Đã chi trả (người)", phrases, near) == "Đã chi trả (người)"  # spelled right: as it is
    assert _respell("Ghi chú khác", phrases, near) == "Ghi chú khác"  # near no phrase: as it is
    # the longest phrase, one letter off, rather than a shorter one spelled right and a word
    assert _respell("Kinh phí được phê duvệt", phrases, near) == "Kinh phí được phê duyệt"


def test_a_figure_read_with_two_digits_as_letters_is_read_as_a_figure() -> None:
    from parsers.ocr import _figure_like

    assert _figure_like("1.99C,08U")  # 1.990.080: the digits model reads it, flagged
    assert _figure_like("+05.5¡0")
    assert not _figure_like("Cứu đói")
    assert not _figure_like("Tổng cộng 2.063")
    assert not _figure_like("Quý 3/2021")


def test_a_digit_the_digits_model_dropped_is_offered_from_the_text_models_sign(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np

    import parsers.ocr as ocr
    from parsers.ocr.recognise import Reading

    crop = np.full((32, 60), 255, dtype=np.uint8)
    crop[5:28, 8:52] = 0
    monkeypatch.setattr(
        ocr, "recognise", lambda _img, kind: Reading("65", 0.4) if kind == "digits" else Reading("", 0.0)
    )
    figure, conf, alternatives = ocr._read_figure(crop, "65}", 0.8) or ("", 1.0, ())
    assert figure == "65" and conf < ocr._SURE  # the figure read stays, flagged
    assert "651" in alternatives  # the '}' read as its 1: for the column's total to choose


def test_a_row_above_figures_with_no_label_cell_is_flagged_whole() -> None:
    # the rule between two rows lost in the label column of a photo: one label cell
    # holds both labels, matched to the lower row's; the row below has no label cell
    two_labels = "Hỗ trợ người lao động ngừng việc Hỗ trợ hộ kinh doanh"
    rows = [HEADER, [two_labels, "57", "50", "50"], ["", "83", "68", "204"], list(ROWS.values())[2]]
    result = _recognised(rows)
    above = next(ind for ind in result.values if ind != "tre_em_f0_f1")  # whichever label it was taken for
    reasons = _reasons(result)
    assert {reasons.get((above, m)) for m in ("de_nghi", "phe_duyet", "kinh_phi")} == {"merged_cells"}
    assert ("tre_em_f0_f1", "de_nghi") not in reasons  # a row with its own label: as before
    # every row labelled: nothing flagged
    assert _reasons(_recognised([HEADER, *ROWS.values()])) == {}


def test_a_label_garbled_beyond_the_close_match_takes_the_closest_indicator_flagged() -> None:
    # 'Hổ tọ hậ kỉnh đaonh' is too far from 'Hỗ trợ hộ kinh doanh' to be taken as it
    # silently, yet clearly closer to it than to any other: its figures are taken,
    # each flagged and named by the label as read
    garbled = "Hổ tọ hậ kỉnh đaonh"
    result = _recognised([HEADER, [garbled, "83", "68", "204"], *list(ROWS.values())[1:], TOTAL], snap=True)
    assert result.values["ho_kinh_doanh"] == {"de_nghi": 83, "phe_duyet": 68, "kinh_phi": 204_000_000}
    named = [p.params for p in result.problems if p.params.get("reason") == "approximate_label"]
    assert {(p["indicator_code"], p["measure_code"], p["row"]) for p in named} == {
        ("ho_kinh_doanh", m, garbled) for m in ("de_nghi", "phe_duyet", "kinh_phi")
    }
    assert set(_reasons(result)) == {("ho_kinh_doanh", m) for m in ("de_nghi", "phe_duyet", "kinh_phi")}
    # a label read well is snapped as before and flags nothing
    assert _reasons(_recognised([HEADER, *ROWS.values(), TOTAL], snap=True)) == {}


def test_an_approximate_label_never_takes_an_indicator_another_row_has() -> None:
    garbled = ["Hổ tọ hậ kỉnh đaonh", "83", "68", "204"]
    # the indicator's own label on another row: the garbled row is not taken
    twice = _recognised([HEADER, garbled, *ROWS.values()], snap=True)
    assert twice.values["ho_kinh_doanh"] == {"de_nghi": 83, "phe_duyet": 68, "kinh_phi": 204_000_000}
    reasons = {p.params["reason"] for p in twice.problems if p.code == "uncertain_figure"}
    assert "unmatched_row" in reasons and "approximate_label" not in reasons
    # two garbled rows closest to the same indicator: neither is taken
    both = _recognised([HEADER, garbled, ["Hổ tọ hộ kỉnh đaonk", "1", "1", "1"]], snap=True)
    assert "ho_kinh_doanh" not in both.values
    # a label cell with no figure on its row (a heading) is left as read
    heading = _recognised([HEADER, ["Hổ tọ hậ kỉnh đaonh"], *list(ROWS.values())[1:]], snap=True)
    assert "ho_kinh_doanh" not in heading.values


def test_a_row_that_breaks_a_check_takes_the_one_other_reading_that_passes() -> None:
    # approved read '168' of 83 requested; its other reading '68' alone passes the check
    row = ["Hỗ trợ hộ kinh doanh", "83", "168", "204"]
    result = _recognised([HEADER, row], confidence={(2, 3): 0.3}, alternatives={(2, 3): ("68", "188")})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 68
    assert _reasons(result)[("ho_kinh_doanh", "phe_duyet")] == "check_chosen"
    assert not [p for p in result.problems if p.code == "check_failed"]
    # the other side of the check unsure with no other reading: it may be the misread one
    unsure = _recognised([HEADER, row], confidence={(2, 2): 0.3, (2, 3): 0.3}, alternatives={(2, 3): ("68",)})
    assert unsure.values["ho_kinh_doanh"]["phe_duyet"] == 168
    # two other readings pass: which one the check cannot tell
    two = _recognised([HEADER, row], confidence={(2, 3): 0.3}, alternatives={(2, 3): ("68", "18")})
    assert two.values["ho_kinh_doanh"]["phe_duyet"] == 168


def test_a_row_whose_label_matches_no_indicator_names_its_figures() -> None:
    # a label garbled by a stamp or a blurred photo: the row is not taken, and each of
    # its figures is named by the label as read, never dropped unnamed
    garbled = ["Hỗ trợ hậ kỉnh đaonh", "83", "68", "204"]
    result = _recognised([HEADER, garbled, *list(ROWS.values())[1:]])
    assert "ho_kinh_doanh" not in result.values
    named = [p.params for p in result.problems if p.params.get("reason") == "unmatched_row"]
    assert {(p["row"], p["text"]) for p in named} == {("Hỗ trợ hậ kỉnh đaonh", t) for t in ("83", "68", "204")}
    assert {p["measure_code"] for p in named} == {"de_nghi", "phe_duyet", "kinh_phi"}
    # the same row between two matched rows
    middle = _recognised([HEADER, list(ROWS.values())[1], garbled, list(ROWS.values())[2], TOTAL])
    named = [p.params for p in middle.problems if p.params.get("reason") == "unmatched_row"]
    assert {p["text"] for p in named} == {"83", "68", "204"}
    # a total row and every row matched: nothing named
    clean = _recognised([HEADER, *ROWS.values(), TOTAL])
    assert not [p for p in clean.problems if p.params.get("reason") == "unmatched_row"]


def test_a_column_holding_a_rule_the_grid_lost_is_split_at_it() -> None:
    import numpy as np

    import parsers.ocr as ocr

    # four rows of two columns; the second holds, in every row, a thin leaning rule
    # from its top to its bottom (a photo's rule the grid did not find) and figures
    ink = np.zeros((400, 900), dtype=np.uint8)
    clean = np.full((400, 900), 255, dtype=np.uint8)
    cells = []
    for i in range(4):
        y0, y1 = 100 * i, 100 * (i + 1)
        cells.append(geometry.GridCell(i, 0, i, 0, (0, y0, 300, y1)))
        cells.append(geometry.GridCell(i, 1, i, 1, (300, y0, 900, y1)))
        x = 600 + 3 * i  # leaning a little from row to row
        ink[y0:y1, x : x + 3] = 255
        clean[y0:y1, x : x + 3] = 0
        ink[y0 + 35 : y0 + 65, 450:470] = 255  # a figure left of it
        ink[y0 + 35 : y0 + 65, 800:830] = 255  # and one right of it
    split, guessed = ocr._lost_rules_split(cells, ink, clean)
    assert guessed == {1, 2}
    second = [gc for gc in split if gc.col == 1]
    third = [gc for gc in split if gc.col == 2]
    assert len(second) == len(third) == 4
    assert all(gc.box[2] in range(600, 612) and gc.box[0] == 300 for gc in second)
    assert all(gc.box[0] == left.box[2] and gc.box[2] == 900 for gc, left in zip(third, second, strict=True))
    assert int(clean[150, 603]) == 255  # the rule's pieces made paper: not read as a '1'
    # a figure's stroke in one row only is no rule
    lone = np.zeros((400, 900), dtype=np.uint8)
    lone[5:95, 600:603] = 255
    assert ocr._lost_rules_split(cells, lone, clean.copy()) == (cells, set())


def test_a_merged_cell_read_as_figures_with_a_rule_between_them_is_split() -> None:
    import parsers.ocr as ocr

    assert ocr._figures_apart("437.630.000 | 945") and ocr._figures_apart("240,02 \\ 2154,19")
    assert not ocr._figures_apart("Kinh phí | 45")  # a heading beside a figure
    assert not ocr._figures_apart("| 45") and not ocr._figures_apart("1.236")


def test_a_heading_merged_over_two_measures_is_read_cell_by_cell_only_without_headings_below() -> None:
    import parsers.ocr as ocr

    def cell(text: str) -> Cell:
        return Cell(text, text, None, False, "", confidence=0.9, page=1)

    boxes = {0: (0, 200), 1: (200, 400), 2: (400, 600)}
    # a heading over columns 2-3 (0-based 1-2) and, below, figures in both in two rows
    merged = geometry.GridCell(0, 1, 0, 2, (200, 0, 600, 50))
    cells = [geometry.GridCell(0, 0, 0, 0, (0, 0, 200, 50)), merged]
    grid = {(1, 1): cell("STT"), (1, 2): cell("Số hộ được xét duyệt Đã giải ngân")}
    for r in (1, 2):
        for j in range(3):
            cells.append(geometry.GridCell(r, j, r, j, (boxes[j][0], 50 * r, boxes[j][1], 50 * (r + 1))))
            grid[(r + 1, j + 1)] = cell(str(10 * r + j))
    got = ocr._split_headings(cells, grid)
    assert [(gc, [key for key, _ in parts]) for gc, parts in got] == [(merged, [(1, 2), (1, 3)])]
    assert [box for _, box in got[0][1]] == [(200, 0, 400, 50), (400, 0, 600, 50)]
    # a heading over a group of measures, each with its own heading below: left merged
    grouped = dict(grid)
    grouped[(2, 2)], grouped[(2, 3)] = cell("Số hộ"), cell("Kinh phí")
    assert ocr._split_headings(cells, grouped) == []


def test_the_total_chooses_among_many_readings_of_two_misread_cells() -> None:
    # two cells misread, each with twenty readings: more combinations with the third
    # than a product of them would try; exactly one adds up (68 + 50 + 51 = 169)
    rows = [
        HEADER,
        ["Hỗ trợ hộ kinh doanh", "83", "63", "204"],
        ["Hỗ trợ người lao động ngừng việc", "57", "56", "50"],
        ["Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế", "62", "57", "51"],
        TOTAL,
    ]
    many = tuple(str(n) for n in range(1000, 1019))
    alternatives = {(2, 3): ("68", *many), (3, 3): ("50", *many), (4, 3): ("51", *many)}
    result = _recognised(rows, {(2, 3): 0.3, (3, 3): 0.3, (4, 3): 0.3}, alternatives=alternatives)
    assert [result.values[code]["phe_duyet"] for code in ROWS] == [68, 50, 51]
    assert {_reasons(result)[(code, "phe_duyet")] for code in ROWS} == {"total_chosen"}


def test_a_digit_tesseract_weighed_nearly_as_well_and_a_symbol_too_many_are_other_readings() -> None:
    from parsers.ocr.recognise import choice_readings

    def symbols(text: str, others: dict[int, list[tuple[float, str]]]) -> list[tuple[str, list[tuple[float, str]]]]:
        return [(ch, others.get(i, [])) for i, ch in enumerate(text)]

    # '482.580.9000': the blurred last zeros read as four symbols, the '9' weighed as a '0' too
    read = symbols("482.580.9000", {8: [(72.0, "0")]})
    confs = [99.0] * 12
    confs[8] = 90.0
    got = choice_readings(read, confs)
    assert "482.580.000" in got and "482.580.900" in got
    assert all(t.count(".") == 2 and len(t) == 11 for t in got)  # only a figure's shape
    # a reading of a figure's shape: a digit replaced, none dropped
    assert choice_readings(symbols("4.118", {0: [(74.4, "1")]}), [93.0] * 5) == ["1.118"]


def test_a_total_read_unsurely_chooses_only_through_one_fit_over_its_readings() -> None:
    rows = [
        HEADER,
        ["Hỗ trợ hộ kinh doanh", "83", "63", "204"],
        *list(ROWS.values())[1:],
        TOTAL[:2] + ["1.69"] + TOTAL[3:],
    ]
    # the total '1.69' (a zero lost, read blind) and its other reading 169: 68 + 50 + 51 the one fit
    result = _recognised(rows, {(2, 3): 0.3, (5, 3): 0.1}, alternatives={(2, 3): ("68", "88"), (5, 3): ("169",)})
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 68
    assert {_reasons(result)[(code, "phe_duyet")] for code in ROWS} == {"total_chosen", "total_mismatch"}
    # the cells as read fit one of the total's readings (164), a reading of a cell another: none chosen
    both = _recognised(rows, {(2, 3): 0.3, (5, 3): 0.1}, alternatives={(2, 3): ("68",), (5, 3): ("169", "164")})
    assert both.values["ho_kinh_doanh"]["phe_duyet"] == 63
    assert "total_chosen" not in _reasons(both).values()
    assert {_reasons(both)[(code, "phe_duyet")] for code in ROWS} == {"total_mismatch"}


def test_a_money_scale_whose_opening_bracket_was_read_as_a_letter_is_the_scale() -> None:
    # '(nghìn' read 'inghìn': 'đồng' alone was taken for the scale (a thousand times too little)
    header = [*HEADER[:3], "Kinh phí được phê duyệt itrieu đồng)"]  # its diacritic lost too
    result = _recognised([header, *ROWS.values(), TOTAL], snap=True)
    assert result.values["ho_kinh_doanh"]["kinh_phi"] == 204_000_000
    assert _reasons(result) == {}
    # a letter before a scale word in a cell that opens its bracket, or closes none, stays
    from parsers.report.ocrlabels import _bracket_mended

    assert _bracket_mended("Kinh phí (itriệu đồng)") == "Kinh phí (itriệu đồng)"
    assert _bracket_mended("Số hộ inghìn") == "Số hộ inghìn"
