"""Messages in the shapes units' mail clients give them: forwarded, replied to, signed,
invitations. Each is tied to the unit that sent it, or to none when its files are not
that unit's report."""

from __future__ import annotations

import base64
import datetime as dt
import email
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from service.config import load_config
from service.ingest.analysis import Routing, analyse_message
from service.ingest.pipeline import routing_for
from storage.kinds import AUTOMATIC, REPORT, UNASSIGNED
from tests.mailbuilders import EXAMPLE_CONFIG, simple_report

DAY = dt.date(2021, 8, 11)


@pytest.fixture(scope="module")
def routing() -> Routing:
    return routing_for(load_config(EXAMPLE_CONFIG, require_secrets=False))


def forwarded_as_attachment(sender: str, original: bytes) -> bytes:
    """`original` forwarded by `sender` "as attachment" (Outlook, Thunderbird): message/rfc822."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "baocao.ldtbxh@example.gov.vn"
    msg["Subject"] = "Fwd: Báo cáo NQ68"
    msg["Date"] = "Wed, 11 Aug 2021 09:00:00 +0700"
    msg["Message-ID"] = "<fwd-1@example.gov.vn>"
    msg.set_content("Chuyển tiếp báo cáo.")
    msg.add_attachment(email.message_from_bytes(original, policy=default))
    return msg.as_bytes(policy=SMTP)


def test_a_unit_forwarding_its_own_report_as_an_attachment_reports(routing: Routing) -> None:
    raw = forwarded_as_attachment("bhxh.tp@example.gov.vn", simple_report("bhxh.tp@example.gov.vn"))
    a = analyse_message(raw, routing, DAY)
    assert (a.kind, a.unit_code) == (REPORT, "BHXH")
    assert a.values["dao_tao"]["de_nghi"] == 46


def test_another_units_report_forwarded_as_an_attachment_counts_for_neither(routing: Routing) -> None:
    """TCKH forwards BHXH's report: the figures are BHXH's, never TCKH's."""
    raw = forwarded_as_attachment("tckh.tp@example.gov.vn", simple_report("bhxh.tp@example.gov.vn"))
    a = analyse_message(raw, routing, DAY)
    assert (a.kind, a.unit_code, a.reason, a.reason_detail) == (UNASSIGNED, None, "forwarded_other_unit", "BHXH")
    assert a.values["dao_tao"]["de_nghi"] == 46  # kept as evidence


GMAIL_FORWARD = (
    "Chuyển tiếp báo cáo.\n\n---------- Forwarded message ---------\nFrom: BHXH <bhxh.tp@example.gov.vn>\n"
    "Date: Wed, Aug 11, 2021 at 8:00 AM\nSubject: Báo cáo NQ68\nTo: <baocao.ldtbxh@example.gov.vn>\n\nKính gửi\n"
)
OUTLOOK_HEADER = (
    "\n\nFrom: BHXH <bhxh.tp@example.gov.vn>\nSent: Wednesday, August 11, 2021 8:00 AM\nTo: baocao\nSubject: x\n"
)


@pytest.mark.parametrize(
    ("sender", "subject", "body", "unit"),
    [
        ("bhxh.tp@example.gov.vn", "Fwd: Báo cáo NQ68", GMAIL_FORWARD, "BHXH"),  # its own report again
        ("tckh.tp@example.gov.vn", "Fwd: Báo cáo NQ68", GMAIL_FORWARD, None),
        ("tckh.tp@example.gov.vn", "FW: Báo cáo NQ68", "FYI" + OUTLOOK_HEADER, None),  # Outlook's forward
        ("tckh.tp@example.gov.vn", "RE: Báo cáo NQ68", "Gửi báo cáo" + OUTLOOK_HEADER, "TCKH"),  # a reply
    ],
)
def test_a_report_forwarded_inline_counts_only_for_the_unit_it_came_from(routing, sender, subject, body, unit) -> None:
    """Gmail's "Forwarded message" with the file re-attached: another unit's report
    forwarded by a unit counts for neither; a reply quoting another unit's mail is the
    sender's own."""
    a = analyse_message(simple_report(sender, subject=subject, body=body), routing, DAY)
    assert a.unit_code == unit
    assert (a.kind, a.reason) == ((REPORT, None) if unit else (UNASSIGNED, "forwarded_other_unit"))
    assert a.values["dao_tao"]["de_nghi"] == 46


def test_a_forward_by_someone_who_is_no_unit_is_unassigned(routing: Routing) -> None:
    """The coordinator's colleague forwards a unit's report: an unknown sender (PRODUCT.md:
    a unit reports from its own addresses), shown in the digest, never counted."""
    raw = forwarded_as_attachment("nguyenvana@example.gov.vn", simple_report("bhxh.tp@example.gov.vn"))
    a = analyse_message(raw, routing, DAY)
    assert (a.kind, a.unit_code, a.reason) == (UNASSIGNED, None, "unknown_sender")


ICS = (
    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nSUMMARY:Họp giao ban\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bhxh.tp@example.gov.vn\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def calendar_reply(extra: tuple[str, str, bytes] | None = None) -> bytes:
    """Outlook's answer to a meeting invitation: text, HTML and text/calendar alternatives."""
    msg = EmailMessage()
    msg["From"] = "bhxh.tp@example.gov.vn"
    msg["To"] = "baocao.ldtbxh@example.gov.vn"
    msg["Subject"] = "Accepted: Họp giao ban"
    msg["Date"] = "Wed, 11 Aug 2021 09:00:00 +0700"
    msg["Message-ID"] = "<cal-1@example.gov.vn>"
    msg.set_content("Đồng ý tham dự")
    msg.add_alternative("<p>Đồng ý tham dự</p>", subtype="html")
    msg.add_alternative(ICS, subtype="calendar", params={"method": "REPLY"})
    if extra:
        name, ctype, data = extra
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=SMTP)


@pytest.mark.parametrize("extra", [None, ("invite.ics", "application/ics", ICS.encode())])
def test_a_units_answer_to_a_meeting_invitation_is_not_a_report(routing: Routing, extra) -> None:
    """Not an unreadable report (the unit would show as having reported), not answered."""
    a = analyse_message(calendar_reply(extra), routing, DAY)
    assert (a.kind, a.unit_code) == (AUTOMATIC, "BHXH")
    assert "calendar" in (a.reason_detail or "")


def test_a_report_sent_with_an_invitation_is_still_a_report(routing: Routing) -> None:
    from tests.mailbuilders import XLSX, report_workbook

    book = report_workbook({"Hỗ trợ đào tạo": {"Số đối tượng đề nghị hỗ trợ": 46}})
    a = analyse_message(calendar_reply(("bao-cao.xlsx", XLSX, book)), routing, DAY)
    assert (a.kind, a.unit_code) == (REPORT, "BHXH")
    assert a.values["dao_tao"]["de_nghi"] == 46


def _certificate(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bhxh.tp@example.gov.vn")])
    now = dt.datetime(2021, 8, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def smime(how: str) -> bytes:
    """The clean report sent S/MIME `how` ("signed": opaque-signed, "encrypted") as
    Outlook sends it: one application/pkcs7-mime body, smime.p7m."""
    raw = simple_report()
    head, _, body = raw.partition(b"\r\n\r\n")
    fields = head.split(b"\r\n")
    is_content = [f.lower().startswith((b"content-", b"mime-version")) or f[:1] in (b" ", b"\t") for f in fields]
    # (the report's own Content-Type is one line; its folds, if any, are never outer fields)
    entity = b"\r\n".join(f for f, c in zip(fields, is_content, strict=True) if c and not f.lower().startswith(b"mime"))
    entity += b"\r\n\r\n" + body
    outer = b"\r\n".join(f for f, c in zip(fields, is_content, strict=True) if not c)
    if how == "signed":
        key = ec.generate_private_key(ec.SECP256R1())
        der = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(entity)
            .add_signer(_certificate(key), key, hashes.SHA256())
            .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
        )
        kind = b"signed-data"
    else:  # (encryption to an RSA key: the recipient's certificate)
        recipient = _certificate(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        der = (
            pkcs7.PKCS7EnvelopeBuilder()
            .set_data(entity)
            .add_recipient(recipient)
            .encrypt(serialization.Encoding.DER, [])
        )
        kind = b"enveloped-data"
    return (
        outer
        + b"\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type="
        + kind
        + b"; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n"
        + base64.encodebytes(der).replace(b"\n", b"\r\n")
    )


def test_an_opaque_signed_report_is_read(routing: Routing) -> None:
    """S/MIME signed-data: the report inside the signature, read as if unsigned."""
    a = analyse_message(smime("signed"), routing, DAY)
    assert (a.kind, a.unit_code, a.readable) == (REPORT, "BHXH", True)
    assert [i.filename for i in a.attachments] == ["bao-cao.xlsx"]
    assert a.values["dao_tao"]["de_nghi"] == 46 and a.parsed.subject == "Báo cáo NQ68"


def test_an_encrypted_report_is_named_encrypted(routing: Routing) -> None:
    a = analyse_message(smime("encrypted"), routing, DAY)
    assert (a.kind, a.unit_code, a.readable) == (REPORT, "BHXH", False)
    assert [(p.code, p.params["file"]) for p in a.problems] == [("encrypted_file", "smime.p7m")]


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30", b"\x30\x80" * 5000, b"\x30\x84\xff\xff\xff\xff", b"\x30\x03\x06\x01\x00", b"0,1,2\r\n3,4,5\r\n"],
)
def test_a_broken_or_hostile_cms_object_is_no_signed_content(data: bytes) -> None:
    from parsers.smime import cms_kind, signed_content

    assert signed_content(data) is None and cms_kind(data) is None
