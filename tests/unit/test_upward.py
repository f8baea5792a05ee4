"""The superior's form filled from the figures (service/outputs/upward.py, parsers/report/reverse.py):
two provincial-style forms built in code (tests/unit/upward_forms.py), checked cell by cell."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from parsers.report import read_attachment
from parsers.report.reverse import fill_date_line
from service.config import UpwardConfig
from service.outputs.digest import render_digest
from service.outputs.upward import (
    DOCX_TYPE,
    XLSX_TYPE,
    PeriodFigures,
    UnitFigures,
    UpwardFormError,
    figures_of_day,
    fill_upward,
    upward_for_day,
)
from tests.unit.builders import FORM
from tests.unit.test_digest import DAY, UNITS, at, make_cfg, msg, view_of
from tests.unit.upward_forms import (
    DOCX_COLUMNS,
    DOCX_TOTAL_ROW,
    DOCX_UNIT_ROWS,
    SUM_COLUMNS,
    XLSX_COLUMNS,
    XLSX_DATA_ROWS,
    XLSX_TOTAL_ROW,
    province_docx,
    province_xlsx,
)

M = 1_000_000


def D(values: dict[str, dict[str, int]]) -> dict[str, dict[str, Decimal]]:
    return {ind: {meas: Decimal(v) for meas, v in row.items()} for ind, row in values.items()}


TOTALS = D(
    {
        "tam_hoan_hdld": {
            "de_nghi": 53,
            "phe_duyet": 42,
            "da_chi": 20,
            "kinh_phi": 126_140_000,
            "tien_da_chi": 59_360_000,
        },
        "ngung_viec": {"de_nghi": 99, "phe_duyet": 88, "da_chi": 61, "kinh_phi": 75 * M, "tien_da_chi": 45_500_000},
        "dao_tao": {"de_nghi": 46, "phe_duyet": 33, "kinh_phi": 49_500_000},  # nothing paid yet: left empty
        "ho_kinh_doanh": {"de_nghi": 26, "phe_duyet": 23, "da_chi": 14, "kinh_phi": 69 * M, "tien_da_chi": 42 * M},
        "tre_em_f0_f1": {"de_nghi": 5},  # the province's form has no row for it
    }
)
INDICATOR_FIGURES = PeriodFigures(start=DAY, end=DAY, totals=TOTALS)

UNIT_VALUES = {
    "BHXH": D(
        {
            "ngung_viec": {"de_nghi": 100, "phe_duyet": 90, "kinh_phi": 371 * M, "tien_da_chi": 150_500_000},
            "dao_tao": {"de_nghi": 46, "phe_duyet": 33, "kinh_phi": 49_500_000},
        }
    ),
    "YTE": D({"ho_kinh_doanh": {"de_nghi": 40, "phe_duyet": 38, "kinh_phi": 1_234_500, "tien_da_chi": 617_250}}),
    "SONG_CAU": D({"ngung_viec": {"de_nghi": 52, "phe_duyet": 50}}),
    "XUAT_HOA": {},  # never reported: its row stays empty
    "NONG_THUONG": D({"tam_hoan_hdld": {"de_nghi": 7, "phe_duyet": 7, "kinh_phi": 14 * M, "tien_da_chi": 7 * M}}),
    "DUC_XUAN": D({"ngung_viec": {"de_nghi": 3}}),  # the form has no row for it
}
UNIT_FIGURES = PeriodFigures(
    start=dt.date(2021, 8, 9),
    end=DAY,
    totals={},
    units=(
        *(UnitFigures(u.code, u.name, u.aliases, u.group, UNIT_VALUES[u.code]) for u in UNITS),
        UnitFigures("DUC_XUAN", "UBND phường Đức Xuân", (), "Xã, phường", UNIT_VALUES["DUC_XUAN"]),
    ),
)


@pytest.fixture
def xlsx_template(tmp_path: Path) -> Path:
    path = tmp_path / "bieu-01-so-ldtbxh.xlsx"
    path.write_bytes(province_xlsx())
    return path


@pytest.fixture
def docx_template(tmp_path: Path) -> Path:
    path = tmp_path / "bieu-don-vi.docx"
    path.write_bytes(province_docx())
    return path


# ---------------------------------------------------------------------------------- .xlsx


def test_indicator_rows_filled_cell_by_cell_in_trieu_dong(xlsx_template: Path) -> None:
    filled = fill_upward(xlsx_template, INDICATOR_FIGURES, FORM)
    assert filled.format == "xlsx" and filled.content_type == XLSX_TYPE
    ws = openpyxl.load_workbook(io.BytesIO(filled.data))["Biểu 01"]
    written = 0
    for row, indicator in XLSX_DATA_ROWS.items():
        for col, (measure, scale) in XLSX_COLUMNS.items():
            cell = ws[f"{col}{row}"]
            value = TOTALS.get(indicator or "", {}).get(measure)
            if value is None:
                assert cell.value is None, cell.coordinate  # no figure: left empty, never a guessed 0
                continue
            assert Decimal(str(cell.value)) == value / scale, cell.coordinate  # exact in the column's scale
            assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool), cell.coordinate
            written += 1
    assert filled.filled == written == 18
    assert ws["E12"].value == 59.36 and ws["F12"].value == 126.14 and ws["G13"].value == 99
    assert ws["H12"].value is None and ws["I12"].value is None  # columns it could not match stay empty


def test_formulas_styles_merges_and_widths_survive(xlsx_template: Path) -> None:
    before = openpyxl.load_workbook(xlsx_template)["Biểu 01"]
    filled = fill_upward(xlsx_template, INDICATOR_FIGURES, FORM)
    book = openpyxl.load_workbook(io.BytesIO(filled.data))
    ws = book["Biểu 01"]
    for col in SUM_COLUMNS:
        assert ws[f"{col}{XLSX_TOTAL_ROW}"].value == f"=SUM({col}12:{col}18)"  # the form's own total
    assert book.calculation.fullCalcOnLoad  # Excel computes the totals again on opening
    assert sorted(map(str, ws.merged_cells.ranges)) == sorted(map(str, before.merged_cells.ranges))
    for ref in ("C8", "E9", "B13", "E12", "F16", "B19", "C19", "A5"):
        new, old = ws[ref], before[ref]
        assert (new.font.b, new.font.name, new.font.sz) == (old.font.b, old.font.name, old.font.sz), ref
        assert new.fill.fgColor.rgb == old.fill.fgColor.rgb and new.border.left.style == old.border.left.style, ref
        assert new.number_format == old.number_format, ref
    assert ws["E12"].number_format == "#,##0.000"
    assert ws.column_dimensions["B"].width == 60 and ws.row_dimensions[8].height == 30
    assert ws["B13"].value == "Hỗ trợ người lao động ngừng việc"  # labels and headings as written
    assert ws["E8"].value == "Kinh phí (triệu đồng)"
    assert (
        "Giữ nguyên công thức của biểu mẫu ở 5 ô (C19, D19, E19, F19, G19); Excel tính lại khi mở tệp" in filled.notes
    )  # the formulas kept are said


def test_date_lines_are_filled(xlsx_template: Path) -> None:
    filled = fill_upward(xlsx_template, INDICATOR_FIGURES, FORM)
    ws = openpyxl.load_workbook(io.BytesIO(filled.data))["Biểu 01"]
    assert ws["A6"].value == "(Số liệu tính đến ngày 11/08/2021)"
    assert ws["F21"].value == "Bắc Kạn, ngày 11 tháng 8 năm 2021"
    assert ws["A5"].value.startswith("BÁO CÁO KẾT QUẢ")


def test_every_row_and_column_not_matched_is_listed(xlsx_template: Path) -> None:
    filled = fill_upward(xlsx_template, INDICATOR_FIGURES, FORM)
    assert filled.unmatched == (
        "trang 'Biểu 01', ô H8: cột 'Tỷ lệ giải ngân (%)' không khớp cột số liệu nào, chưa điền",
        "trang 'Biểu 01', ô B18: dòng 'Hỗ trợ khác theo quyết định của UBND tỉnh' không khớp chỉ tiêu hay đơn vị "
        "nào, chưa điền",
        "Chỉ tiêu 'Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế' có số liệu nhưng biểu mẫu không "
        "có dòng nào cho chỉ tiêu này",
    )
    en = fill_upward(xlsx_template, INDICATOR_FIGURES, FORM, language="en")
    assert en.unmatched[0] == "sheet 'Biểu 01', cell H8: column 'Tỷ lệ giải ngân (%)' matches no measure; not filled"


def test_the_filled_form_reads_back_as_the_figures(xlsx_template: Path) -> None:
    """baocao's own reader finds in the filled form exactly the figures written (in đồng)."""
    filled = fill_upward(xlsx_template, INDICATOR_FIGURES, FORM)
    result = read_attachment("bieu-01.xlsx", XLSX_TYPE, filled.data, FORM, DAY)
    assert result.outcome == "read" and result.as_of == DAY
    expected = {ind: dict(row) for ind, row in TOTALS.items() if ind in XLSX_DATA_ROWS.values()}
    assert result.values == expected


def test_a_total_row_without_a_formula_gets_the_total(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(io.BytesIO(province_xlsx()))
    for col in SUM_COLUMNS:
        book["Biểu 01"][f"{col}{XLSX_TOTAL_ROW}"] = None
    path = tmp_path / "no-formulas.xlsx"
    book.save(path)
    ws = openpyxl.load_workbook(io.BytesIO(fill_upward(path, INDICATOR_FIGURES, FORM).data))["Biểu 01"]
    assert ws["G19"].value == 53 + 99 + 46 + 26 + 5  # every indicator's figure, as the digest's total
    assert ws["E19"].value == (59_360_000 + 45_500_000 + 42 * M) / M


# ---------------------------------------------------------------------------------- .docx


def _docx_texts(data: bytes) -> list[list[str]]:
    import docx

    table = docx.Document(io.BytesIO(data)).tables[0]
    return [[cell.text for cell in row.cells] for row in table.rows]


def _sum(code: str | None, measure: str) -> Decimal | None:
    units = [code] if code else list(UNIT_VALUES)
    found = [v for c in units for row in UNIT_VALUES[c].values() if (v := row.get(measure)) is not None]
    return sum(found, Decimal(0)) if found else None


def test_unit_rows_filled_cell_by_cell_in_nghin_dong(docx_template: Path) -> None:
    filled = fill_upward(docx_template, UNIT_FIGURES, FORM)
    assert filled.format == "docx" and filled.content_type == DOCX_TYPE
    texts = _docx_texts(filled.data)
    for row, code in [*DOCX_UNIT_ROWS.items(), (DOCX_TOTAL_ROW, None)]:
        for col, (measure, scale) in DOCX_COLUMNS.items():
            value = _sum(code, measure) if row != 8 else None
            shown = texts[row - 1][col - 1]
            if value is None:
                assert shown == "", (row, col)
            else:
                assert shown == _vi(value / scale), (row, col, shown)
    assert texts[3][4] == "617,25" and texts[3][5] == "1.234,5"  # YTE: nghìn đồng with decimals
    assert texts[2][5] == "420.500"  # BHXH: 371 + 49,5 triệu over two indicators
    assert texts[8][2] == "248"  # the total row: every unit's figures, as the digest's total
    assert texts[7] == ["6", "Phường Minh Khai", "", "", "", "", ""]


def _vi(value: Decimal) -> str:
    whole, _, frac = f"{value:f}".partition(".")
    frac = frac.rstrip("0")
    return f"{int(whole):,}".replace(",", ".") + ("," + frac if frac else "")


def test_docx_structure_period_and_signature_lines(docx_template: Path) -> None:
    import docx

    filled = fill_upward(docx_template, UNIT_FIGURES, FORM)
    document = docx.Document(io.BytesIO(filled.data))
    paragraphs = [p.text for p in document.paragraphs]
    assert "Kỳ báo cáo: từ ngày 09/08/2021 đến ngày 11/08/2021" in paragraphs
    assert "Bắc Kạn, ngày 11 tháng 8 năm 2021" in paragraphs
    assert document.paragraphs[-2].runs[0].italic  # the signature line keeps its formatting
    table = document.tables[0]
    assert table.style.name == "Table Grid"
    before = docx.Document(io.BytesIO(province_docx())).tables[0]
    assert [[c.text for c in r.cells] for r in table.rows][:2] == [[c.text for c in r.cells] for r in before.rows][:2]
    cell = table.cell(2, 2).paragraphs[0]
    assert cell.alignment == 2 and cell.text == "146"  # the cell's paragraph format kept
    assert table.cell(0, 0)._tc.vMerge == "restart" and table.cell(0, 2)._tc.grid_span == 2


def test_unit_rows_unmatched_and_units_without_a_row_are_listed(docx_template: Path) -> None:
    filled = fill_upward(docx_template, UNIT_FIGURES, FORM)
    assert filled.unmatched == (
        "bảng 1, dòng 8, cột 2: dòng 'Phường Minh Khai' không khớp chỉ tiêu hay đơn vị nào, chưa điền",
        "Đơn vị 'UBND phường Đức Xuân' có số liệu nhưng biểu mẫu không có dòng nào cho đơn vị này",
    )
    assert any("tổng số liệu mọi chỉ tiêu" in n for n in filled.notes)


def test_unit_rows_take_the_one_indicator_the_title_names(tmp_path: Path) -> None:
    import docx

    document = docx.Document(io.BytesIO(province_docx()))
    document.paragraphs[2].runs[0].text = "BIỂU TỔNG HỢP KẾT QUẢ HỖ TRỢ NGƯỜI LAO ĐỘNG NGỪNG VIỆC"
    path = tmp_path / "ngung-viec.docx"
    document.save(path)
    filled = fill_upward(path, UNIT_FIGURES, FORM)
    texts = _docx_texts(filled.data)
    assert texts[2][2] == "100" and texts[3][2] == "" and texts[4][2] == "52"  # ngung_viec only
    assert any("Hỗ trợ người lao động ngừng việc" in n for n in filled.notes)


# ---------------------------------------------------------------------------------- errors


def test_a_form_without_a_matching_table_is_one_sentence(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active["A1"] = "Danh sách cán bộ"
    path = tmp_path / "khac.xlsx"
    book.save(path)
    with pytest.raises(UpwardFormError, match=r"^Biểu mẫu cấp trên khac.xlsx: không tìm thấy bảng") as e:
        fill_upward(path, INDICATOR_FIGURES, FORM)
    assert e.value.exit_code == 2
    with pytest.raises(UpwardFormError, match=r"^Biểu mẫu cấp trên bieu.pdf không phải tệp .xlsx hay .docx$"):
        fill_upward(tmp_path / "bieu.pdf", INDICATOR_FIGURES, FORM)
    damaged = tmp_path / "hong.docx"
    damaged.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(UpwardFormError, match=r"^Không đọc được biểu mẫu cấp trên hong.docx: "):
        fill_upward(damaged, UNIT_FIGURES, FORM)


def test_a_sheet_the_form_does_not_have(xlsx_template: Path) -> None:
    with pytest.raises(UpwardFormError, match=r"không có trang \(bảng\) 'Biểu 02'"):
        fill_upward(xlsx_template, INDICATOR_FIGURES, FORM, sheet="Biểu 02")
    assert fill_upward(xlsx_template, INDICATOR_FIGURES, FORM, sheet="biểu 01").filled == 18


@pytest.mark.parametrize(
    ("line", "filled"),
    [
        ("(Số liệu tính đến ngày ....../....../2021)", "(Số liệu tính đến ngày 05/01/2022)"),
        ("Số liệu tính đến hết ngày 31/12/2021 (lũy kế)", "Số liệu tính đến hết ngày 05/01/2022 (lũy kế)"),
        ("Từ ngày …/…/… đến ngày …/…/…", "Từ ngày 01/01/2022 đến ngày 05/01/2022"),
        ("Bắc Kạn, ngày     tháng     năm 20…", "Bắc Kạn, ngày 05 tháng 01 năm 2022"),
        ("Ngày 3 tháng 11 năm 2021", "Ngày 05 tháng 01 năm 2022"),
        ("Lũy kế đến ngày báo cáo", None),
        ("Tính đến ngày: …/…/…", "Tính đến ngày: 05/01/2022"),
        ("BÁO CÁO TIẾN ĐỘ", None),
    ],
)
def test_date_line(line: str, filled: str | None) -> None:
    assert fill_date_line(line, dt.date(2022, 1, 1), dt.date(2022, 1, 5), dt.date(2022, 1, 5)) == filled


# ---------------------------------------------------------------------------------- the day and the digest


def _upward_cfg(template: Path, **kw: object):  # type: ignore[no-untyped-def]
    cfg = make_cfg()
    return dataclasses.replace(
        cfg, form=FORM, upward=UpwardConfig(template=template, title="Biểu số 01 gửi Sở LĐTBXH", **kw)
    )


def test_the_day_view_gives_the_figures_the_digest_totals(xlsx_template: Path) -> None:
    cfg = _upward_cfg(xlsx_template)
    view = view_of(
        cfg,
        DAY,
        [
            msg("BHXH", at(DAY, 9), {("ngung_viec", "de_nghi"): 100, ("ngung_viec", "kinh_phi"): 371 * M}),
            msg("YTE", at(DAY, 10), {("ngung_viec", "de_nghi"): 7, ("ho_kinh_doanh", "tien_da_chi"): 1_500_000}),
        ],
    )
    figures = figures_of_day(view)
    assert figures.start == figures.end == DAY and figures.totals == view.totals
    assert {u.code for u in figures.units} == {u.code for u in UNITS}
    attachment = upward_for_day(view, cfg)
    assert attachment is not None and attachment.form is not None
    assert attachment.filename == "bieu-mau-cap-tren-2021-08-11.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(attachment.form.data))["Biểu 01"]
    assert (ws["G13"].value, ws["F13"].value, ws["E16"].value) == (107, 371, 1.5)


def test_the_digest_attaches_the_filled_form_and_lists_what_did_not_match(xlsx_template: Path) -> None:
    cfg = _upward_cfg(xlsx_template, filename="bao-cao-so-{date}")
    view = view_of(cfg, DAY, [msg("BHXH", at(DAY, 9), {("ngung_viec", "de_nghi"): 100})])
    content = render_digest(view, cfg, now=at(DAY, 15), upward=upward_for_day(view, cfg))
    names = [f.filename for f in content.files]
    assert names == ["tong-hop-bao-cao-2021-08-11.xlsx", "bao-cao-so-2021-08-11.xlsx"]
    form = content.files[1]
    assert form.content_type == XLSX_TYPE
    assert openpyxl.load_workbook(io.BytesIO(form.data))["Biểu 01"]["G13"].value == 100
    for part in (content.text, content.html):
        assert "Biểu số 01 gửi Sở LĐTBXH" in part and "bao-cao-so-2021-08-11.xlsx" in part
        assert "không tự gửi cho cấp trên" in part
        assert "ô B18: dòng &#39;Hỗ trợ khác" in part or "ô B18: dòng 'Hỗ trợ khác" in part
    # the digest's recipients are the coordinator's, as without the form
    assert cfg.digest.to == ("dieuphoi@example.gov.vn",)


def test_a_form_that_cannot_be_filled_is_said_in_the_digest(tmp_path: Path) -> None:
    path = tmp_path / "hong.xlsx"
    path.write_bytes(b"not a workbook")
    cfg = _upward_cfg(path)
    view = view_of(cfg, DAY, [])
    content = render_digest(view, cfg, now=at(DAY, 15), upward=upward_for_day(view, cfg))
    assert [f.filename for f in content.files] == ["tong-hop-bao-cao-2021-08-11.xlsx"]
    assert (
        "Không điền được biểu mẫu Biểu số 01 gửi Sở LĐTBXH: Không đọc được biểu mẫu cấp trên hong.xlsx" in content.text
    )


# ---------------------------------------------------------------------------------- config


def test_upward_config_loads_with_the_template_next_to_the_config(tmp_path: Path) -> None:
    from tests.unit.test_config import load, toml

    (tmp_path / "bieu-01.xlsx").write_bytes(province_xlsx())
    cfg = load(tmp_path, toml(upward='template = "bieu-01.xlsx"\nsheet = "Biểu 01"\nfilename = "bieu-01-{date}"'))
    assert cfg.upward == UpwardConfig(
        template=tmp_path / "bieu-01.xlsx", sheet="Biểu 01", title="bieu-01.xlsx", filename="bieu-01-{date}"
    )
    assert load(tmp_path, toml()).upward is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            'template = "khong-co.xlsx"',
            r"^upward\.template: the superior's form '.*/khong-co\.xlsx' does not exist \(line \d+\)$",
        ),
        (
            'template = "bieu.pdf"',
            r"^upward\.template: the superior's form '.*/bieu\.pdf' is not an \.xlsx or \.docx file",
        ),
        ('title = "Biểu 01"', r"^upward\.template: required key is missing"),
        ('template = "bieu-01.xlsx"\nfilename = "a/{date}"', r"^upward\.filename: 'a/\{date\}' is not a file name"),
        ('template = "bieu-01.xlsx"\nfilename = "{day}"', r"^upward\.filename: unknown field \{day\}"),
    ],
)
def test_upward_config_problems_name_the_key_and_the_path(tmp_path: Path, body: str, problem: str) -> None:
    import re

    from tests.unit.test_config import one_problem, toml

    (tmp_path / "bieu-01.xlsx").write_bytes(province_xlsx())
    (tmp_path / "bieu.pdf").write_bytes(b"%PDF-1.4")
    found = one_problem(tmp_path, toml(upward=body))
    assert re.search(problem, found), found


def test_a_figure_left_in_the_template_is_cleared_when_the_period_has_none(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(io.BytesIO(province_xlsx()))
    ws = book["Biểu 01"]
    ws["D14"], ws["C17"], ws["H12"] = 999, 12.5, 0.5  # last month's figures; H is no column of the form
    path = tmp_path / "old-figures.xlsx"
    book.save(path)
    ws = openpyxl.load_workbook(io.BytesIO(fill_upward(path, INDICATOR_FIGURES, FORM).data))["Biểu 01"]
    assert (ws["D14"].value, ws["C17"].value, ws["H12"].value) == (None, None, 0.5)


def test_the_digest_goes_out_whatever_goes_wrong_with_the_form(
    xlsx_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.outputs.upward as upward

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(upward, "fill_upward", broken)
    cfg = _upward_cfg(xlsx_template)
    attachment = upward_for_day(view_of(cfg, DAY, []), cfg)
    assert attachment is not None and attachment.form is None
    assert attachment.error == "Không đọc được biểu mẫu cấp trên bieu-01-so-ldtbxh.xlsx: RuntimeError: boom"


def test_digest_files_include_the_filled_form(xlsx_template: Path, tmp_path: Path) -> None:
    from service.outputs.digest import compose_email
    from service.schedule.dispatch import write_digest_files

    cfg = _upward_cfg(xlsx_template)
    view = view_of(cfg, DAY, [msg("BHXH", at(DAY, 9), {("ngung_viec", "de_nghi"): 100})])
    content = render_digest(view, cfg, now=at(DAY, 15), upward=upward_for_day(view, cfg))
    assert content.upward == "bieu-mau-cap-tren-2021-08-11.xlsx"
    out = tmp_path / "out"
    write_digest_files(content, compose_email(content, cfg, now=at(DAY, 15), message_id="<x@y>"), out, DAY)
    assert (out / "bieu-mau-cap-tren-2021-08-11.xlsx").read_bytes() == content.files[1].data


def test_scale_line_total_row_first_and_a_date_in_the_next_cell(tmp_path: Path) -> None:
    """ "Đơn vị tính: người, triệu đồng" right above the header, a "Tổng số" row before the
    policies, and "Tính đến ngày:" with its date in the cell beside it."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["BIỂU TỔNG HỢP"])
    ws.append(["Tính đến ngày:", "....../....../......"])
    ws.append([None, None, None, "Đơn vị tính: người, triệu đồng"])
    ws.append(["STT", "Chính sách", "Số đề nghị", "Số được phê duyệt", "Kinh phí phê duyệt", "Số tiền đã chi"])
    ws.append([None, "Tổng số"])
    ws.append(["1.", "Hỗ trợ người lao động ngừng việc"])
    ws.append(["2.", "Hỗ trợ hộ kinh doanh"])
    ws.append(["3.", "Hỗ trợ đào tạo"])
    path = tmp_path / "don-gian.xlsx"
    book.save(path)
    filled = fill_upward(path, INDICATOR_FIGURES, FORM)
    rows = list(openpyxl.load_workbook(io.BytesIO(filled.data)).active.iter_rows(values_only=True))
    assert rows[1] == ("Tính đến ngày:", "11/08/2021", None, None, None, None)
    assert rows[4] == (None, "Tổng số", 229, 186, 319.64, 146.86)  # every indicator's figure
    assert rows[5] == ("1.", "Hỗ trợ người lao động ngừng việc", 99, 88, 75, 45.5)
    assert rows[6] == ("2.", "Hỗ trợ hộ kinh doanh", 26, 23, 69, 42)
    assert rows[7] == ("3.", "Hỗ trợ đào tạo", 46, 33, 49.5, None)
    assert len(filled.unmatched) == 2 and all(u.startswith("Chỉ tiêu '") for u in filled.unmatched)


def test_unit_rows_under_indicator_headings_take_each_indicators_figures(tmp_path: Path) -> None:
    from tests.unit.builders import docx_bytes

    rows = [
        ["TT", "Đơn vị", "Hỗ trợ người lao động ngừng việc", None, "Hỗ trợ hộ kinh doanh", None],
        [None, None, "Số đề nghị", "Kinh phí phê duyệt (đồng)", "Số đề nghị", "Kinh phí phê duyệt (đồng)"],
        ["I", "Khối phòng, ban"],
        ["1", "Bảo hiểm xã hội thành phố"],
        ["2", "Phòng Y tế"],
        ["II", "Khối xã, phường"],
        ["3", "Phường Sông Cầu"],
        ["4", "UBND xã Nông Thượng"],
        [None, "Cộng"],
    ]
    merges = [(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 0, 3), (0, 4, 0, 5)]
    path = tmp_path / "theo-chinh-sach.docx"
    path.write_bytes(docx_bytes(rows, paragraphs=["Số liệu tính đến ngày ..../..../2021"], merges=merges))
    filled = fill_upward(path, UNIT_FIGURES, FORM)
    texts = _docx_texts(filled.data)
    assert [r[2:] for r in texts[2:]] == [
        ["", "", "", ""],
        ["100", "371.000.000", "", ""],
        ["", "", "40", "1.234.500"],
        ["", "", "", ""],
        ["52", "", "", ""],
        ["", "", "", ""],
        ["155", "371.000.000", "40", "1.234.500"],  # every unit's, DUC_XUAN's 3 included
    ]
    assert filled.unmatched == (
        "Đơn vị 'UBND phường Đức Xuân' có số liệu nhưng biểu mẫu không có dòng nào cho đơn vị này",
    )
    assert filled.notes == ()


def test_a_row_named_like_a_group_is_a_heading_not_an_unmatched_row(tmp_path: Path) -> None:
    from tests.unit.builders import docx_bytes

    rows = [
        ["STT", "Đơn vị", "Số đối tượng đề nghị hỗ trợ", "Ghi chú"],
        [None, "Phòng, ban, ngành"],  # the units' group in the config
        ["1", "Phòng Y tế"],
        [None, "Trong đó:"],
        ["2", "Phường Sông Cầu"],
        ["3", "Phường Minh Khai"],
    ]
    path = tmp_path / "nhom.docx"
    path.write_bytes(docx_bytes(rows))
    filled = fill_upward(path, UNIT_FIGURES, FORM)
    assert [r[2] for r in _docx_texts(filled.data)] == ["Số đối tượng đề nghị hỗ trợ", "", "40", "", "52", ""]
    assert (
        filled.unmatched[0]
        == "bảng 1, dòng 6, cột 2: dòng 'Phường Minh Khai' không khớp chỉ tiêu hay đơn vị nào, chưa điền"
    )
    assert len(filled.unmatched) == 4  # and BHXH, NONG_THUONG, DUC_XUAN have figures but no row


def test_a_total_row_that_says_more_and_a_label_heading_merged_right(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["TT", "Tên chính sách", None, "Số đề nghị", "Kinh phí phê duyệt (nghìn đồng)"])
    ws.merge_cells("B1:C1")  # the label's heading over two columns, the labels in B
    ws.append(["1", "Hỗ trợ hộ kinh doanh"])
    ws.append(["2", "Hỗ trợ người lao động ngừng việc"])
    ws.append([None, "Tổng cộng toàn thành phố"])
    path = tmp_path / "tong.xlsx"
    book.save(path)
    filled = fill_upward(path, INDICATOR_FIGURES, FORM)
    rows = list(openpyxl.load_workbook(io.BytesIO(filled.data)).active.iter_rows(values_only=True))
    assert rows[1][3:] == (26, 69_000) and rows[2][3:] == (99, 75_000)
    assert rows[3][3:] == (229, 319_640)
    assert not any("Tên chính sách" in u or "Tổng cộng" in u for u in filled.unmatched)
