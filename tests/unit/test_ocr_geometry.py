"""Table geometry of photos (parsers.ocr.geometry): a table of faint grey rules
leaning under a keystone found, a corner a stamp cut off the grid's outline put back
where its rules meet, faint rules made solid only where print shows none."""

from __future__ import annotations

import math

import cv2
import numpy as np

from parsers.ocr import geometry


def _faint_leaning_table() -> np.ndarray:
    """A flattened photo's page: a ruled table of light grey rules one pixel thin
    (the blur of a phone photo), its rules down leaning 6 degrees (a keystone)."""
    gray = np.full((1800, 2400), 255, dtype=np.uint8)
    lean = math.tan(math.radians(6))
    ys = (600, 660, 700, 750, 800, 850)
    for y in ys:  # from the first rule down to the last, where they pass
        shift = int(lean * (y - ys[0]))
        cv2.line(gray, (300 + shift, y), (2100 + shift, y), 205, 1)
    for x in (300, 380, 1000, 1250, 1500, 1750, 2100):
        cv2.line(gray, (x, ys[0]), (int(x + lean * (ys[-1] - ys[0])), ys[-1]), 205, 1)
    return gray


def test_a_table_of_faint_leaning_rules_is_found_from_the_grey_page() -> None:
    gray = _faint_leaning_table()
    ink = geometry.binarize(gray)
    dashed = ink.copy()
    dashed[:, ::7] = 0  # what Otsu's threshold leaves of a blurred photo's rules: dashes
    assert geometry.table_quad(dashed) is None
    quad = geometry.table_quad(dashed, gray)
    assert quad is not None
    tl, tr, br, bl = quad
    assert abs(float(tl[0]) - 300) < 8 and abs(float(tl[1]) - 600) < 8
    assert abs(float(br[0]) - (2100 + math.tan(math.radians(6)) * 250)) < 8 and abs(float(br[1]) - 850) < 8


def test_no_table_is_found_in_faint_text_without_rules() -> None:
    gray = np.full((1800, 2400), 255, dtype=np.uint8)
    for y in range(300, 1500, 45):  # lines of a letter's text, light grey
        cv2.putText(gray, "Kinh gui Ban Chi huy 1.234 ngay 20/09/2021", (200, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 200, 2)
    assert geometry.table_quad(geometry.binarize(gray), gray) is None


def test_a_corner_cut_off_the_grid_is_put_back_where_the_rules_meet() -> None:
    ink = np.zeros((1800, 2400), dtype=np.uint8)
    ys = (600, 700, 760, 820)
    drop = 30  # the page a little turned: the rules across fall to the right
    for y in ys:
        cv2.line(ink, (300, y), (2100, y + drop), 255, 3)
    for x in (300, 400, 1000, 1400, 1800, 2100):
        cv2.line(ink, (x, ys[0] + drop * (x - 300) // 1800), (x, ys[-1] + drop * (x - 300) // 1800), 255, 3)
    # a stamp over the last row's right end: its rules there lost
    cv2.rectangle(ink, (1700, 780), (2110, 900), 0, -1)
    quad = geometry.table_quad(ink)
    assert quad is not None
    br = quad[2]
    assert abs(float(br[0]) - 2100) < 8 and abs(float(br[1]) - (820 + drop)) < 8


def test_faint_rules_are_inked_and_dark_ones_left_as_printed() -> None:
    faint = np.full((400, 2800), 255, dtype=np.uint8)
    for y in (20, 120, 220, 320):
        cv2.line(faint, (20, y), (2780, y), 215, 1)
    for x in (20, 700, 1400, 2780):
        cv2.line(faint, (x, 20), (x, 320), 215, 1)
    cv2.putText(faint, "1.234", (2500, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 3)
    inked = geometry.straighten(faint.copy())
    assert inked[120, 1000] < 100 and inked[200, 700] < 100  # the rules now black
    assert geometry.find_cells(geometry.binarize(inked))[0]

    dark = faint.copy()
    dark[dark == 215] = 60  # rules printed dark: nothing is changed
    assert np.array_equal(geometry.straighten(dark.copy()), dark)


def test_a_sharp_shadow_edge_across_a_faint_table_is_no_rule_of_it() -> None:
    gray = np.full((1800, 2400), 228, dtype=np.uint8)  # paper in a photo's light
    _grid(gray, (600, 660, 700, 750, 800, 850), (300, 380, 1000, 1250, 1500, 1750, 2100), 120)
    shadow = np.zeros_like(gray)  # a shadow's sharp edge running across the table and the page
    cv2.fillPoly(shadow, [np.array([[1400, 0], [2400, 0], [2400, 1800], [900, 1800]], dtype=np.int32)], 1)
    gray[shadow > 0] = (gray[shadow > 0].astype(np.float32) * 0.72).astype(np.uint8)
    flat = geometry.flatten_light(np.asarray(cv2.GaussianBlur(gray, (0, 0), 1.0), dtype=np.uint8))
    ink = geometry.binarize(flat)
    ink[:, ::7] = 0  # dashes, as Otsu leaves a blurred photo's rules
    quad = geometry.table_quad(ink, flat)
    assert quad is not None
    tl, tr, br, bl = quad
    assert abs(float(tl[0]) - 300) < 8 and abs(float(tl[1]) - 600) < 8
    assert abs(float(br[0]) - 2100) < 8 and abs(float(br[1]) - 850) < 8


def _grid(gray: np.ndarray, ys: tuple[int, ...], xs: tuple[int, ...], shade: int, lean: float = 0.0) -> None:
    """Rules across at `ys` and down at `xs` (from the first to the last of the
    others), the rules across falling `lean` pixels a pixel to the right."""
    for y in ys:
        cv2.line(gray, (xs[0], y), (xs[-1], int(y + lean * (xs[-1] - xs[0]))), shade, 1)
    for x in xs:
        drop = int(lean * (x - xs[0]))
        cv2.line(gray, (x, ys[0] + drop), (x, ys[-1] + drop), shade, 1)


def test_a_table_whose_rules_across_lean_is_found_from_the_grey_page() -> None:
    gray = np.full((1800, 2400), 255, dtype=np.uint8)
    lean = math.tan(math.radians(7))  # a strong keystone: the rules across lean, not the rules down
    _grid(gray, (500, 560, 600, 650, 700, 750), (300, 380, 1000, 1250, 1500, 1750, 2100), 205, lean)
    ink = geometry.binarize(gray)
    ink[:, ::7] = 0  # dashes, as Otsu leaves a blurred photo's rules
    quad = geometry.table_quad(ink, gray)
    assert quad is not None
    tl, tr, br, bl = quad
    assert abs(float(tl[0]) - 300) < 8 and abs(float(tl[1]) - 500) < 8
    assert abs(float(br[0]) - 2100) < 8 and abs(float(br[1]) - (750 + lean * 1800)) < 8


def test_a_curled_table_seen_whole_only_with_its_rules_widened_is_taken_whole() -> None:
    ink = np.zeros((1800, 2400), dtype=np.uint8)
    ys, xs = (600, 660, 700, 750, 800, 850), (300, 380, 700, 1000, 1250, 1500, 1750, 2100)
    bend = math.tan(math.radians(2))  # the paper curls up past the middle: the rules bend down there

    def drop(x: int) -> int:
        return int(bend * max(0, x - 1000))

    for y in ys:  # thin rules: level to the middle, then falling a pixel every 29
        cv2.polylines(ink, [np.array([(300, y), (1000, y), (2100, y + drop(2100))], dtype=np.int32)], False, 255, 1)
    for x in xs:
        cv2.line(ink, (x, ys[0] + drop(x)), (x, ys[-1] + drop(x)), 255, 1)
    quad = geometry.table_quad(ink)
    assert quad is not None
    assert abs(float(quad[1][0]) - 2100) < 8 and abs(float(quad[2][0]) - 2100) < 8


def test_a_seal_touching_the_tables_corner_is_no_part_of_its_side() -> None:
    ink = np.zeros((1800, 2400), dtype=np.uint8)
    ys, xs = (600, 700, 760, 820, 880, 940), (300, 400, 1000, 1400, 1800, 2100)
    for y in ys:
        cv2.line(ink, (300, y), (2100, y), 255, 3)
    for x in xs:
        cv2.line(ink, (x, ys[0]), (x, ys[-1]), 255, 3)
    cv2.circle(ink, (2100, 930), 110, 255, 5)  # a seal's ring over the last row's right end
    quad = geometry.table_quad(ink)
    assert quad is not None
    tr, br = quad[1], quad[2]
    assert abs(float(tr[0]) - 2100) < 8 and abs(float(br[0]) - 2100) < 12 and abs(float(br[1]) - 940) < 12


def test_the_text_direction_is_not_swayed_by_a_desks_specks_along_one_edge() -> None:
    ink = np.zeros((1200, 1600), dtype=np.uint8)  # a landscape page: text, then a table
    for y in range(100, 400, 24):
        cv2.putText(
            ink, "Ket qua ho tro khac phuc hau qua mua lu 9/2021", (150, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1
        )
    ys, xs = list(range(420, 700, 40)), [150, 200, 600, 800, 1000, 1200, 1400]
    for y in ys:
        cv2.line(ink, (150, y), (1400, y), 255, 2)
    for x in xs:
        cv2.line(ink, (x, 420), (x, ys[-1]), 255, 2)
    for y in ys[:-1]:
        for x in xs[2:]:
            cv2.putText(ink, "1.234", (x - 80, y + 28), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1)
    assert not geometry.runs_sideways(ink)
    # a photo's desk, left as specks thickening towards the image's left edge
    _, xx = np.mgrid[0:1200, 0:1600]
    share = 0.1 * np.clip((0.35 - xx / 1600) / 0.35, 0, 1)
    ink[np.random.default_rng(3).random(ink.shape) < share] = 255
    assert not geometry.runs_sideways(ink)


def test_an_outline_leaning_past_a_keystone_is_misshapen_and_a_keystones_is_not() -> None:
    keystone = np.array([[300, 600], [2100, 600], [2130, 850], [270, 850]], dtype=np.float32)  # sides ±7°
    assert not geometry._misshapen(keystone)
    slanted = np.array([[390, 545], [1275, 545], [1495, 835], [515, 830]], dtype=np.float32)  # sides 23° and 37°
    assert geometry._misshapen(slanted)
    apart = np.array([[300, 690], [2100, 600], [2100, 880], [300, 880]], dtype=np.float32)  # top 2.9°, bottom 0°
    assert not geometry._misshapen(apart)
    assert geometry._misshapen(np.array([[300, 1000], [2100, 600], [2100, 1100], [300, 1100]], dtype=np.float32))


def test_a_cut_corner_is_put_back_also_with_a_speck_past_the_other_end() -> None:
    ink = np.zeros((1800, 2400), dtype=np.uint8)
    ys, xs = (600, 700, 760, 820, 880), (300, 400, 1000, 1400, 1800, 2100)
    for y in ys[1:]:
        cv2.line(ink, (300, y), (2100, y), 255, 3)
    cv2.line(ink, (1000, ys[0]), (2100, ys[0]), 255, 3)  # the top rule over the first columns lost (faint)
    for x in xs:
        cv2.line(ink, (x, ys[0] if x >= 1000 else ys[1]), (x, ys[-1]), 255, 3)
    cv2.line(ink, (2098, ys[0]), (2098, ys[0] - 40), 255, 5)  # a speck rising past the top right corner
    quad = geometry.table_quad(ink)
    assert quad is not None
    tl, tr = quad[0], quad[1]
    assert abs(float(tl[1]) - 600) < 8 and abs(float(tr[1]) - 600) < 8


def test_faint_rules_bent_by_the_warp_are_made_straight() -> None:
    faint = np.full((400, 2800), 255, dtype=np.uint8)
    drop = 12  # the rules across fall to the right (a keystone the warp left)
    for y in (20, 120, 220, 320):
        cv2.line(faint, (20, y), (2780, y + drop), 215, 1)
    for x in (20, 700, 1400, 2100, 2780):
        d = drop * (x - 20) // 2760
        cv2.line(faint, (x, 20 + d), (x, 320 + d), 215, 1)
    cv2.putText(faint, "1.234", (2400, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 3)
    out = geometry.straighten(faint.copy())
    left = np.flatnonzero(out[60:180, 300] < 100)  # the second rule across, near either end
    right = np.flatnonzero(out[60:180, 2300] < 100)
    assert left.size and right.size and abs(left.mean() - right.mean()) < 3


def test_a_table_found_in_part_by_its_dark_print_is_taken_whole_from_the_grey_page() -> None:
    gray = np.full((1800, 2400), 255, dtype=np.uint8)
    ys, xs = (600, 660, 700, 750, 800, 850), (300, 380, 1000, 1250, 1500, 1750, 2100)
    _grid(gray, ys, xs, 205)  # the table's faint grey rules
    ink = geometry.binarize(gray)
    ink[:, ::7] = 0  # dashes, as Otsu leaves a blurred photo's rules
    for y in (750, 800, 850):  # a corner of it printed darker (out of the shadow): four cells
        cv2.line(ink, (1500, y), (2100, y), 255, 3)
    for x in (1500, 1750, 2100):
        cv2.line(ink, (x, 750), (x, 850), 255, 3)
    quad = geometry.table_quad(ink, gray)
    assert quad is not None
    tl, tr, br, bl = quad
    assert abs(float(tl[0]) - 300) < 8 and abs(float(tl[1]) - 600) < 8
    assert abs(float(br[0]) - 2100) < 8 and abs(float(br[1]) - 850) < 8


def _broken(ink: np.ndarray, y0: int, y1: int, x0: int, x1: int, period: int, gap: int) -> None:
    """The rules in the box broken every `period` pixels by a gap of `gap` (a photo's
    faint rule in dashes), across or down as the box is wide or tall."""
    if x1 - x0 > y1 - y0:
        for x in range(x0, x1, period):
            ink[y0:y1, x : x + gap] = 0
    else:
        for y in range(y0, y1, period):
            ink[y : y + gap, x0:x1] = 0


def test_cells_are_kept_apart_by_a_rule_the_threshold_left_in_pieces() -> None:
    ink = np.zeros((500, 2800), dtype=np.uint8)
    ys, xs = (20, 120, 220, 320, 420), (20, 700, 1400, 2100, 2780)
    for y in ys:
        cv2.line(ink, (xs[0], y), (xs[-1], y), 255, 2)
    for x in xs:
        cv2.line(ink, (x, ys[0]), (x, ys[-1]), 255, 2)
    _broken(ink, 210, 230, 1400, 2100, 90, 12)  # a rule across in dashes (a shadow over it)
    _broken(ink, 320, 420, 690, 710, 30, 8)  # a rule down in dashes
    cells, _ = geometry.find_cells(ink)
    assert len(cells) == 16
    assert all(c.row == c.row_end and c.col == c.col_end for c in cells)


def test_a_merged_cells_text_does_not_split_it() -> None:
    ink = np.zeros((500, 2800), dtype=np.uint8)
    ys, xs = (20, 120, 220, 320, 420), (20, 700, 1400, 2100, 2780)
    for y in ys:
        cv2.line(ink, (xs[0] if y != 120 else 700, y), (xs[-1], y), 255, 2)  # the first column's top two rows merged
    for x in xs:
        cv2.line(ink, (x, ys[0]), (x, ys[-1]), 255, 2)
    cv2.putText(ink, "STT - TONG 1.234.567", (40, 130), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 255, 3)
    cells, _ = geometry.find_cells(ink)
    assert any(c.row == 0 and c.row_end == 1 and c.col == 0 for c in cells)


def test_a_faint_wobbling_rule_is_inked_and_a_shadows_edge_is_not() -> None:
    gray = np.full((400, 2800), 250, dtype=np.uint8)
    for y in (20, 120, 220, 320):
        cv2.line(gray, (20, y), (2780, y), 40, 2)
    for x in (20, 1400, 2780):
        cv2.line(gray, (x, 20), (x, 320), 40, 2)
    rng = np.random.default_rng(3)
    for y in range(20, 320):  # a faint grey rule down, a pixel's wobble, its grey uneven
        x = 700 + int(rng.integers(-1, 2))
        gray[y, x - 1 : x + 2] = int(rng.integers(185, 225))
    gray[:, 2000:] = (gray[:, 2000:] * 0.8).astype(np.uint8)  # a shadow's sharp edge down
    out = gray.copy()
    geometry._thin_lines_inked(out)
    assert (out[40:300, 695:706].min(axis=1) < 100).mean() > 0.9  # the faint rule now black
    assert np.array_equal(out[:, 1980:2020], gray[:, 1980:2020])  # the shadow's edge left as it is
    dark = np.full((400, 2800), 250, dtype=np.uint8)
    for y in (20, 120, 220, 320):
        cv2.line(dark, (20, y), (2780, y), 40, 2)
    out = dark.copy()
    geometry._thin_lines_inked(out)
    assert np.array_equal(out, dark)  # dark rules (a scan's) left as printed


def test_a_heading_merged_across_two_columns_is_not_split_by_its_letters_stems() -> None:
    ink = np.zeros((500, 2800), dtype=np.uint8)
    ys, xs = (20, 100, 220, 320, 420), (20, 700, 1400, 2100, 2780)
    for y in ys:
        cv2.line(ink, (xs[0], y), (xs[-1], y), 255, 2)
    for x in xs:
        cv2.line(ink, (x, ys[0] if x != xs[2] else ys[1]), (x, ys[-1]), 255, 2)  # the heading spans two columns
    for x in (1398, 1401, 1404):  # its letters' stems right over the line between them
        cv2.line(ink, (x, 30), (x, 70), 255, 3)  # (shorter than a rule down)
    cells, _ = geometry.find_cells(ink)
    assert any(c.row == 0 and c.col == 1 and c.col_end == 2 for c in cells)


def test_a_short_faint_line_alone_is_no_faint_grid() -> None:
    gray = np.full((400, 2800), 250, dtype=np.uint8)
    for y in (20, 120, 220, 320):
        cv2.line(gray, (20, y), (2780, y), 40, 2)
    for x in (20, 1400, 2780):
        cv2.line(gray, (x, 20), (x, 320), 40, 2)
    cv2.line(gray, (600, 170), (760, 170), 200, 1)  # a seal ring's flat top, faint
    out = gray.copy()
    geometry._thin_lines_inked(out)
    assert np.array_equal(out, gray)


def test_print_tinted_by_a_warm_light_stays_print_while_coloured_ink_goes() -> None:
    """Black print in a photo's shadow under a warm light is dark orange (saturated, of the
    paper's hue, its channels close together): it stays print. A signature's blue and a
    seal's red, however faint or dark, are made white, and only the red is a seal."""
    rgb = np.full((4, 4, 3), 235, np.uint8)
    rgb[0, 0] = (82, 68, 52)  # print in the shadow: hue 16 (orange), chroma 29
    rgb[0, 1] = (76, 64, 50)  # the same, a little darker
    rgb[1, 0] = (40, 60, 160)  # a signature's blue
    rgb[1, 1] = (105, 110, 150)  # a signature's faint edge: blue, chroma 45
    rgb[2, 0] = (200, 40, 40)  # a seal's red
    rgb[2, 1] = (100, 72, 70)  # a seal's dull edge: red hue, chroma 30
    rgb[3, 0] = (230, 190, 60)  # a highlighter's yellow: the paper's hue but vivid
    grey, _brightest, red = geometry.ink_planes(rgb)
    plain = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert grey[0, 0] == plain[0, 0] and grey[0, 1] == plain[0, 1]
    assert grey[1, 0] == grey[1, 1] == 255
    assert grey[2, 0] == grey[2, 1] == 255
    assert grey[3, 0] == 255
    assert red[2, 0] == red[2, 1] == 1
    assert red[0, 0] == red[0, 1] == red[1, 0] == red[1, 1] == red[3, 0] == 0
