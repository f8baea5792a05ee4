"""OpenDocument spreadsheets: .ods packages and flat .fods files, built in code."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape

from parsers.report import read_attachment
from parsers.sniff import sniff_format
from tests.unit.builders import FORM

DAY = dt.date(2021, 8, 16)
NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"'
)
MIME = "application/vnd.oasis.opendocument.spreadsheet"


def cell(value: object = None, *, cols: int = 1, rows: int = 1, repeat: int = 1) -> str:
    attrs = ""
    if cols > 1 or rows > 1:
        attrs += f' table:number-columns-spanned="{cols}" table:number-rows-spanned="{rows}"'
    if repeat > 1:
        attrs += f' table:number-columns-repeated="{repeat}"'
    if value is None:
        return f"<table:table-cell{attrs}/>"
    if isinstance(value, (int, float)):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}"{attrs}>'
            f"<text:p>{str(value).replace('.', ',')}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"{attrs}><text:p>{escape(str(value))}</text:p></table:table-cell>'
    )


COVERED = "<table:covered-table-cell/>"


def table(name: str, rows: list[str], tail_repeat: int = 1_048_000) -> str:
    body = "".join(f"<table:table-row>{r}</table:table-row>" for r in rows)
    empty = (
        f'<table:table-row table:number-rows-repeated="{tail_repeat}"><table:table-cell '
        f'table:number-columns-repeated="1024"/></table:table-row>'
    )
    return f'<table:table table:name="{escape(name)}">{body}{empty}</table:table>'


REPORT_ROWS = [
    cell("Số liệu tính đến ngày 16/08/2021"),
    cell("STT", rows=2)
    + cell("Nội dung", rows=2)
    + cell("Số đối tượng", cols=2)
    + COVERED
    + cell("Kinh phí (triệu đồng)", cols=2)
    + COVERED,
    COVERED + COVERED + cell("Đề nghị hỗ trợ") + cell("Được phê duyệt") + cell("Được phê duyệt") + cell("Đã chi trả"),
    cell(1) + cell("Hỗ trợ hộ kinh doanh") + cell(1331) + cell(1286) + cell(110.12) + cell("-"),
]


def content(*tables: str, active: str | None = None) -> str:
    settings = ""
    if active:
        settings = (
            '<office:settings><config:config-item-set config:name="ooo:view-settings">'
            f'<config:config-item config:name="ActiveTable" config:type="string">{active}'
            "</config:config-item></config:config-item-set></office:settings>"
        )
    return settings, f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"


def ods(*tables: str, active: str | None = None, manifest_extra: str = "", prolog: str = "") -> bytes:
    settings, body = content(*tables, active=active)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), MIME)
        zf.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
            f'"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">{manifest_extra}</manifest:manifest>',
        )
        zf.writestr(
            "content.xml",
            f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
            f"<office:document-content {NS}>{body}</office:document-content>",
        )
        if settings:
            zf.writestr(
                "settings.xml",
                f'<?xml version="1.0"?><office:document-settings {NS}>{settings}</office:document-settings>',
            )
    return buf.getvalue()


def fods(*tables: str, active: str | None = None) -> bytes:
    settings, body = content(*tables, active=active)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document {NS} office:version="1.3" '
        f'office:mimetype="{MIME}">{settings}{body}</office:document>'
    ).encode()


WANT = {"ho_kinh_doanh": {"de_nghi": 1331, "phe_duyet": 1286, "kinh_phi": 110_120_000}}


def test_ods_with_a_merged_two_row_header() -> None:
    result = read_attachment("bc.ods", "", ods(table("Sheet1", REPORT_ROWS)), FORM, DAY)
    assert (result.outcome, result.detected_format, result.values, result.as_of) == ("read", "ods", WANT, DAY)
    assert result.problems == ()


def test_flat_fods() -> None:
    data = fods(table("Sheet1", REPORT_ROWS))
    assert sniff_format(data, "bc.fods") == "fods"
    assert sniff_format(data, "bc.xml") == "fods"
    result = read_attachment("bc.fods", "", data, FORM, DAY)
    assert (result.outcome, result.values) == ("read", WANT)


def test_ods_named_xlsx_is_read_by_its_content() -> None:
    result = read_attachment("bc.xlsx", "", ods(table("Sheet1", REPORT_ROWS)), FORM, DAY)
    assert (result.detected_format, result.values) == ("ods", WANT)


def test_the_active_sheet_is_taken() -> None:
    other = [r.replace("1331", "9").replace(">1.331<", ">9<") for r in REPORT_ROWS]
    data = ods(table("16.8 cũ", other), table("Báo cáo", REPORT_ROWS), active="Báo cáo")
    result = read_attachment("bc.ods", "", data, FORM, None)
    assert (result.sheet, result.sheet_reason, result.values) == ("Báo cáo", "active", WANT)


def test_a_row_repeated_a_million_times_is_not_expanded() -> None:
    rows = [*REPORT_ROWS, cell("x") + cell(5, repeat=100_000)]
    result = read_attachment("bc.ods", "", ods(table("Sheet1", rows, tail_repeat=1_048_000)), FORM, DAY)
    assert result.values == WANT
    assert any(p.code == "over_limit" and p.params["limit"] == "columns" for p in result.problems)


def test_a_dtd_in_content_is_refused() -> None:
    data = ods(table("Sheet1", REPORT_ROWS), prolog='<!DOCTYPE x [<!ENTITY a "aaaa">]>')
    result = read_attachment("bc.ods", "", data, FORM, DAY)
    assert (result.outcome, [p.code for p in result.problems]) == ("unreadable", ["unsafe_file"])


def test_a_password_protected_ods_is_named() -> None:
    data = ods(
        table("Sheet1", REPORT_ROWS),
        manifest_extra="<manifest:file-entry><manifest:encryption-data/></manifest:file-entry>",
    )
    result = read_attachment("bc.ods", "", data, FORM, DAY)
    assert [p.code for p in result.problems] == ["encrypted_file"]
