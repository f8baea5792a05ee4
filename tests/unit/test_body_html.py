"""Tables pasted from Excel into an HTML email, and HTML pages Excel saved: one quirk per test."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from parsers.body import read_body
from parsers.model import ReadLimits
from parsers.readers.html import html_text, parse_html, read_html, tables_of
from parsers.report import read_attachment
from tests.unit.builders import FORM
from tests.unit.test_body_text import body, values

DAY = dt.date(2021, 8, 17)


def outlook_cell(text: str, align: str = "right", span: str = "") -> str:
    return (
        f"<td width=89 valign=center {span}style='width:66.8pt;border:solid windowtext 1.0pt;"
        f"mso-border-alt:solid windowtext .5pt;padding:0in 5.4pt 0in 5.4pt'><p class=MsoNormal "
        f"align={align} style='text-align:{align}'><span style='font-size:12.0pt;font-family:"
        f'"Times New Roman",serif;color:black\'>{text}<o:p></o:p></span></p></td>'
    )


def outlook_page(rows: list[list[str]], before: str = "", after: str = "") -> str:
    """Word HTML as Outlook writes a pasted Excel range: MsoNormalTable, mso- styles, <o:p>."""
    trs = "\n".join(
        "<tr style='height:15.75pt'>"
        + "".join(cell if cell.startswith("<td") else outlook_cell(cell) for cell in row)
        + "</tr>"
        for row in rows
    )
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv=Content-Type '
        'content="text/html; charset=utf-8"><style><!-- p.MsoNormal {margin:0in;} --></style>'
        '<!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]-->'
        "</head><body lang=EN-US><div class=WordSection1>"
        f"<p class=MsoNormal>{before}<o:p></o:p></p>"
        "<table class=MsoNormalTable border=0 cellspacing=0 cellpadding=0 style='border-collapse:collapse'>"
        f"\n{trs}\n</table><p class=MsoNormal><o:p>&nbsp;</o:p></p>{after}</div></body></html>"
    )


HEADER = [
    "STT",
    "Nội dung chính sách",
    "Số đối tượng đề nghị hỗ trợ",
    "Số đối tượng được phê duyệt",
    "Kinh phí được phê duyệt (triệu đồng)",
]


def test_outlook_word_html_table_is_read_like_a_spreadsheet() -> None:
    html = outlook_page(
        [HEADER, ["1", "Hỗ trợ hộ kinh doanh", "1.331", "1.286", "110,12"]],
        before="Số liệu tính đến ngày 17/08/2021 như sau:",
        after="<p class=MsoNormal>Trân trọng!</p><p class=MsoNormal>ĐT: 0209.3811.246</p>",
    )
    result = read_body(body("(plain text)", html), FORM, DAY)
    assert result is not None
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 1331, "phe_duyet": 1286, "kinh_phi": 110_120_000}}
    assert (result.source, result.outcome, result.as_of, result.problems) == ("body_html", "read", DAY, ())


def test_money_whose_scale_is_stated_nowhere_is_flagged_in_the_default_scale() -> None:
    # no "(triệu đồng)" in the header and no "Đơn vị tính" line: the form's default scale
    # is an assumption the email does not confirm
    header = [*HEADER[:-1], "Kinh phí được phê duyệt"]
    html = outlook_page([header, ["1", "Hỗ trợ hộ kinh doanh", "1.331", "1.286", "110,12"]])
    result = read_body(body("(plain text)", html), FORM, DAY)
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 1331, "phe_duyet": 1286, "kinh_phi": 110_120_000}}
    assert result is not None
    (problem,) = result.problems
    assert (problem.code, problem.params["reason"]) == ("uncertain_figure", "scale_not_stated")
    assert (problem.params["indicator_code"], problem.params["measure_code"]) == ("ho_kinh_doanh", "kinh_phi")
    assert problem.params["text"] == "110,12"


def test_money_whose_scale_a_line_above_the_table_states_is_not_flagged() -> None:
    header = [*HEADER[:-1], "Kinh phí được phê duyệt"]
    html = outlook_page(
        [header, ["1", "Hỗ trợ hộ kinh doanh", "1.331", "1.286", "110,12"]],
        before="Đơn vị tính: hộ; tiền: nghìn đồng",
    )
    result = read_body(body("(plain text)", html), FORM, DAY)
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 1331, "phe_duyet": 1286, "kinh_phi": 110_120}}
    assert result is not None and result.problems == ()


def gmail_page(rows: str, before: str = "") -> str:
    return (
        '<div dir="ltr"><div>' + before + '</div><table border="0" cellpadding="0" cellspacing="0" '
        'style="border-collapse:collapse"><colgroup><col width="47"><col width="369"><col width="89">'
        '<col width="89"><col width="103"><col width="103"></colgroup><tbody>' + rows + "</tbody></table></div>"
    )


GMAIL_ROWS = (
    '<tr><td class="gmail-xl66" rowspan="2">STT</td><td class="gmail-xl66" rowspan="2">Nội dung</td>'
    '<td class="gmail-xl66" colspan="2">Số đối tượng</td><td class="gmail-xl66" colspan="2">'
    "Kinh phí (triệu đồng)</td></tr>"
    '<tr><td class="gmail-xl66">Đề nghị hỗ trợ</td><td class="gmail-xl66">Được phê duyệt</td>'
    '<td class="gmail-xl66">Được phê duyệt</td><td class="gmail-xl66">Đã chi trả</td></tr>'
    '<tr><td class="gmail-xl67">1</td><td class="gmail-xl65">Hỗ trợ hộ kinh doanh</td>'
    '<td class="gmail-xl67">25</td><td class="gmail-xl67">22</td><td class="gmail-xl67">66</td>'
    '<td class="gmail-xl67">57,5</td></tr>'
    '<tr><td class="gmail-xl67">2</td><td class="gmail-xl65">Lao động tự do</td>'
    '<td class="gmail-xl67">46</td><td class="gmail-xl67">40</td><td class="gmail-xl67">-</td>'
    '<td class="gmail-xl67">&nbsp;</td></tr>'
)


def test_gmail_table_with_colspan_rowspan_header() -> None:
    result = read_body(body("", gmail_page(GMAIL_ROWS, "Số liệu tính đến ngày 17/08/2021:")), FORM, DAY)
    assert values(result) == {
        "ho_kinh_doanh": {"de_nghi": 25, "phe_duyet": 22, "kinh_phi": 66_000_000, "tien_da_chi": 57_500_000},
        "lao_dong_tu_do": {"de_nghi": 46, "phe_duyet": 40},
    }


def test_colspan_rowspan_become_merged_ranges() -> None:
    grid = tables_of(parse_html(gmail_page(GMAIL_ROWS)), ReadLimits(), "x")
    sheet = grid.sheets[0]
    assert set(sheet.merged) == {(1, 1, 2, 1), (1, 2, 2, 2), (1, 3, 1, 4), (1, 5, 1, 6)}
    assert sheet.cells[(2, 3)].text == "Đề nghị hỗ trợ" and sheet.cells[(3, 6)].text == "57,5"


def test_a_quoted_older_table_in_gmail_is_not_read() -> None:
    old = gmail_page(GMAIL_ROWS.replace(">25<", ">99<"))
    html = (
        '<div dir="ltr">Gửi bổ sung: Hộ kinh doanh đề nghị 30 hộ.</div>'
        '<div class="gmail_quote"><div class="gmail_attr">Vào Th 2, 16 thg 8 ... đã viết:</div>'
        f'<blockquote class="gmail_quote">{old}</blockquote></div>'
    )
    assert values(read_body(body("", html), FORM, DAY)) == {"ho_kinh_doanh": {"de_nghi": 30}}


def test_outlook_reply_header_without_markup_ends_the_own_text() -> None:
    old = outlook_page([HEADER, ["1", "Hỗ trợ hộ kinh doanh", "99", "98", "97"]])
    reply_header = (
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in'>"
        "<p class=MsoNormal><b>From:</b> Phòng LĐTBXH<br><b>Sent:</b> Monday, August 16, 2021<br>"
        "<b>To:</b> ketoan@x.vn<br><b>Subject:</b> Báo cáo</p></div>"
    )
    own = "<p class=MsoNormal>Hộ kinh doanh: đề nghị 30 hộ.</p>"
    html = old.replace("<div class=WordSection1>", "<div class=WordSection1>" + own + reply_header)
    result = read_body(body("", html), FORM, DAY)
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 30}}


def test_outlook_divrplyfwdmsg_and_everything_after_it_is_history() -> None:
    old = outlook_page([HEADER, ["1", "Hỗ trợ hộ kinh doanh", "99", "98", "97"]])
    html = old.replace(
        "<div class=WordSection1>",
        '<div class=WordSection1><p>Đã nhận, cảm ơn.</p><div id="divRplyFwdMsg"><b>From:</b> x</div>',
    )
    assert read_body(body("", html), FORM, DAY) is None


def test_html_body_without_a_table_reads_its_text_by_lines() -> None:
    html = (
        "<div>Hộ kinh doanh: đề nghị 30 hộ,</div><div>Lao động tự do: đề nghị 46 người.</div>"
        "<div>Trân trọng!</div><div>ĐT: 0209.3870.215</div>"
    )
    text = html_text(html)
    assert text.splitlines() == [
        "Hộ kinh doanh: đề nghị 30 hộ,",
        "",
        "Lao động tự do: đề nghị 46 người.",
        "",
        "Trân trọng!",
        "",
        "ĐT: 0209.3870.215",
    ]
    assert values(read_body(body(text, html), FORM, DAY)) == {
        "ho_kinh_doanh": {"de_nghi": 30},
        "lao_dong_tu_do": {"de_nghi": 46},
    }


def test_html_table_rows_render_as_tab_separated_lines() -> None:
    assert html_text("<p>a<br>b</p><table><tr><td><p>x</p><p>y</p></td><td>2</td></tr></table>") == "a\nb\n\nx y\t2"


def test_hidden_rows_and_script_are_not_read() -> None:
    rows = GMAIL_ROWS.replace(
        '<tr><td class="gmail-xl67">2</td>', '<tr style="display:none"><td class="gmail-xl67">2</td>'
    )
    html = "<script>var x = '<table>';</script>" + gmail_page(rows)
    assert set(values(read_body(body("", html), FORM, DAY))) == {"ho_kinh_doanh"}


def test_entities_are_not_expanded_and_nothing_is_fetched() -> None:
    page = (
        b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY big "' + b"A" * 100 + b'">'
        b'<!ENTITY ext SYSTEM "http://127.0.0.1:9/x">]><html><body><table><tr><td>&big;&ext;</td>'
        b"<td>Ho kinh doanh</td></tr></table></body></html>"
    )
    grid = read_html(page, ReadLimits(), "x.htm")
    texts = [c.text for s in grid.sheets for c in s.cells.values()]
    assert all("A" * 100 not in t for t in texts)


# ---- HTML files saved from Excel ------------------------------------------------------------

EXCEL_HTM = (
    '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta http-equiv=Content-Type '
    'content="text/html; charset=utf-8"></head><body><table x:str border=0 cellpadding=0 cellspacing=0>'
    "<tr><td>Đơn vị: UBND phường Đức Xuân</td></tr>"
    "<tr><td>STT</td><td>Nội dung</td><td>Số đề nghị</td><td>Kinh phí phê duyệt (triệu đồng)</td></tr>"
    '<tr><td x:num>1</td><td>Hỗ trợ hộ kinh doanh</td><td align=right x:num="1331">1.331</td>'
    '<td align=right x:num="110.123456">110,12</td></tr></table></body></html>'
)


def test_a_page_saved_from_excel_is_read_with_its_cell_values() -> None:
    result = read_attachment("bao-cao.htm", "text/html", EXCEL_HTM.encode(), FORM, DAY)
    assert (result.outcome, result.detected_format, result.source) == ("read", "html", "spreadsheet")
    assert values(result) == {"ho_kinh_doanh": {"de_nghi": 1331, "kinh_phi": 110_123_456}}
    assert result.unit_text == "UBND phường Đức Xuân"


def test_an_excel_page_named_xls_is_read() -> None:
    result = read_attachment("bao-cao.xls", "application/vnd.ms-excel", EXCEL_HTM.encode(), FORM, DAY)
    assert result.outcome == "read" and values(result)["ho_kinh_doanh"]["de_nghi"] == 1331


def test_single_file_web_page_mht() -> None:
    msg = EmailMessage()
    msg["MIME-Version"] = "1.0"
    msg.make_related()
    msg.add_related(EXCEL_HTM, subtype="html", charset="utf-8")
    msg.add_related(b"\x89PNG\r\n\x1a\n", maintype="image", subtype="png", filename="image001.png")
    data = msg.as_bytes()
    assert data.lower().startswith(b"mime-version")
    result = read_attachment("bao-cao.mht", "", data, FORM, DAY)
    assert result.outcome == "read" and values(result)["ho_kinh_doanh"]["kinh_phi"] == 110_123_456
