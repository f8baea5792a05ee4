"""The body of a message as parse_message gives it: the HTML kept, its text by lines,
and the images it shows inline (a logo, a signature) not counted as attachments."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from email.message import EmailMessage
from email.policy import SMTP

from parsers.message import parse_message
from service.config import UnitConfig
from service.ingest.analysis import Routing, analyse_message
from tests.unit.builders import FORM, SheetSpec, xlsx

DAY = dt.date(2021, 8, 16)


def png(width: int, height: int, extra: int = 0) -> bytes:
    """A valid PNG header of the given size (the pixels are not needed)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\0" * extra
    )


def html_mail(
    html: str,
    text: str | None = "Xem bảng dưới.",
    images: list[tuple[str, bytes]] = (),
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    """multipart/alternative (text + multipart/related(html + images)), as Outlook sends."""
    msg = EmailMessage()
    msg["From"] = "yte.tp@example.gov.vn"
    msg["To"] = "baocao@example.gov.vn"
    msg["Subject"] = "Báo cáo"
    msg["Message-ID"] = "<m1@example.gov.vn>"
    if text is not None:
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        html_part = msg.get_payload()[1]
    else:
        msg.set_content(html, subtype="html")
        html_part = msg
    for cid, data in images:
        html_part.add_related(
            data, maintype="image", subtype="png", cid=f"<{cid}>", filename=cid.split("@")[0], disposition="inline"
        )
    for name, ctype, data in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=SMTP)


def test_an_inline_logo_shown_by_content_id_is_no_attachment() -> None:
    raw = html_mail(
        '<p>Trân trọng!</p><img src="cid:image001.png@01D79273.5B0F1C40">',
        images=[("image001.png@01D79273.5B0F1C40", png(160, 48))],
    )
    parsed = parse_message(raw)
    assert parsed.attachments == ()
    assert "cid:image001.png" in parsed.body_html


def test_a_large_inline_image_may_be_the_report_and_stays_an_attachment() -> None:
    raw = html_mail('<p>Ảnh báo cáo:</p><img src="cid:scan@x">', images=[("scan@x", png(2304, 1728))])
    assert [a.filename for a in parse_message(raw).attachments] == ["scan"]


def test_an_image_not_shown_by_the_html_stays_an_attachment() -> None:
    raw = html_mail("<p>Trân trọng!</p>", images=[("logo@x", png(160, 48))])
    assert [a.filename for a in parse_message(raw).attachments] == ["logo"]


def test_html_only_message_has_its_text_by_lines() -> None:
    raw = html_mail("<div>Hộ kinh doanh: đề nghị 30 hộ</div><div>Lao động tự do: đề nghị 4 người</div>", text=None)
    parsed = parse_message(raw)
    assert parsed.body_text.splitlines() == ["Hộ kinh doanh: đề nghị 30 hộ", "", "Lao động tự do: đề nghị 4 người"]


def routing() -> Routing:
    unit = UnitConfig(code="YTE", name="Phòng Y tế", group="", senders=("yte.tp@example.gov.vn",), aliases=())
    return Routing(units=(unit,), form=FORM)


TABLE = (
    "<p>Số liệu tính đến ngày 16/08/2021:</p><table><tr><td>STT</td><td>Nội dung</td><td>Số đề nghị</td>"
    "<td>Kinh phí phê duyệt (triệu đồng)</td></tr><tr><td>1</td><td>Hỗ trợ hộ kinh doanh</td><td>25</td>"
    '<td>66,5</td></tr></table><p>Trân trọng!</p><img src="cid:logo@x">'
)


def test_a_message_whose_body_states_the_figures_is_a_readable_report() -> None:
    analysis = analyse_message(html_mail(TABLE, images=[("logo@x", png(160, 48))]), routing(), DAY)
    assert analysis.readable and analysis.unit_code == "YTE"
    assert analysis.values == {"ho_kinh_doanh": {"de_nghi": 25, "kinh_phi": 66_500_000}}
    assert analysis.problems == () and analysis.as_of == DAY and analysis.attachments == ()
    assert analysis.body is not None and analysis.body.source == "body_html"


def test_a_readable_spreadsheet_beats_the_body() -> None:
    book = xlsx(SheetSpec(rows=[["STT", "Nội dung", "Số đề nghị"], [1, "Hỗ trợ hộ kinh doanh", 40]]))
    raw = html_mail(
        TABLE, attachments=[("bc.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", book)]
    )
    analysis = analyse_message(raw, routing(), DAY)
    assert analysis.values == {"ho_kinh_doanh": {"de_nghi": 40}} and analysis.body is None


def test_a_body_figure_without_a_column_is_named_and_the_report_is_not_readable() -> None:
    raw = html_mail("<p>Hộ kinh doanh: 90 hộ.</p>", text="Hộ kinh doanh: 90 hộ.")
    analysis = analyse_message(raw, routing(), DAY)
    assert not analysis.readable and analysis.values == {}
    assert [p.code for p in analysis.problems] == ["uncertain_figure", "no_attachment"]
