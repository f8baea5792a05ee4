"""`status`, `export`, the digest and its workbook tell one story about a day (pure).

Two quirks, each seen in real use: a unit that reported on time and sent a correction
after the deadline, and a count that is not a whole number (flagged, shown in the
unit's row, left out of the totals).
"""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from service.outputs.digest import digest_model
from service.outputs.export import day_json, status_text
from service.outputs.workbook import render_workbook
from tests.unit.test_digest import CFG, DAY, MILLION, at, msg, plain, render, view_of

CORRECTION_NOTE = "đã gửi bản sửa lúc 16:00 (sau hạn)"
FRACTIONAL = (
    "fractional_count",
    {
        "file": "songcau.xlsx",
        "sheet": "11.8",
        "cell": "C9",
        "text": "1.234,5",
        "indicator": "Hỗ trợ người lao động ngừng việc",
        "measure": "Số đối tượng đề nghị hỗ trợ",
        "indicator_code": "ngung_viec",
        "measure_code": "de_nghi",
    },
)


def day_messages() -> list:
    return [
        msg("BHXH", at(DAY, 10), {("ngung_viec", "de_nghi"): 100}),
        msg("BHXH", at(DAY, 16), {("ngung_viec", "de_nghi"): 120, ("ngung_viec", "kinh_phi"): 3 * MILLION}),
        msg(
            "SONG_CAU",
            at(DAY, 9),
            {("ngung_viec", "de_nghi"): "1234.5", ("ngung_viec", "kinh_phi"): 2 * MILLION},
            problems=(FRACTIONAL,),
        ),
    ]


def view():
    return view_of(CFG, DAY, day_messages())


def units_of(doc: dict) -> dict:
    return {u["code"]: u for u in doc["units"]}


# -- a correction after the deadline ------------------------------------------------------------


def test_export_keeps_the_unit_on_time_with_the_correction_noted():
    bhxh = units_of(day_json(view(), CFG))["BHXH"]
    assert bhxh["status"] == "on_time"
    assert bhxh["values"] == {"ngung_viec": {"de_nghi": 120, "kinh_phi": 3 * MILLION}}  # the latest figures
    assert bhxh["first_received_at"] == "2021-08-11T10:00:00+07:00"
    assert bhxh["correction_at"] == "2021-08-11T16:00:00+07:00"
    assert bhxh["notes"] == [CORRECTION_NOTE]


def test_status_says_on_time_with_the_note():
    line = next(x for x in status_text(view(), CFG).splitlines() if x.startswith("BHXH"))
    assert "Đúng hạn" in line and "Muộn" not in line and CORRECTION_NOTE in line


def test_the_digest_says_on_time_with_the_note():
    content = render(messages=day_messages(), now=at(DAY, 17))
    m = digest_model(view(), CFG, now=at(DAY, 17))
    assert m["rate"]["on_time"] == 2 and m["rate"]["late"] == 0
    bhxh = units_of(m)["BHXH"]
    assert bhxh["status"] == "on_time" and bhxh["notes"] == [CORRECTION_NOTE]
    line = next(x for x in content.text.splitlines() if x.strip().startswith("Bảo hiểm xã hội thành phố:"))
    assert "Đúng hạn" in line and CORRECTION_NOTE in line
    assert CORRECTION_NOTE in plain(content.html)


def test_the_workbook_says_on_time_with_the_note():
    wb = load_workbook(io.BytesIO(render_workbook(digest_model(view(), CFG, now=at(DAY, 17)), CFG)))
    ws = wb["Tình hình báo cáo"]
    [row] = [[c.value for c in r] for r in ws.iter_rows(min_row=5) if r[1].value == "BHXH"]
    assert row[4] == "Đúng hạn" and CORRECTION_NOTE in row[-1]


# -- a count that is not whole: in the unit's row, flagged, out of the totals -------------------------


def test_export_totals_leave_the_flagged_figure_out_and_the_row_keeps_it():
    doc = day_json(view(), CFG)
    song_cau = units_of(doc)["SONG_CAU"]
    assert song_cau["values"]["ngung_viec"]["de_nghi"] == 1234.5
    assert [p["code"] for p in song_cau["problems"]] == ["fractional_count"]
    assert song_cau["excluded_from_totals"] == [
        {"indicator": "ngung_viec", "measure": "de_nghi", "problem": "fractional_count"}
    ]
    # BHXH's 120 only; money is valid in both rows and counts
    assert doc["totals"] == {"ngung_viec": {"de_nghi": 120, "kinh_phi": 5 * MILLION}}
    assert doc["totals_exclude"] == [
        {
            "unit": "SONG_CAU",
            "indicator": "ngung_viec",
            "measure": "de_nghi",
            "value": 1234.5,
            "problem": "fractional_count",
        }
    ]


EXCLUDED_LINE = (
    "UBND phường Sông Cầu — Hỗ trợ người lao động ngừng việc, Số đối tượng đề nghị hỗ trợ: "
    "1.234,5 (không phải số nguyên)"
)


def test_the_digest_says_which_totals_leave_out_what():
    content = render(messages=day_messages(), now=at(DAY, 17))
    rows = {r["code"]: r for r in digest_model(view(), CFG, now=at(DAY, 17))["totals"]["rows"]}
    assert rows["ngung_viec"]["cells"][0]["value"] == Decimal(120)
    assert "Tổng không tính:" in content.text and EXCLUDED_LINE in content.text
    assert "Tổng không tính:" in plain(content.html) and EXCLUDED_LINE in plain(content.html)
    assert "Tổng không tính" not in render(messages=day_messages()[:2], now=at(DAY, 17)).text


def test_the_workbook_shows_the_figure_in_the_unit_row_and_leaves_it_out_of_the_total():
    wb = load_workbook(io.BytesIO(render_workbook(digest_model(view(), CFG, now=at(DAY, 17)), CFG)))
    detail = wb["Chi tiết theo đơn vị"]
    rows = {detail.cell(r, 2).value: r for r in range(6, detail.max_row + 1)}
    flagged = detail.cell(rows["UBND phường Sông Cầu"], 5)
    assert flagged.value == 1234.5 and flagged.fill.fgColor.rgb.endswith("FFE9D9")
    assert detail.cell(rows["Tổng cộng"], 5).value == 120
    totals = wb["Tổng hợp"]
    texts = [c.value for row in totals.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("Tổng không tính:") and EXCLUDED_LINE in t for t in texts)


def test_status_shows_the_figure_and_says_the_totals_leave_it_out():
    text = status_text(view(), CFG)
    assert "Tổng không tính:" in text and EXCLUDED_LINE in text


def test_the_problem_sentence_is_the_same_in_the_export_the_status_and_the_digest():
    day = view()
    model = digest_model(day, CFG, now=at(DAY, 17))
    in_digest = next(p["text"] for u in model["units"] if u["code"] == "SONG_CAU" for p in u["problems"])
    assert "1.234,5" in in_digest and "C9" in in_digest
    assert units_of(day_json(day, CFG))["SONG_CAU"]["problems"][0]["message"] == in_digest
    line = next(x for x in status_text(day, CFG).splitlines() if x.startswith("SONG_CAU"))
    assert in_digest[:60] in line
