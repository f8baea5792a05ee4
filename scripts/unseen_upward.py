#!/usr/bin/env python3
"""Measure the superior's form filling on forms baocao never saw (issue 15, point 5).

    .venv/bin/python scripts/unseen_upward.py [--seed 15] [--out /tmp/baocao-unseen-upward] [--verbose]

Generates, deterministically from the seed, another campaign (flood relief in a district:
its own indicators, measures, aliases and units, in a config.toml the product loads) and
seven superior forms written the way provinces write them, none of them from the test
set: other wordings (aliases, numbering, section headings), money in đồng / nghìn đồng /
triệu đồng / tỷ đồng (in a heading or in a "Đơn vị tính" line), measures in other
orders, units as rows with their names written differently ("UBND phường Lê Lợi",
"P. Lê Lợi", "TT. Quán Hành", an alias), total rows with =SUM formulas or without, a
header split over three rows, columns split into "Tuần này" / "Cộng dồn" and "Kỳ này" /
"Lũy kế", a sheet with two tables, .xlsx and .docx. Each unit's figures of the day
before and of the day (cumulative, some units stale, one never reporting) are drawn from
the seed; the expected value of every figure cell of every form is computed here from
those inputs, by the rules the administrator's guide states (4.5), not by product code.

The product then fills each form from the day: the config loaded by `load_config`, the
day's view built by `service.day.dayview.day_view` from the units' figures,
`figures_of_day`, `fill_upward`. Every expected cell is compared with what the filled
file holds (numbers as numbers in the column's scale, formulas kept, empty cells empty,
the date lines), and every row or column that must be listed as not filled is looked
for among the problems. It prints the score per form and in all; --verbose prints every
cell that is not right. The files stay under --out; nothing is committed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import sys
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = dt.date(2024, 9, 20)  # a Friday
YESTERDAY = DAY - dt.timedelta(days=1)

# ---------------------------------------------------------------------------------- the campaign

INDICATORS = {  # code: (label, aliases)
    "nha_sap": ("Hỗ trợ hộ có nhà bị sập, đổ hoàn toàn", ("Nhà sập đổ hoàn toàn", "Nhà bị sập đổ")),
    "nha_hu": ("Hỗ trợ hộ có nhà bị hư hỏng nặng", ("Nhà hư hỏng nặng",)),
    "cuu_doi": ("Hỗ trợ lương thực cứu đói", ("Cứu đói", "Gạo cứu đói")),
    "giong_cay": ("Hỗ trợ giống cây trồng", ("Giống cây trồng",)),
    "thuy_san": ("Hỗ trợ khôi phục nuôi trồng thủy sản", ("Nuôi trồng thủy sản",)),
}
MEASURES = {  # code: (label, aliases, kind)
    "ho_de_nghi": ("Số hộ đề nghị", ("Hộ đề nghị hỗ trợ",), "count"),
    "ho_duyet": ("Số hộ được duyệt", ("Số hộ được phê duyệt", "Hộ được duyệt"), "count"),
    "kp_duyet": ("Kinh phí được duyệt", ("Kinh phí phê duyệt",), "money"),
    "kp_cap": ("Kinh phí đã cấp", ("Số tiền đã cấp",), "money"),
}
UNITS = {  # code: (name, aliases)
    "HUNG_DONG": ("UBND xã Hưng Đông", ()),
    "LE_LOI": ("UBND phường Lê Lợi", ()),
    "QUAN_HANH": ("UBND thị trấn Quán Hành", ()),
    "NGHI_KIM": ("UBND xã Nghi Kim", ()),
    "NN_PTNT": ("Phòng Nông nghiệp và Phát triển nông thôn", ("Phòng NN&PTNT",)),
    "CTD": ("Hội Chữ thập đỏ huyện", ("Hội CTĐ huyện",)),
}
STALE = "NGHI_KIM"  # reported yesterday only: figures carried forward, no change in the day
SILENT = "CTD"  # never reported
FIRST_TODAY = "QUAN_HANH"  # its first report is today's

Values = dict[str, dict[str, Decimal]]


def config_toml() -> str:
    out = ['[digest]\nto = ["dieuphoi@yenthanh.gov.vn"]\n', '[campaign]\ntitle = "Khắc phục hậu quả lũ lụt"\n']
    for code, (label, aliases, kind) in MEASURES.items():
        out.append(f'[[measures]]\ncode = "{code}"\nlabel = "{label}"\naliases = {list(aliases)!r}\nkind = "{kind}"\n')
    for code, (label, aliases) in INDICATORS.items():
        out.append(f'[[indicators]]\ncode = "{code}"\nlabel = "{label}"\naliases = {list(aliases)!r}\n')
    for code, (name, aliases) in UNITS.items():
        sender = code.lower().replace("_", "") + "@yenthanh.gov.vn"
        out.append(
            f'[[units]]\ncode = "{code}"\nname = "{name}"\naliases = {list(aliases)!r}\nsenders = ["{sender}"]\n'
        )
    return "\n".join(out).replace("'", '"')


def draw(seed: int) -> tuple[dict[str, Values], dict[str, Values]]:
    """Each unit's cumulative figures yesterday and today (đồng), from the seed."""
    rng = random.Random(seed)
    yesterday: dict[str, Values] = {}
    today: dict[str, Values] = {}
    for unit in UNITS:
        y: Values = {}
        t: Values = {}
        for ind in INDICATORS:
            if rng.random() < 0.3:
                continue  # the unit has nothing for this policy
            de_nghi = rng.randint(5, 400)
            duyet = rng.randint(0, de_nghi)
            kp_duyet = duyet * rng.choice((3, 5, 10, 20, 40)) * 1_000_000 + rng.randint(0, 99) * 50_000
            kp_cap = kp_duyet * rng.randint(0, 10) // 10 // 50_000 * 50_000
            y[ind] = {k: Decimal(v) for k, v in zip(MEASURES, (de_nghi, duyet, kp_duyet, kp_cap), strict=True)}
            grow = {k: Decimal(rng.randint(0, 30)) for k in ("ho_de_nghi", "ho_duyet")}
            extra_money = Decimal(rng.randint(0, 40) * 250_000)
            t[ind] = {
                "ho_de_nghi": y[ind]["ho_de_nghi"] + grow["ho_de_nghi"],
                "ho_duyet": y[ind]["ho_duyet"] + grow["ho_duyet"],
                "kp_duyet": y[ind]["kp_duyet"] + extra_money,
                "kp_cap": y[ind]["kp_cap"] + extra_money // 2 // 50_000 * 50_000,
            }
        if unit == SILENT:
            y, t = {}, {}
        if unit == FIRST_TODAY:
            y = {}
        if unit == STALE:
            t = y
        yesterday[unit], today[unit] = y, t
    return yesterday, today


# ---------------------------------------------------------------------------------- expected values


@dataclass
class Expected:
    """What one form must hold once filled: cell → value (a Decimal in the column's scale,
    None for an empty cell, a str for a formula or a text), the rows and columns it must
    list as not filled (words of the listed sentence)."""

    name: str
    cells: dict[tuple[str, int, int], object] = field(default_factory=dict)  # (sheet or table, row, col)
    listed: list[str] = field(default_factory=list)


def add(values: Values, inds: list[str] | None, measure: str) -> Decimal | None:
    found = [row[measure] for ind, row in values.items() if (inds is None or ind in inds) and measure in row]
    return sum(found, Decimal(0)) if found else None


def totals(by_unit: dict[str, Values]) -> Values:
    out: Values = {}
    for values in by_unit.values():
        for ind, row in values.items():
            for meas, v in row.items():
                out.setdefault(ind, {})[meas] = out.get(ind, {}).get(meas, Decimal(0)) + v
    return out


def changes(yesterday: dict[str, Values], today: dict[str, Values]) -> dict[str, Values | None]:
    """Each unit's change in the day: today's cumulative figures minus yesterday's (from
    nothing for a first report); None for a unit that sent nothing today."""
    out: dict[str, Values | None] = {}
    for unit in UNITS:
        if unit in (STALE, SILENT):
            out[unit] = None
            continue
        out[unit] = {
            ind: {m: v - yesterday[unit].get(ind, {}).get(m, Decimal(0)) for m, v in row.items()}
            for ind, row in today[unit].items()
        }
    return out


# ---------------------------------------------------------------------------------- the forms


def _scaled(value: Decimal | None, scale: int) -> Decimal | None:
    return None if value is None else value / scale


def form_a(yesterday: dict[str, Values], today: dict[str, Values]) -> tuple[bytes, Expected]:
    """.xlsx, indicators as rows, a header over three rows ("Kết quả thực hiện" over "Số hộ"
    and "Kinh phí (tỷ đồng)", each over two measures in another order), section headings,
    aliases and numbering, a row the campaign does not have, a =SUM total row."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Biểu 1a"
    ws["A1"] = "UBND HUYỆN YÊN THÀNH"
    ws["A3"] = "TỔNG HỢP KẾT QUẢ HỖ TRỢ KHẮC PHỤC HẬU QUẢ MƯA LŨ"
    ws["A4"] = "(Số liệu tính đến ngày ..../..../2024)"
    ws["A6"], ws["B6"], ws["C6"] = "TT", "Nội dung hỗ trợ", "Kết quả thực hiện"
    ws["C7"], ws["E7"] = "Số hộ", "Kinh phí (tỷ đồng)"
    ws["C8"], ws["D8"], ws["E8"], ws["F8"] = "Được duyệt", "Đề nghị", "Đã cấp", "Được duyệt"
    ws["G6"] = "Ghi chú"
    for ref in ("A6:A8", "B6:B8", "C6:F6", "C7:D7", "E7:F7", "G6:G8"):
        ws.merge_cells(ref)
    for row in ws.iter_rows(min_row=6, max_row=8):
        for cell in row:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
    rows = {
        9: ("I", "Hỗ trợ về nhà ở", None),
        10: ("1", "Nhà sập đổ hoàn toàn", "nha_sap"),
        11: ("2", "Hỗ trợ hộ có nhà bị hư hỏng nặng", "nha_hu"),
        12: ("II", "Hỗ trợ khôi phục sản xuất, đời sống", None),
        13: ("3", "Cứu đói", "cuu_doi"),
        14: ("4", "Hỗ trợ giống cây trồng", "giong_cay"),
        15: ("5", "Hỗ trợ tiền điện, nước sinh hoạt", "?"),
    }
    for r, (number, label, _) in rows.items():
        ws[f"A{r}"], ws[f"B{r}"] = number, label
    ws["B16"] = "Tổng cộng"
    for col in "CDEF":
        ws[f"{col}16"] = f"=SUM({col}10:{col}15)"
    for r in range(10, 16):
        for col in "EF":
            ws[f"{col}{r}"].number_format = "#,##0.000000"
    ws["E18"] = "Yên Thành, ngày ... tháng ... năm 2024"
    ws["B19"], ws["E19"] = "NGƯỜI LẬP BIỂU", "CHỦ TỊCH"
    buf = io.BytesIO()
    wb.save(buf)

    total = totals(today)
    columns = {3: ("ho_duyet", 1), 4: ("ho_de_nghi", 1), 5: ("kp_cap", 10**9), 6: ("kp_duyet", 10**9)}
    exp = Expected("A .xlsx, indicators, 3-row header, tỷ đồng")
    for r, (_, _, ind) in rows.items():
        for c, (meas, scale) in columns.items():
            if ind is None or ind == "?":
                exp.cells[("Biểu 1a", r, c)] = None
            else:
                exp.cells[("Biểu 1a", r, c)] = _scaled(total.get(ind, {}).get(meas), scale)
    for c, col in zip(columns, "CDEF", strict=True):
        exp.cells[("Biểu 1a", 16, c)] = f"=SUM({col}10:{col}15)"
    exp.cells[("Biểu 1a", 4, 1)] = "(Số liệu tính đến ngày 20/09/2024)"
    exp.cells[("Biểu 1a", 18, 5)] = "Yên Thành, ngày 20 tháng 9 năm 2024"
    exp.listed = ["B15", "Hỗ trợ khôi phục nuôi trồng thủy sản"]
    if not total.get("thuy_san"):
        exp.listed.pop()
    return buf.getvalue(), exp


def form_b(yesterday: dict[str, Values], today: dict[str, Values]) -> tuple[bytes, Expected]:
    """.xlsx, units as rows written differently, the title naming one policy (cứu đói), the
    scale in a "Đơn vị tính: hộ; tiền: nghìn đồng" line, a total row "Cộng" with formulas."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Cứu đói"
    ws["A1"] = "BÁO CÁO KẾT QUẢ HỖ TRỢ LƯƠNG THỰC CỨU ĐÓI THEO ĐƠN VỊ"
    ws["A2"] = "Tính đến ngày:"
    ws["C2"] = "..../..../......"
    ws["E3"] = "Đơn vị tính: hộ; tiền: nghìn đồng"
    ws.append(["STT", "Đơn vị", "Kinh phí đã cấp", "Hộ được duyệt", "Kinh phí phê duyệt", "Ghi chú"])  # 4
    names = {
        5: ("A", "Khối xã, thị trấn", None),
        6: ("1", "Xã Hưng Đông", "HUNG_DONG"),
        7: ("2", "P. Lê Lợi", "LE_LOI"),
        8: ("3", "TT. Quán Hành", "QUAN_HANH"),
        9: ("4", "UBND X. Nghi Kim", "NGHI_KIM"),
        10: ("B", "Khối phòng, ban, đoàn thể", None),
        11: ("5", "Phòng NN&PTNT", "NN_PTNT"),
        12: ("6", "Hội Chữ thập đỏ huyện", "CTD"),
    }
    for r, (number, name, _) in names.items():
        ws[f"A{r}"], ws[f"B{r}"] = number, name
    ws["B13"] = "Cộng"
    for col in "CDE":
        ws[f"{col}13"] = f"=SUM({col}6:{col}12)"
    buf = io.BytesIO()
    wb.save(buf)

    columns = {3: ("kp_cap", 1000), 4: ("ho_duyet", 1), 5: ("kp_duyet", 1000)}
    exp = Expected("B .xlsx, units, 'Đơn vị tính' line, nghìn đồng, title scope")
    for r, (_, _, unit) in names.items():
        for c, (meas, scale) in columns.items():
            value = None if unit is None else add(today[unit], ["cuu_doi"], meas)
            exp.cells[("Cứu đói", r, c)] = _scaled(value, scale)
    for c, col in zip(columns, "CDE", strict=True):
        exp.cells[("Cứu đói", 13, c)] = f"=SUM({col}6:{col}12)"
    exp.cells[("Cứu đói", 2, 3)] = "20/09/2024"
    return buf.getvalue(), exp


def _docx(
    paragraphs: list[str], rows: list[list[str | None]], merges: list[tuple[int, int, int, int]], after: list[str]
) -> bytes:
    import docx
    from docx.shared import Pt

    document = docx.Document()
    for text in paragraphs:
        run = document.add_paragraph().add_run(text)
        run.font.size = Pt(13)
    table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                table.cell(r, c).paragraphs[0].add_run(value)
    for r1, c1, r2, c2 in merges:
        table.cell(r1, c1).merge(table.cell(r2, c2))
    for text in after:
        document.add_paragraph().add_run(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def form_c(yesterday: dict[str, Values], today: dict[str, Values]) -> tuple[bytes, Expected]:
    """.docx, indicators as rows, money in triệu đồng in the heading, a "Ghi chú" column,
    a period line, a total row without formulas ("Tổng số"), a policy the form lacks."""
    rows: list[list[str | None]] = [
        [
            "TT",
            "Chính sách hỗ trợ",
            "Hộ đề nghị hỗ trợ",
            "Kinh phí phê duyệt (triệu đồng)",
            "Số hộ được phê duyệt",
            "Ghi chú",
        ],
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"],
        ["1", "Nhà bị sập đổ"],
        ["2", "Nhà hư hỏng nặng"],
        ["3", "Gạo cứu đói"],
        ["4", "Nuôi trồng thủy sản"],
        [None, "Tổng số"],
    ]
    data = _docx(
        ["UBND HUYỆN YÊN THÀNH", "BÁO CÁO NHANH KẾT QUẢ HỖ TRỢ", "Từ ngày ..../..../.... đến ngày ..../..../...."],
        [r + [None] * (6 - len(r)) for r in rows],
        [],
        ["Yên Thành, ngày ..... tháng ..... năm ......"],
    )
    total = totals(today)
    columns = {3: ("ho_de_nghi", 1), 4: ("kp_duyet", 10**6), 5: ("ho_duyet", 1)}
    exp = Expected("C .docx, indicators, triệu đồng, period line")
    for r, ind in {3: "nha_sap", 4: "nha_hu", 5: "cuu_doi", 6: "thuy_san", 7: None}.items():
        for c, (meas, scale) in columns.items():
            value = total.get(ind, {}).get(meas) if ind else add(total, None, meas)
            exp.cells[("1", r, c)] = _scaled(value, scale)
    exp.cells[("p", 3, 0)] = "Từ ngày 20/09/2024 đến ngày 20/09/2024"
    exp.cells[("p", 4, 0)] = "Yên Thành, ngày 20 tháng 9 năm 2024"
    exp.listed = ["Hỗ trợ giống cây trồng"] if total.get("giong_cay") else []
    return data, exp


def form_d(yesterday: dict[str, Values], today: dict[str, Values]) -> tuple[bytes, Expected]:
    """.docx, units as rows under group headings, each policy heading its own two measures
    (money in đồng), unit names as the district writes them, a "Cộng" row."""
    head1: list[str | None] = ["TT", "Tên đơn vị", "Nhà sập đổ hoàn toàn", None, "Giống cây trồng", None]
    head2: list[str | None] = [
        None,
        None,
        "Số hộ được duyệt",
        "Kinh phí đã cấp (đồng)",
        "Số hộ được duyệt",
        "Kinh phí đã cấp (đồng)",
    ]
    body = [
        ["I", "Xã, thị trấn"],
        ["1", "UBND xã Hưng Đông"],
        ["2", "Phường Lê Lợi"],
        ["3", "Thị trấn Quán Hành"],
        ["4", "Xã Nghi Kim"],
        ["II", "Phòng, ban, đoàn thể"],
        ["5", "Phòng Nông nghiệp và Phát triển nông thôn"],
        ["6", "Hội CTĐ huyện"],
        [None, "Cộng"],
    ]
    units = [None, "HUNG_DONG", "LE_LOI", "QUAN_HANH", "NGHI_KIM", None, "NN_PTNT", "CTD", "ALL"]
    data = _docx(
        ["BIỂU TỔNG HỢP THEO ĐƠN VỊ", "Số liệu tính đến ngày ......./......./......."],
        [head1, head2] + [r + [None] * 4 for r in body],
        [(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 0, 3), (0, 4, 0, 5)],
        [],
    )
    columns = {
        3: ("nha_sap", "ho_duyet"),
        4: ("nha_sap", "kp_cap"),
        5: ("giong_cay", "ho_duyet"),
        6: ("giong_cay", "kp_cap"),
    }
    exp = Expected("D .docx, units under policy headings, đồng")
    for i, unit in enumerate(units):
        r = 3 + i
        for c, (ind, meas) in columns.items():
            if unit is None:
                value = None
            elif unit == "ALL":
                value = add(totals(today), [ind], meas)
            else:
                value = add(today[unit], [ind], meas)
            exp.cells[("1", r, c)] = value
    exp.cells[("p", 2, 0)] = "Số liệu tính đến ngày 20/09/2024"
    return data, exp


def form_e(yesterday: dict[str, Values], today: dict[str, Values]) -> tuple[bytes, Expected]:
    """.xlsx with two sheets: indicators as rows with "Số hộ được duyệt" split into "Tuần
    này" / "Cộng dồn" and "Kinh phí đã cấp (triệu đồng)" into "Kỳ này" / "Lũy kế"; and a
    second sheet with one row per unit and "Số hộ đề nghị" over every policy, then a
    second table below it on the same sheet: the units' money approved in tỷ đồng."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    ws.append(["STT", "Chỉ tiêu", "Số hộ được duyệt", None, "Kinh phí đã cấp (triệu đồng)", None])  # 1
    ws.append([None, None, "Tuần này", "Cộng dồn", "Kỳ này", "Lũy kế"])  # 2
    for ref in ("A1:A2", "B1:B2", "C1:D1", "E1:F1"):
        ws.merge_cells(ref)
    inds = ["nha_sap", "nha_hu", "cuu_doi", "giong_cay", "thuy_san"]
    for n, ind in enumerate(inds, 1):
        ws.append([str(n), INDICATORS[ind][0]])  # rows 3..7
    ws.append([None, "Tổng cộng", "=SUM(C3:C7)", "=SUM(D3:D7)", "=SUM(E3:E7)", "=SUM(F3:F7)"])  # 8
    second = wb.create_sheet("Theo đơn vị")
    second.append(["BẢNG 1. SỐ HỘ ĐỀ NGHỊ HỖ TRỢ"])  # 1
    second.append(["TT", "Đơn vị", "Số hộ đề nghị"])  # 2
    order = ["LE_LOI", "HUNG_DONG", "NN_PTNT", "QUAN_HANH"]
    written = {
        "LE_LOI": "UBND P. Lê Lợi",
        "HUNG_DONG": "X. Hưng Đông",
        "NN_PTNT": "Phòng NN&PTNT",
        "QUAN_HANH": "UBND TT. Quán Hành",
    }
    for n, unit in enumerate(order, 1):
        second.append([str(n), written[unit]])  # rows 3..6
    second.append([])  # 7
    second.append(["BẢNG 2. KINH PHÍ ĐƯỢC DUYỆT"])  # 8
    second.append(["TT", "Đơn vị", "Kinh phí được duyệt (tỷ đồng)"])  # 9
    for n, unit in enumerate(reversed(order), 1):
        second.append([str(n), UNITS[unit][0]])  # rows 10..13
    buf = io.BytesIO()
    wb.save(buf)

    total = totals(today)
    change = changes(yesterday, today)
    period_total = totals({u: v for u, v in change.items() if v is not None})
    exp = Expected("E .xlsx, split Tuần này/Cộng dồn, Kỳ này/Lũy kế; two tables on one sheet")
    for i, ind in enumerate(inds):
        r = 3 + i
        exp.cells[("Tổng hợp", r, 3)] = period_total.get(ind, {}).get("ho_duyet")
        exp.cells[("Tổng hợp", r, 4)] = total.get(ind, {}).get("ho_duyet")
        exp.cells[("Tổng hợp", r, 5)] = _scaled(period_total.get(ind, {}).get("kp_cap"), 10**6)
        exp.cells[("Tổng hợp", r, 6)] = _scaled(total.get(ind, {}).get("kp_cap"), 10**6)
    for c, col in zip(range(3, 7), "CDEF", strict=True):
        exp.cells[("Tổng hợp", 8, c)] = f"=SUM({col}3:{col}7)"
    for i, unit in enumerate(order):
        exp.cells[("Theo đơn vị", 3 + i, 3)] = add(today[unit], None, "ho_de_nghi")
    for i, unit in enumerate(reversed(order)):
        exp.cells[("Theo đơn vị", 10 + i, 3)] = _scaled(add(today[unit], None, "kp_duyet"), 10**9)
    exp.listed = ["UBND xã Nghi Kim"] if any(today["NGHI_KIM"].values()) else []
    return buf.getvalue(), exp


def form_f(yesterday: dict[str, Values], today: dict[str, Values]) -> tuple[bytes, Expected]:
    """.docx, units as rows with "Trong kỳ" / "Lũy kế" under each measure (a header over three
    rows, gridSpan and vMerge), money in "tr.đ", last period's figures left in the cells,
    unit names as the district writes them, the date line in the letterhead table."""
    import docx

    document = docx.Document()
    letterhead = document.add_table(rows=2, cols=2)
    letterhead.cell(0, 0).text = "UBND HUYỆN YÊN THÀNH"
    letterhead.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    letterhead.cell(1, 1).text = "Yên Thành, ngày    tháng    năm 20.."
    document.add_paragraph("BÁO CÁO TIẾN ĐỘ HỖ TRỢ THEO ĐƠN VỊ")
    rows: list[list[str | None]] = [
        ["STT", "Đơn vị", "Kết quả", None, None, None],
        [None, None, "Số hộ được duyệt", None, "Kinh phí đã cấp (tr.đ)", None],
        [None, None, "Trong kỳ", "Lũy kế", "Trong kỳ", "Lũy kế"],
        ["1", "Hưng Đông", "12", "340", "1,5", "99"],
        ["2", "UBND phường Lê Lợi", "-", None, None, None],
        ["3", "Quán Hành", None, None, None, None],
        ["4", "Nghi Kim", None, None, None, None],
        ["5", "Hội Chữ thập đỏ", None, None, None, None],
        [None, "Tổng cộng", None, None, None, None],
    ]
    table = document.add_table(rows=len(rows), cols=6)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                table.cell(r, c).paragraphs[0].add_run(value)
    for r1, c1, r2, c2 in ((0, 0, 2, 0), (0, 1, 2, 1), (0, 2, 0, 5), (1, 2, 1, 3), (1, 4, 1, 5)):
        table.cell(r1, c1).merge(table.cell(r2, c2))
    buf = io.BytesIO()
    document.save(buf)

    change = changes(yesterday, today)
    units = ["HUNG_DONG", "LE_LOI", "QUAN_HANH", "NGHI_KIM", "CTD", "ALL"]
    exp = Expected("F .docx, units, Trong kỳ / Lũy kế, tr.đ, old figures in the cells")
    for i, unit in enumerate(units):
        r = 4 + i
        for c, (meas, span) in {
            3: ("ho_duyet", "p"),
            4: ("ho_duyet", "t"),
            5: ("kp_cap", "p"),
            6: ("kp_cap", "t"),
        }.items():
            scale = 10**6 if meas == "kp_cap" else 1
            if unit == "ALL":
                source = totals({u: v for u, v in change.items() if v is not None}) if span == "p" else totals(today)
            elif span == "p":
                source = change[unit] or {}
            else:
                source = today[unit]
            exp.cells[("2", r, c)] = _scaled(add(source, None, meas), scale)
    exp.cells[("2", 5, 3)] = exp.cells[("2", 5, 3)] if exp.cells[("2", 5, 3)] is not None else "-"
    exp.cells[("1", 2, 2)] = "Yên Thành, ngày 20 tháng 9 năm 2024"
    exp.listed = ["Phòng Nông nghiệp và Phát triển nông thôn"] if any(today["NN_PTNT"].values()) else []
    return buf.getvalue(), exp


def form_g(yesterday: dict[str, Values], today: dict[str, Values]) -> tuple[bytes, Expected]:
    """.xlsx, units as rows with a code column, money approved split into "Tổng số" and
    "Trong đó: đã cấp" (a measure of its own under another's heading), in triệu đồng."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Biểu 03"
    ws.append(["STT", "Mã ĐV", "Tên đơn vị", "Số hộ đề nghị", "Kinh phí được duyệt (triệu đồng)", None])  # 1
    ws.append([None, None, None, None, "Tổng số", "Trong đó: đã cấp"])  # 2
    for ref in ("A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:F1"):
        ws.merge_cells(ref)
    order = ["HUNG_DONG", "LE_LOI", "QUAN_HANH", "NGHI_KIM", "NN_PTNT", "CTD"]
    for n, unit in enumerate(order, 1):
        ws.append([n, f"DV{n:02d}", UNITS[unit][0]])  # rows 3..8
    ws.append([None, None, "Toàn huyện", "=SUM(D3:D8)", "=SUM(E3:E8)", "=SUM(F3:F8)"])  # 9
    buf = io.BytesIO()
    wb.save(buf)
    exp = Expected("G .xlsx, units, code column, 'Tổng số' / 'Trong đó: đã cấp'")
    for i, unit in enumerate(order):
        r = 3 + i
        exp.cells[("Biểu 03", r, 4)] = add(today[unit], None, "ho_de_nghi")
        exp.cells[("Biểu 03", r, 5)] = _scaled(add(today[unit], None, "kp_duyet"), 10**6)
        exp.cells[("Biểu 03", r, 6)] = _scaled(add(today[unit], None, "kp_cap"), 10**6)
    for c, col in zip((4, 5, 6), "DEF", strict=True):
        exp.cells[("Biểu 03", 9, c)] = f"=SUM({col}3:{col}8)"
    return buf.getvalue(), exp


FORMS = {"a-chinh-sach.xlsx": form_a, "b-cuu-doi.xlsx": form_b, "c-bao-cao-nhanh.docx": form_c}
FORMS |= {"d-theo-don-vi.docx": form_d, "e-tuan.xlsx": form_e}
FORMS |= {"f-ky-luy-ke.docx": form_f, "g-ma-don-vi.xlsx": form_g}


# ---------------------------------------------------------------------------------- filling and scoring


def day_figures(cfg, yesterday: dict[str, Values], today: dict[str, Values]):  # type: ignore[no-untyped-def]
    """The day's view as the product builds it from each unit's counting reports, and its figures."""
    from service.day.dayview import UnitDay, day_view
    from service.outputs.upward import figures_of_day

    deadline = dt.datetime.combine(DAY, dt.time(16), tzinfo=dt.timezone(dt.timedelta(hours=7)))
    units = []
    for unit in cfg.units:
        y, t = yesterday[unit.code], today[unit.code]
        if unit.code == SILENT:
            units.append(UnitDay(unit, "missing", None, {}, (), {}, None, {}, None, day=DAY))
        elif unit.code == STALE:
            units.append(UnitDay(unit, "missing", None, {}, (), y, YESTERDAY, y, None, day=DAY))
        else:
            units.append(UnitDay(unit, "on_time", None, t, (), t, DAY, y, YESTERDAY if y else None, day=DAY))
    return figures_of_day(day_view(DAY, True, deadline, units), cumulative=True)


def vi_number(value: Decimal) -> str:
    """A figure as a Vietnamese document writes it: 1.234.567,5."""
    text = f"{value.normalize():f}"
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ".".join(groups) + ("," + frac if frac else "")


def read_back(path: Path, data: bytes) -> dict[tuple[str, int, int], object]:
    if path.suffix == ".xlsx":
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data))
        return {(ws.title, c.row, c.column): c.value for ws in book for row in ws.iter_rows() for c in row}
    import docx

    document = docx.Document(io.BytesIO(data))
    out: dict[tuple[str, int, int], object] = {}
    for n, table in enumerate(document.tables, 1):
        for r, row in enumerate(table.rows, 1):
            for c, cell in enumerate(row.cells, 1):
                out[(str(n), r, c)] = cell.text
    for n, p in enumerate(document.paragraphs, 1):
        out[("p", n, 0)] = p.text
    return out


def same(path: Path, want: object, got: object) -> bool:
    if path.suffix == ".docx":
        if isinstance(want, Decimal):
            return got == vi_number(want)
        return (got or "") == (want or "")
    if isinstance(want, Decimal):
        return isinstance(got, (int, float)) and not isinstance(got, bool) and Decimal(str(got)) == want
    return got == want


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("/tmp/baocao-unseen-upward"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    from service.config import load_config
    from service.outputs.upward import fill_upward

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.toml").write_text(config_toml(), encoding="utf-8")
    cfg = load_config(args.out / "config.toml", env={}, require_secrets=False)
    yesterday, today = draw(args.seed)
    figures = day_figures(cfg, yesterday, today)
    all_right = all_cells = all_listed = all_found = 0
    print(f"seed {args.seed}, day {DAY:%d/%m/%Y}")
    print("| form | cells | right | listed as not filled (expected) | found |")
    print("|---|---|---|---|---|")
    for name, build in FORMS.items():
        data, exp = build(yesterday, today)
        template = args.out / name
        template.write_bytes(data)
        filled = fill_upward(template, figures, cfg.form, language="vi")
        (args.out / f"filled-{name}").write_bytes(filled.data)
        got = read_back(template, filled.data)
        wrong = [(k, v, got.get(k)) for k, v in exp.cells.items() if not same(template, v, got.get(k))]
        found = [w for w in exp.listed if any(w in u for u in filled.unmatched)]
        right = len(exp.cells) - len(wrong)
        print(f"| {exp.name} | {len(exp.cells)} | {right} | {len(exp.listed)} | {len(found)} |")
        all_right, all_cells = all_right + right, all_cells + len(exp.cells)
        all_listed, all_found = all_listed + len(exp.listed), all_found + len(found)
        if args.verbose or wrong:
            for key, want, have in wrong:
                print(f"    {name} {key}: expected {want!r}, found {have!r}")
        if args.verbose:
            for line in filled.unmatched:
                print(f"    listed: {line}")
            for line in filled.notes:
                print(f"    note: {line}")
    print(f"| all | {all_cells} | {all_right} | {all_listed} | {all_found} |")
    return 0 if all_right == all_cells and all_found == all_listed else 1


if __name__ == "__main__":
    sys.exit(main())
