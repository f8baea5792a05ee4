"""The digest's content for a day: the view, the originals to attach, the rendered digest,
and the files a dry run writes. No SMTP, no claim (service.schedule.dispatch sends).

Kept apart from the sending side so that `baocao digest --dry-run` reads through the
database driver (storage.direct) and imports neither SQLAlchemy nor the mail readers
it does not need: a province's digest is measured in seconds (issue 14).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from service.errors import ArchiveError

if TYPE_CHECKING:
    import datetime as dt
    from decimal import Decimal
    from email.message import EmailMessage

    from parsers.model import ParsedMessage
    from service.config import Config
    from service.day.dayview import DayView
    from service.ingest.archive import Archive
    from service.outputs.digest import DigestContent, UnreadFile
    from storage.days import Db

log = logging.getLogger(__name__)

# The problem that names a figure read without certainty (its `file` is attached).
UNCERTAIN = "uncertain_figure"


def build_digest(cfg: Config, db: Db, archive: Archive, day: dt.date, now: dt.datetime) -> DigestContent:
    """The digest's content for `day` as of `now` (messages received after `now` excluded).
    `db` is a SQLAlchemy Session or, for a config without [[reports]], a storage.direct reader."""
    from service.day.dayview import build_day_view
    from service.outputs.digest import render_digest
    from storage.days import reminded_units

    if cfg.reports:  # a report's digest: cfg is reportview.report_config of it
        from service.day.reportview import build_report_view

        view = build_report_view(db, cfg, cfg.reports[0], day, until=now)
        period = view.period
        assert period is not None  # build_report_view sets it
        reminded = reminded_units(db, period.start, period.report, period.end)
    else:
        view = build_day_view(db, cfg, day, until=now)
        reminded = reminded_units(db, day)
    originals = unread_files(view, archive) + flagged_files(view, archive, cfg.service.language)
    upward = None
    if cfg.upward is not None:
        from service.outputs.upward import upward_for_day  # the superior's form: attached, never sent to them

        to_date = None
        if cfg.reports and not cfg.reports[0].cumulative:
            from service.day.reportview import to_date_values

            report = cfg.reports[0]

            def to_date() -> dict[str, dict[str, dict[str, Decimal]]]:
                return to_date_values(db, cfg, report, day, until=now)

        upward = upward_for_day(view, cfg, to_date)
    return render_digest(view, cfg, now=now, unread_files=originals, reminded=reminded, upward=upward)


def unread_files(view: DayView, archive: Archive) -> list[UnreadFile]:
    """The original files of units whose report could not be read, for the coordinator
    (service.outputs.digest.UnreadFile, each with the archived message that holds it)."""
    import hashlib

    from service.outputs.digest import UnreadFile

    out = []
    for unit in view.units:
        if unit.status != "unreadable":
            continue
        for msg in unit.messages:
            wanted = {a.sha256: a for a in msg.attachments if a.outcome != "read"}
            if not wanted:
                continue
            try:
                parsed = _parse_message(archive.load(msg.archive_path))
            except ArchiveError as exc:
                log.error("cannot attach the unread file of %s: %s", unit.unit.code, exc)
                continue
            for att in parsed.attachments:
                if hashlib.sha256(att.data).hexdigest() in wanted:
                    out.append(
                        UnreadFile(
                            f"{unit.unit.code}_{att.filename}",
                            att.content_type,
                            att.data,
                            str(archive.root / msg.archive_path),
                        )
                    )
    return out


def flagged_files(view: DayView, archive: Archive, language: str = "vi") -> list[UnreadFile]:
    """The originals of the figures flagged `uncertain_figure` in the reports that count on
    the day, for the coordinator to check them against: the file each problem names, or
    the whole message (.eml) for a figure read from the email's text or table."""
    from service.outputs.digest import UnreadFile

    out = []
    for unit in view.units:
        msg = unit.message
        if unit.status == "unreadable" or msg is None:  # (unread_files attaches those)
            continue
        names = {str((p.params or {}).get("file", "")) for p in unit.problems if p.code == UNCERTAIN}
        if not names:
            continue
        from parsers.body import BODY_HTML, BODY_TEXT
        from service.outputs.i18n import labels

        where = str(archive.root / msg.archive_path)
        try:
            raw = archive.load(msg.archive_path)
        except ArchiveError as exc:
            log.error("cannot attach the flagged file of %s: %s", unit.unit.code, exc)
            continue
        if names & {BODY_TEXT, BODY_HTML}:
            name = labels(language)["original_message_filename"]
            out.append(UnreadFile(f"{unit.unit.code}_{name}", "application/octet-stream", raw, where))
        for att in _parse_message(raw).attachments:
            if att.filename in names:
                names.discard(att.filename)  # once, if two parts share a name
                out.append(UnreadFile(f"{unit.unit.code}_{att.filename}", att.content_type, att.data, where))
    return out


def _parse_message(raw: bytes) -> ParsedMessage:
    from parsers.message import parse_message  # the MIME reader: only when there is a file to attach

    return parse_message(raw)


def write_digest_files(content: DigestContent, message: EmailMessage, out: Path, day: dt.date) -> None:
    """The digest as files a person can open: .html, .txt, .eml, the workbook and the
    superior's form ([upward]) when it is attached."""
    from service.mail.compose import message_bytes

    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"digest-{day}.html").write_text(content.html, encoding="utf-8")
        (out / f"digest-{day}.txt").write_text(content.text, encoding="utf-8")
        (out / f"digest-{day}.eml").write_bytes(message_bytes(message))
        for f in content.files:
            if f.filename.endswith(".xlsx") and "spreadsheetml" in f.content_type:
                (out / f"tong-hop-{day}.xlsx").write_bytes(f.data)
                break
        for f in content.files:
            if content.upward and f.filename == content.upward:
                (out / f.filename).write_bytes(f.data)
    except OSError as exc:
        raise ArchiveError(f"cannot write the digest files to {out}: {exc.strerror or exc}") from exc
