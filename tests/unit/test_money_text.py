"""Money as Vietnamese readers write it ("70 triệu", never "70,0") in the digest, the
acknowledgement and the workbook; English output keeps its own style."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import openpyxl
import pytest

from service.outputs.digest import Numbers, digest_model, render_digest
from service.outputs.replies import figure_table
from service.outputs.workbook import render_workbook
from tests.unit.test_digest import DAY, MILLION, at, make_cfg, msg, view_of


@pytest.mark.parametrize(
    "language, dong, number, alone",
    [
        ("vi", 70 * MILLION, "70", "70 triệu"),
        ("vi", 49_500_000, "49,5", "49,5 triệu"),
        ("vi", 3_714_000, "3,71", "3,71 triệu"),
        ("vi", 1_234_000_000, "1.234", "1.234 triệu"),
        ("vi", 2_506_990_000, "2.506,99", "2.506,99 triệu"),
        ("vi", 0, "0", "0 triệu"),
        ("en", 70 * MILLION, "70.0", "70.0"),
        ("en", 1_234_500_000, "1,234.5", "1,234.5"),
    ],
)
def test_amounts(language, dong, number, alone):
    num = Numbers.for_language(language)
    assert num.money(Decimal(dong)) == number
    assert num.money_words(Decimal(dong)) == alone


def test_signed_change_of_an_amount():
    num = Numbers.for_language("vi")
    assert num.money_words(Decimal(12_500_000), sign=True) == "+12,5 triệu"
    assert num.money(Decimal(-2 * MILLION), sign=True) == "-2"


def seventy_million(language: str):
    cfg = make_cfg(language)
    messages = [msg("BHXH", at(DAY, 8), {("ngung_viec", "kinh_phi"): 70 * MILLION}, files=("bhxh.xlsx",))]
    return cfg, view_of(cfg, DAY, messages)


def test_digest_text_says_70_trieu_and_the_table_70():
    cfg, view = seventy_million("vi")
    content = render_digest(view, cfg, now=at(DAY, 15))
    assert "Kinh phí được phê duyệt: 70 triệu" in content.text
    assert re.search(r">\s*70\s*<", content.html)  # a table cell under "(triệu đồng)"
    for part in (content.text, content.html):
        assert "70,0" not in part


def test_english_digest_keeps_its_style():
    cfg, view = seventy_million("en")
    content = render_digest(view, cfg, now=at(DAY, 15))
    assert "Kinh phí được phê duyệt: 70.0" in content.text


def test_acknowledgement_table():
    values = {"ngung_viec": {"kinh_phi": Decimal(70 * MILLION)}}
    table = figure_table(make_cfg("vi"), values, Numbers.for_language("vi"))
    [row] = table["rows"]
    assert [c["text"] for c in row["cells"]] == ["", "70"]


@pytest.mark.parametrize("language, shown", [("vi", "#,##0"), ("en", "#,##0.0#")])
def test_workbook_shows_whole_amounts_without_decimals_in_vietnamese(language, shown):
    cfg, view = seventy_million(language)
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(digest_model(view, cfg, now=at(DAY, 15)), cfg)))
    formats = {c.number_format for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value == 70}
    assert formats == {shown}


def test_day_and_time_texts_are_strftimes():
    import datetime as dt
    from types import SimpleNamespace

    from service.outputs.formatting import day_month_year, hour_minute

    zone = dt.timezone(dt.timedelta(hours=7))
    cfg = SimpleNamespace(service=SimpleNamespace(timezone=zone))
    start = dt.datetime(2021, 8, 11, 16, 0, 59, tzinfo=dt.UTC)
    for k in range(0, 24 * 60, 7):
        at = start + dt.timedelta(minutes=k)
        assert hour_minute(at, cfg) == at.astimezone(zone).strftime("%H:%M")  # type: ignore[arg-type]
    assert hour_minute(None, cfg) == ""  # type: ignore[arg-type]
    for day in (dt.date(2021, 8, 12), dt.date(2021, 8, 12), dt.date(1999, 1, 2)):  # (the second from memory)
        assert day_month_year(day) == day.strftime("%d/%m/%Y")
    # the same instant in two zones is two days: a datetime is written as it is, never from memory
    late = dt.datetime(2021, 8, 12, 23, 0, tzinfo=dt.UTC)
    assert (day_month_year(late), day_month_year(late.astimezone(zone))) == ("12/08/2021", "13/08/2021")
    assert day_month_year(None) == ""
