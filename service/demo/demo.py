"""`baocao demo`: the real pipeline on a throwaway local mailbox with generated reports.

Reports are made with the product's own form (service.outputs.template) for the configured
units: most on time, one late, one unreadable (a scan), one from an unknown sender,
two units silent. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.config import Config, ImapConfig, Secret, SmtpConfig
from service.day.dayview import build_day_view
from service.demo.localmail import LocalDovecot
from service.demo.smtp_capture import SmtpCapture
from service.ingest.archive import Archive
from service.ingest.pipeline import Ingestor
from service.mail.compose import File, compose
from service.mail.mailbox import Mailbox
from service.outputs.digest import compose_email
from service.outputs.export import day_json, status_text
from service.outputs.template import render_form
from service.schedule.dispatch import build_digest, send_digest, write_digest_files
from service.schedule.outbox import acknowledge, send_reminders
from storage.db import open_database

log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A one-page PDF with no text layer: what a scanned, signed report looks like to us.
SCANNED_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def demo_messages(cfg: Config, day: dt.date, seed: int = 68) -> list[tuple[bytes, dt.datetime, str]]:
    """(raw message, arrival, what it shows) for one realistic reporting day."""
    rng = random.Random(seed)
    tz = cfg.service.timezone
    deadline = dt.datetime.combine(day, cfg.schedule.deadline, tzinfo=tz)
    units = list(cfg.units)
    silent = {u.code for u in units[-2:]} if len(units) > 4 else set()
    unreadable = units[-3].code if len(units) > 5 else None
    late = units[-4].code if len(units) > 6 else None
    out = []
    start = dt.datetime.combine(day, dt.time(7, 45), tzinfo=tz)
    for i, unit in enumerate(units):
        if unit.code in silent:
            continue
        sender = next((s for s in unit.senders if not s.startswith("*@")), unit.senders[0].replace("*@", "vanthu@"))
        when = start + dt.timedelta(minutes=17 * i + rng.randint(0, 9), seconds=rng.randint(0, 59))
        when = min(when, deadline - dt.timedelta(minutes=1))
        subject = f"Báo cáo tiến độ ngày {day.day}/{day.month}/{day.year} - {unit.name}"
        if unit.code == unreadable:
            out.append(
                (
                    report_email(
                        sender, subject, when, [(f"BC {unit.code} {day:%d.%m}.pdf", "application/pdf", SCANNED_PDF)]
                    ),
                    when,
                    f"{unit.code}: scanned PDF",
                )
            )
            continue
        if unit.code == late:
            when = deadline + dt.timedelta(hours=1, minutes=20)
        indicators = rng.sample(list(cfg.form.indicators), k=min(len(cfg.form.indicators), rng.randint(2, 4)))
        values = {ind.code: _figures(cfg, rng) for ind in indicators}
        book = render_form(cfg, unit, values, as_of=day)
        name = f"BC_{unit.code}_{day:%d.%m.%Y}.xlsx"
        out.append(
            (
                report_email(sender, subject, when, [(name, XLSX, book)]),
                when,
                f"{unit.code}: {'late' if unit.code == late else 'on time'}",
            )
        )
    stranger = dt.datetime.combine(day, dt.time(13, 40), tzinfo=tz)
    book = render_form(cfg, None, {cfg.form.indicators[0].code: _figures(cfg, rng)}, as_of=day)
    out.append(
        (
            report_email(
                "ldtbxh.huyenkhac@example.org",
                f"Báo cáo ngày {day:%d/%m/%Y} (gửi nhầm)",
                stranger,
                [("baocao.xlsx", XLSX, book)],
            ),
            stranger,
            "unknown sender",
        )
    )
    return sorted(out, key=lambda x: x[1])


def _figures(cfg: Config, rng: random.Random) -> dict[str, Decimal]:
    """Plausible cumulative figures: requested >= approved >= paid; money follows the counts."""
    requested = rng.randint(20, 400)
    approved = rng.randint(requested // 2, requested)
    paid = rng.randint(0, approved)
    per_person = rng.choice([1_000_000, 1_500_000, 3_710_000])
    counts = iter([requested, approved, paid])
    money = iter([approved * per_person, paid * per_person])
    out = {}
    for m in cfg.form.measures:
        if m.kind == "count":
            out[m.code] = Decimal(next(counts, paid))
        else:
            out[m.code] = Decimal(next(money, paid * per_person))
    return out


def report_email(
    sender: str,
    subject: str,
    when: dt.datetime,
    files: Sequence[File] = (),
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
) -> bytes:
    """A unit's email as its mail client would send it (also used by scripts/screenshots.py)."""
    msg = compose(
        sender=sender,
        to="baocao@example.gov.vn",
        subject=subject,
        date=when,
        message_id=make_msgid(domain=sender.split("@")[-1]),
        headers=headers,
        files=files,
        text=body
        or "Kính gửi Phòng Lao động - Thương binh và Xã hội.\n\nĐơn vị gửi báo cáo tiến độ "
        "(tệp đính kèm).\n\nTrân trọng!",
    )
    return msg.as_bytes(policy=SMTP)


def _deliver_and_poll(
    server: LocalDovecot,
    cfg: Config,
    sessions: sessionmaker[Session],
    archive: Archive,
    messages: Sequence[tuple[bytes, dt.datetime, Any]],
) -> int:
    """Put `messages` in the mailbox, poll it, and acknowledge what was stored."""
    if not messages:
        return 0
    server.append_many("baocao", "INBOX", [(raw, when) for raw, when, _ in messages])
    ingestor = Ingestor(cfg, sessions, archive)
    assert cfg.imap is not None  # the demo's config has its local Dovecot
    try:
        with Mailbox(cfg.imap) as mailbox:
            report = ingestor.poll(mailbox)
    finally:
        ingestor.close()
    now = max(when for _, when, _ in messages)  # the simulated clock
    acknowledge(cfg, sessions, archive, now)
    return len(report.stored)


def run_demo(cfg: Config, out_dir: Path, day: dt.date | None = None) -> Path:
    """Run the pipeline end to end on local servers; return the folder with the outputs."""
    out_dir = out_dir.resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    # A whole past day: a mail server keeps no arrival time in the future.
    day = day or dt.datetime.now(cfg.service.timezone).date() - dt.timedelta(days=1)
    password = secrets.token_urlsafe(16)
    with LocalDovecot() as server, SmtpCapture() as smtp:
        server.start({"baocao": password})
        # The campaign is moved around the simulated day, as if it were running now.
        campaign = cfg.campaign
        if campaign.start_date and campaign.end_date and not campaign.start_date <= day <= campaign.end_date:
            length = campaign.end_date - campaign.start_date
            start = day - length + dt.timedelta(days=min(10, length.days))
            campaign = replace(campaign, start_date=start, end_date=start + length)
        demo_cfg = replace(
            cfg,
            campaign=campaign,
            service=replace(
                cfg.service, database_url=f"sqlite:///{out_dir / 'baocao.db'}", archive_dir=out_dir / "archive"
            ),
            imap=ImapConfig(
                host=server.host,
                port=server.port,
                security="none",
                username="baocao",
                password=Secret(password, "demo"),
                folder="INBOX",
                processed_folder=(cfg.imap.processed_folder if cfg.imap else None) or "Đã xử lý",
            ),
            smtp=SmtpConfig(
                host=smtp.host,
                port=smtp.port,
                security="none",
                username=None,
                password=None,
                from_address=cfg.smtp.from_address if cfg.smtp else "baocao@example.gov.vn",
                from_name=cfg.smtp.from_name if cfg.smtp else None,
            ),
        )
        messages = demo_messages(demo_cfg, day)
        tz = demo_cfg.service.timezone
        reminder_slot = max((t for t in demo_cfg.schedule.reminders_at if t < demo_cfg.schedule.deadline), default=None)
        cut = dt.datetime.combine(day, reminder_slot or demo_cfg.schedule.deadline, tzinfo=tz)
        sessions = open_database(demo_cfg.service.database_url)
        archive = Archive(demo_cfg.service.archive_dir)
        print(
            f"Simulating {day:%d/%m/%Y} with a local IMAP server (127.0.0.1:{server.port}) and a local "
            f"SMTP capture (127.0.0.1:{smtp.port}); {len(messages)} report emails."
        )
        # Morning: the reports that came before the last reminder slot, then the reminders.
        stored = _deliver_and_poll(server, demo_cfg, sessions, archive, [m for m in messages if m[1] <= cut])
        if reminder_slot is not None and demo_cfg.reminders.enabled:
            planned = send_reminders(demo_cfg, sessions, archive, reminder_slot, cut)
            print(f"{cut:%H:%M}: {planned} reminder(s) to units that had not reported yet.")
        # Afternoon: the rest, some after the deadline.
        stored += _deliver_and_poll(server, demo_cfg, sessions, archive, [m for m in messages if m[1] > cut])
        acks = [m for m in smtp.messages if m.data.find(b"Auto-Submitted: auto-replied") >= 0]
        print(f"Stored {stored} message(s); {len(acks)} acknowledgement(s) sent to the units.")
        if acks:
            (out_dir / "acknowledgement-example.eml").write_bytes(acks[0].data)
        due = dt.datetime.combine(day, demo_cfg.schedule.digest_at, tzinfo=demo_cfg.service.timezone)
        outcome = send_digest(demo_cfg, sessions, archive, day, due)
        with sessions() as session:
            content = build_digest(demo_cfg, session, archive, day, due)
        sent = [m for m in smtp.messages if set(demo_cfg.digest.to) & set(m.rcpt_tos)]
        if sent:
            (out_dir / f"digest-{day}.eml").write_bytes(sent[-1].data)
        write_digest_files(content, compose_email(content, demo_cfg, now=due, message_id="<demo@baocao>"), out_dir, day)
        print(
            f"Digest at {due:%H:%M}: {outcome.status} to {', '.join(demo_cfg.digest.to)} "
            f"(local SMTP capture 127.0.0.1:{smtp.port}).\n"
        )
        with sessions() as session:
            view = build_day_view(session, demo_cfg, day)
            text = status_text(view, demo_cfg)
            doc = day_json(view, demo_cfg)
        print(text)
        (out_dir / "status.txt").write_text(text + "\n", encoding="utf-8")
        (out_dir / f"export-{day}.json").write_text(
            json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        sessions.kw["bind"].dispose()
    print(
        f"\nOutputs in {out_dir}:\n  digest-{day}.html  digest-{day}.eml  digest-{day}.txt  "
        f"tong-hop-{day}.xlsx  acknowledgement-example.eml\n  status.txt  export-{day}.json  "
        f"baocao.db  archive/"
    )
    return out_dir
