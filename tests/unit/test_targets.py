"""Campaign targets: reading and validating the targets CSV, progress math, the config hook and status/JSON."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from service.config import UnitConfig, load_config
from service.config import targets as targets_module
from service.config.targets import MAX_ROWS, Target, compute_progress, parse_targets
from service.errors import ConfigError
from service.outputs.export import day_json, status_text
from tests.unit.builders import FORM, cp1258_text
from tests.unit.test_config import ENV, toml, write
from tests.unit.test_digest import CFG, DAY, make_cfg, scenario, view_of, with_targets

UNITS = (
    UnitConfig("BHXH", "Bảo hiểm xã hội thành phố", senders=("bhxh@example.gov.vn",)),
    UnitConfig("SONG_CAU", "UBND phường Sông Cầu", aliases=("phường Sông Cầu",), senders=("sc@example.gov.vn",)),
    UnitConfig("NONG_THUONG", "UBND xã Nông Thượng", senders=("nt@example.gov.vn",)),
)
MILLION = 1_000_000


def parse(text: str, encoding: str = "utf-8") -> tuple[tuple[Target, ...], list[str]]:
    return parse_targets(text.encode(encoding), FORM, UNITS)


def targets_of(text: str, encoding: str = "utf-8") -> tuple[Target, ...]:
    found, problems = parse(text, encoding)
    assert problems == []
    return found


def problems_of(text: str) -> list[str]:
    found, problems = parse(text)
    assert found == () and problems
    return problems


# -- reading ------------------------------------------------------------------------------------


def test_english_header_comma_separated_money_in_dong():
    found = targets_of(
        "unit,indicator,measure,target\n"
        "BHXH,dao_tao,da_chi,40\n"
        'SONG_CAU,ho_kinh_doanh,tien_da_chi,"1.500,5"\n'
        "*,ho_kinh_doanh,tien_da_chi,2.000\n"
    )
    assert found == (
        Target("BHXH", "dao_tao", "da_chi", Decimal(40)),
        # money targets are in the measure's default_scale (triệu đồng), kept in đồng
        Target("SONG_CAU", "ho_kinh_doanh", "tien_da_chi", Decimal(1_500_500_000)),
        Target(None, "ho_kinh_doanh", "tien_da_chi", Decimal(2_000 * MILLION)),
    )


def test_vietnamese_headers_semicolons_bom_any_column_order_and_extra_columns():
    text = "\ufeffGhi chú;Chỉ tiêu kế hoạch;MÃ CHỈ TIÊU;Cột;Đơn vị\nxem QĐ 12;1.236;ngung_viec;de_nghi;BHXH\n"
    assert targets_of(text) == (Target("BHXH", "ngung_viec", "de_nghi", Decimal(1236)),)


def test_headers_ignore_case_diacritics_underscores_and_a_note_in_brackets():
    text = "Don vi,Chi tieu,cot,Kế hoạch (người; triệu đồng)\nbhxh,DAO_TAO,da_chi,7\n"
    assert targets_of(text) == (Target("BHXH", "dao_tao", "da_chi", Decimal(7)),)
    assert targets_of("unit_code,indicator_code,measure_code,plan\nBHXH,dao_tao,da_chi,7\n")[0].value == 7


def test_windows_1258_file_with_combining_tones():
    text = "Đơn vị;Chỉ tiêu;Cột;Chỉ tiêu kế hoạch\r\nUBND xã Nông Thượng;ngung_viec;da_chi;12\r\n"
    assert targets_of(cp1258_text(text), "cp1258") == (Target("NONG_THUONG", "ngung_viec", "da_chi", Decimal(12)),)


def test_excel_sep_line_title_rows_and_blank_rows():
    text = "sep=;\nKẾ HOẠCH THỰC HIỆN NĂM 2021;;;\n;;;\nunit;indicator;measure;target\n\nBHXH;dao_tao;de_nghi;9\n"
    assert targets_of(text) == (Target("BHXH", "dao_tao", "de_nghi", Decimal(9)),)
    # line numbers count the sep= line and the title rows
    assert problems_of(text.replace("dao_tao;de_nghi;9", "dao_tao;de_nghi;12a")) == [
        "line 6, column 'target': '12a' is not a number"
    ]


def test_unit_by_exact_name_or_alias_and_star_or_total_for_the_whole_campaign():
    text = (
        "unit,indicator,measure,target\n"
        "UBND phường Sông Cầu,dao_tao,de_nghi,1\n"
        "phường Sông Cầu,dao_tao,da_chi,2\n"
        "*,dao_tao,de_nghi,3\n"
        "Tổng cộng,dao_tao,da_chi,4\n"
    )
    assert [(t.unit, t.measure) for t in targets_of(text)] == [
        ("SONG_CAU", "de_nghi"),
        ("SONG_CAU", "da_chi"),
        (None, "de_nghi"),
        (None, "da_chi"),
    ]


def test_a_money_target_may_state_its_own_scale():
    found = targets_of(
        "unit,indicator,measure,target\n"
        "*,ho_kinh_doanh,tien_da_chi,2 tỷ\n"
        "BHXH,ho_kinh_doanh,tien_da_chi,530.530.000 đ\n"
        'SONG_CAU,ho_kinh_doanh,tien_da_chi,"126,14"\n'
    )
    assert [t.value for t in found] == [Decimal(2_000_000_000), Decimal(530_530_000), Decimal(126_140_000)]


# -- validation: every problem at once, with line and column -------------------------------------


def test_every_problem_in_the_file_at_once():
    text = (
        "unit,indicator,measure,target\n"  # line 1
        "BHXH,dao_tao,da_chi,40\n"  # 2: fine
        "BHXX,dao_tao,da_chi,40\n"  # 3: unknown unit
        "BHXH,dao_tao,da_chi2,40\n"  # 4: unknown measure
        "BHXH,ngung_viec,da_chi,\n"  # 5: empty target
        "BHXH,ngung_viec,de_nghi,-5\n"  # 6: negative
        "BHXH,dao_tao2,de_nghi,10\n"  # 7: unknown indicator
        "BHXH,dao_tao,da_chi,41\n"  # 8: duplicate of line 2
        "BHXH,ho_kinh_doanh,de_nghi,ba trăm\n"  # 9: not a number
        "BHXH,ho_kinh_doanh,da_chi,0\n"  # 10: zero
        'BHXH,ho_kinh_doanh,phe_duyet,"1,5"\n'  # 11: a count that is not whole
        ",,,\n"  # 12: blank: skipped
        "SONG_CAU,,kinh_phi,5\n"
    )  # 13: empty indicator
    assert problems_of(text) == [
        "line 3, column 'unit': 'BHXX' is not a unit code or name (did you mean BHXH?); "
        "write * for a target of the whole campaign",
        "line 4, column 'measure': 'da_chi2' is not a measure code (did you mean da_chi?)",
        "line 5, column 'target': is empty; write the planned figure (leave the row out when there is none)",
        "line 6, column 'target': '-5' is negative; a target is greater than 0",
        "line 7, column 'indicator': 'dao_tao2' is not an indicator code (did you mean dao_tao?)",
        "line 8: unit BHXH, indicator dao_tao, measure da_chi already has a target on line 2; keep one row",
        "line 9, column 'target': 'ba trăm' is not a number",
        "line 10, column 'target': '0' is zero; progress cannot be measured against 0 (leave the row out)",
        "line 11, column 'target': '1,5' is not a whole number; measure phe_duyet counts",
        "line 13, column 'indicator': is empty; write an indicator code",
    ]


def test_problems_name_the_column_as_the_file_writes_it():
    assert problems_of("Đơn vị;Chỉ tiêu;Cột;Kế hoạch\nBHXH;dao_tao;da_chi;-\n") == [
        "line 2, column 'Kế hoạch': '-' is not a number; write the planned figure (leave the row out "
        "when there is none)"
    ]


def test_a_duplicate_total_row_is_named_as_the_whole_campaign():
    assert problems_of("unit,indicator,measure,target\n*,dao_tao,da_chi,1\nTổng cộng,dao_tao,da_chi,2\n") == [
        "line 3: the whole campaign (*), indicator dao_tao, measure da_chi already has a target on line 2; keep one row"
    ]


def test_missing_columns_are_named_with_a_hint_for_a_misspelt_header():
    assert problems_of("unit,indicatr,measure,ghi chu\nBHXH,dao_tao,da_chi,1\n") == [
        "line 1: the header row has no 'indicator' column (is 'indicatr' meant to be 'indicator'?); "
        "name it one of 'indicator', 'indicator code', 'chỉ tiêu', 'mã chỉ tiêu'",
        "line 1: the header row has no 'target' column; name it one of 'target', 'chỉ tiêu kế hoạch', "
        "'kế hoạch', 'mục tiêu', 'plan'",
    ]


def test_two_columns_with_the_same_meaning():
    assert problems_of("unit,đơn vị,indicator,measure,target\nBHXH,BHXH,dao_tao,da_chi,1\n") == [
        "line 1: columns 'unit' and 'đơn vị' both name the unit column; keep one"
    ]


def test_a_name_shared_by_two_units_must_be_written_as_a_code():
    units = (*UNITS, UnitConfig("SC2", "Sông Cầu 2", aliases=("UBND phường Sông Cầu",), senders=("x@y.vn",)))
    _, problems = parse_targets(
        "unit,indicator,measure,target\nUBND phường Sông Cầu,dao_tao,da_chi,1\n".encode(), FORM, units
    )
    assert problems == ["line 2, column 'unit': 'UBND phường Sông Cầu' names more than one unit; write the unit code"]


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"", "the file is empty; it needs a header row: unit, indicator, measure, target"),
        (b"\n ; ;\n", "the file is empty; it needs a header row: unit, indicator, measure, target"),
        (b"unit,indicator,measure,target\n", "line 1: the file has a header row but no targets below it"),
        (b"\x00\x01\x02binary" * 10, "is not a text (CSV) file; save the table as 'CSV UTF-8 (Comma delimited)'"),
    ],
)
def test_empty_header_only_and_binary_files(data, problem):
    assert parse_targets(data, FORM, UNITS) == ((), [problem])


def test_an_excel_workbook_is_refused_with_how_to_save_it_as_csv():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    _, problems = parse_targets(buf.getvalue(), FORM, UNITS)
    assert problems == ["is an Excel workbook, not CSV text; in Excel use Save As > 'CSV UTF-8 (Comma delimited)'"]


def test_too_many_rows(monkeypatch):
    assert MAX_ROWS == 100_000
    monkeypatch.setattr(targets_module, "MAX_ROWS", 5)
    rows = "".join(f"BHXH,{i.code},de_nghi,1\n" for i in FORM.indicators[:7])
    found, problems = parse("unit,indicator,measure,target\n" + rows)
    assert found == () and problems == [
        "the file has more than 5 target rows; it is not a targets table (rows after line 6 were not read)"
    ]


def test_a_file_over_the_size_cap_is_not_read(monkeypatch):
    monkeypatch.setattr(targets_module, "MAX_FILE_BYTES", 100)
    _, problems = parse("unit,indicator,measure,target\n" + "BHXH,dao_tao,da_chi,1\n" * 10)
    assert problems == ["the file is larger than 100 bytes, too large for a targets table (at most 100,000 rows)"]


def test_a_wrong_file_lists_the_first_problems_and_counts_the_rest(monkeypatch):
    monkeypatch.setattr(targets_module, "MAX_PROBLEMS", 3)
    problems = problems_of("unit,indicator,measure,target\n" + "X,dao_tao,da_chi,1\n" * 5)
    assert len(problems) == 4 and problems[-1] == "... and 2 more problems in the file"


# -- progress -----------------------------------------------------------------------------------


def test_progress_per_unit_cell_is_the_latest_value_over_the_target_exactly():
    found = targets_of(
        "unit,indicator,measure,target\n"
        "BHXH,ngung_viec,de_nghi,8\n"
        'BHXH,ngung_viec,tien_da_chi,"1.500"\n'
        "SONG_CAU,ngung_viec,de_nghi,3\n"
    )
    latest = {
        "BHXH": {"ngung_viec": {"de_nghi": Decimal(7), "tien_da_chi": Decimal(1_234_500_000)}},
        "SONG_CAU": {"ngung_viec": {"de_nghi": Decimal(2)}},
    }
    p = compute_progress(found, latest, {}, FORM, [u.code for u in UNITS])
    bhxh, song_cau = p.units
    assert [(c.measure, c.value, c.target, c.percent) for c in bhxh.cells] == [
        ("de_nghi", Decimal(7), Decimal(8), Decimal("87.5")),
        ("tien_da_chi", Decimal(1_234_500_000), Decimal(1_500_000_000), Decimal("82.3")),
    ]
    assert song_cau.cells[0].percent == Decimal("66.7")  # 2/3, one decimal, half up
    # no * target: the campaign total is the sum of the values over the sum of the targets
    assert [(c.measure, c.value, c.target, c.percent) for c in p.totals] == [
        ("de_nghi", Decimal(9), Decimal(11), Decimal("81.8")),
        ("tien_da_chi", Decimal(1_234_500_000), Decimal(1_500_000_000), Decimal("82.3")),
    ]


def test_a_star_target_is_measured_against_every_units_total():
    found = targets_of("unit,indicator,measure,target\n*,ho_kinh_doanh,de_nghi,200\nBHXH,ho_kinh_doanh,de_nghi,10\n")
    totals = {"ho_kinh_doanh": {"de_nghi": Decimal(150)}}
    p = compute_progress(found, {"BHXH": {"ho_kinh_doanh": {"de_nghi": Decimal(5)}}}, totals, FORM, ["BHXH"])
    assert [(c.value, c.target, c.percent) for c in p.totals] == [(Decimal(150), Decimal(200), Decimal("75.0"))]
    assert p.units[0].cells[0].percent == Decimal("50.0")


def test_no_figure_yet_is_zero_progress_and_rounding_is_half_up():
    found = (Target("BHXH", "dao_tao", "de_nghi", Decimal(10)), Target("BHXH", "dao_tao", "da_chi", Decimal(2000)))
    p = compute_progress(found, {"BHXH": {"dao_tao": {"da_chi": Decimal(1)}}}, {}, FORM, ["BHXH"])
    no_figure, tiny = p.units[0].cells
    assert no_figure.value is None and no_figure.percent == Decimal("0.0")
    assert tiny.percent == Decimal("0.1")  # 0.05% rounds up
    assert p.totals[0].value is None and p.totals[0].percent == Decimal("0.0")


def test_cells_in_form_order_units_in_config_order_and_the_lowest_first():
    found = (
        Target("SONG_CAU", "ho_kinh_doanh", "de_nghi", Decimal(10)),
        Target("SONG_CAU", "ngung_viec", "de_nghi", Decimal(10)),
        Target("NONG_THUONG", "dao_tao", "de_nghi", Decimal(10)),
        Target("BHXH", "dao_tao", "de_nghi", Decimal(10)),
    )
    latest = {
        "SONG_CAU": {"ho_kinh_doanh": {"de_nghi": Decimal(9)}, "ngung_viec": {"de_nghi": Decimal(3)}},
        "NONG_THUONG": {"dao_tao": {"de_nghi": Decimal(12)}},
        "BHXH": {"dao_tao": {"de_nghi": Decimal(5)}},
    }
    p = compute_progress(found, latest, {}, FORM, [u.code for u in UNITS])
    assert [u.unit for u in p.units] == ["BHXH", "SONG_CAU", "NONG_THUONG"]
    assert [c.indicator for c in p.units[1].cells] == ["ngung_viec", "ho_kinh_doanh"]
    assert p.units[1].lowest.indicator == "ngung_viec"
    assert p.units[2].lowest.percent == Decimal("120.0")  # over the target is fine
    # units at 100% or more everywhere are not "behind"
    assert [u.unit for u in p.lowest_units(5)] == ["SONG_CAU", "BHXH"]
    assert [u.unit for u in p.lowest_units(1)] == ["SONG_CAU"]
    assert [c.indicator for c in p.totals] == ["dao_tao", "ngung_viec", "ho_kinh_doanh"]


# -- the config hook ----------------------------------------------------------------------------


def test_config_loads_the_targets_file(tmp_path: Path):
    write(tmp_path, 'unit;indicator;measure;target\nBHXH;ngung_viec;kinh_phi;"2,5"\n', "targets.csv")
    cfg = load_config(write(tmp_path, toml(campaign='targets_file = "targets.csv"')), env=ENV)
    # BASE's kinh_phi has no default_scale: đồng
    assert cfg.campaign.targets == (Target("BHXH", "ngung_viec", "kinh_phi", Decimal("2.5")),)
    assert cfg.campaign.targets_file == tmp_path / "targets.csv"
    assert load_config(write(tmp_path, toml()), env=ENV).campaign.targets == ()


def test_config_lists_the_files_problems_with_its_other_problems(tmp_path: Path):
    write(
        tmp_path,
        "unit,indicator,measure,target\nBHXH,ngung_viec,de_nghi,5\nBHXH,dao_tao2,de_nghi,5\n"
        "SONG_CAU,ngung_viec,de_nghi,12a\n",
        "targets.csv",
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, toml(campaign='targets_file = "targets.csv"\ntitle = 3')), env=ENV)
    assert info.value.problems == [
        "campaign.title: expected a string, got an integer (line 39)",
        "campaign.targets_file: line 3, column 'indicator': 'dao_tao2' is not an indicator code",
        "campaign.targets_file: line 4, column 'unit': 'SONG_CAU' is not a unit code or name; "
        "write * for a target of the whole campaign",
        "campaign.targets_file: line 4, column 'target': '12a' is not a number",
    ]
    assert "campaign.targets_file: line 3" in str(info.value)


def test_the_example_targets_file_loads_with_the_example_config(tmp_path: Path):
    repo = Path(__file__).resolve().parents[2]
    text = (repo / "config.example.toml").read_text(encoding="utf-8")
    assert '# targets_file = "targets.example.csv"' in text  # off by default: the example loads without it
    (tmp_path / "targets.example.csv").write_bytes((repo / "targets.example.csv").read_bytes())
    config = write(
        tmp_path, text.replace('# targets_file = "targets.example.csv"', 'targets_file = "targets.example.csv"')
    )
    cfg = load_config(config, env={"BAOCAO_IMAP_PASSWORD": "x", "BAOCAO_SMTP_PASSWORD": "y"})
    found = cfg.campaign.targets
    assert len(found) > 20 and {t.unit for t in found} >= {None, "BHXH", "NONG_THUONG"}
    assert Target("NHCSXH", "vay_tra_luong", "tien_da_chi", Decimal(578_760_000)) in found


# -- status and JSON ----------------------------------------------------------------------------


def test_status_has_a_progress_section_with_the_countdown():
    text = status_text(view_of(CFG, DAY, scenario()), with_targets())
    section = text[text.index("Tiến độ so với kế hoạch") :]
    assert section.splitlines()[:6] == [
        "Tiến độ so với kế hoạch (còn 14 ngày đến hạn 25/08/2021):",
        "  Hỗ trợ người lao động ngừng việc — Số đối tượng đề nghị hỗ trợ: 1.284/2.040 (62,9%)",
        "  Hỗ trợ người lao động ngừng việc — Kinh phí được phê duyệt (triệu đồng): 1.234,5/1.500 (82,3%)",
        "  Hỗ trợ hộ kinh doanh — Số đối tượng đề nghị hỗ trợ: 47/100 (47,0%)",
        "Đơn vị có tiến độ thấp nhất:",
        "  YTE Phòng Y tế: 50,0% (Hỗ trợ hộ kinh doanh — Số đối tượng đề nghị hỗ trợ: 40/80)",
    ]
    assert "1/3 đơn vị đã đạt 100% kế hoạch." in section  # SONG_CAU: 50/40
    assert "Tiến độ so với kế hoạch" not in status_text(view_of(CFG, DAY, scenario()), CFG)


def test_status_in_english():
    text = status_text(view_of(CFG, DAY, scenario()), with_targets(make_cfg("en")))
    assert "Progress against targets (14 days left until the 25/08/2021 deadline):" in text
    assert "(47.0%)" in text and "1 of 3 units have reached 100% of their targets." in text


def test_json_has_progress_with_money_in_dong_and_percent_with_one_decimal():
    cfg = with_targets()
    doc = day_json(view_of(cfg, DAY, scenario()), cfg)
    p = doc["progress"]
    assert (p["end_date"], p["days_left"]) == ("2021-08-25", 14)
    assert p["totals"][1] == {
        "indicator": "ngung_viec",
        "measure": "kinh_phi",
        "value": 1_234_500_000,
        "target": 1_500_000_000,
        "percent": 82.3,
    }
    units = {u["code"]: u for u in p["units"]}
    assert units["SONG_CAU"]["cells"] == [
        {"indicator": "ngung_viec", "measure": "de_nghi", "value": 50, "target": 40, "percent": 125.0}
    ]
    assert units["BHXH"]["lowest_percent"] == 61.7
    assert "progress" not in day_json(view_of(CFG, DAY, scenario()), CFG)
