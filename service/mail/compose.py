"""The one MIME composer: every mail baocao writes (the digest, acknowledgements, notices,
reminders, and the sample reports of `baocao demo`) is made here.

A text part, optionally an HTML alternative, then the attachments: with attachments it is
multipart/mixed holding the body, without any it is the body alone.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import re
from collections.abc import Mapping, Sequence
from email.generator import BytesGenerator
from email.message import EmailMessage

# (file name, content type, bytes)
File = tuple[str, str, bytes]


def compose(
    *,
    sender: str | None,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    date: dt.datetime | None = None,
    message_id: str | None = None,
    cc: Sequence[str] = (),
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    files: Sequence[File] = (),
    auto_submitted: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A mail ready to send. `auto_submitted` ("auto-generated", "auto-replied") marks it
    automatic so that no auto-responder answers it (RFC 3834). `sender` None: no From
    field (a draft written to a file, never sent)."""
    msg = EmailMessage()
    if sender is not None:
        msg["From"] = sender
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if date is not None:
        msg["Date"] = email.utils.format_datetime(date)
    if message_id:
        msg["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    msg["Subject"] = subject
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(dict.fromkeys(references))
    for name, value in (headers or {}).items():
        msg[name] = value
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    return add_body(msg, text, html, files)


def add_body(msg: EmailMessage, text: str, html: str | None = None, files: Sequence[File] = ()) -> EmailMessage:
    """`msg` given its parts: the text, the HTML alternative, then the attachments."""
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    for name, content_type, data in files:
        main, _, sub = content_type.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg


def address(name: str | None, addr: str) -> str:
    """`Name <addr>` as a header value (just `addr` without a name)."""
    return email.utils.formataddr((name or "", addr))


def message_bytes(msg: EmailMessage, linesep: str | None = None) -> bytes:
    """`msg.as_bytes()` (with `linesep`, the policy's line ends changed), the same bytes
    made faster: the standard generator writes each line of a part on its own, and a
    digest's attachments are tens of thousands of lines of base64."""
    policy = msg.policy if linesep is None else msg.policy.clone(linesep=linesep)
    out = io.BytesIO()
    _LinesAtOnce(out, mangle_from_=False, policy=policy).flatten(msg, unixfrom=False)
    return out.getvalue()


_LINE_ENDS = re.compile(r"\r\n|\r|\n")  # email.generator's NLCRE


class _LinesAtOnce(BytesGenerator):
    """A BytesGenerator that writes a part's lines, their ends made the policy's, in one go."""

    def _write_lines(self, lines: str) -> None:
        if not lines:
            return
        parts = _LINE_ENDS.split(lines)
        # as Generator._write_lines: each line but the last with the line end, the last as it is
        if len(parts) > 1:
            self.write(self._NL.join(parts[:-1]) + self._NL)  # type: ignore[attr-defined]
        if parts[-1]:
            self.write(parts[-1])
