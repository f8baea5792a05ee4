"""SQLAlchemy 2.0 models: messages as received, what was read from them, mailbox progress.

The schema is created and upgraded only by the Alembic migrations in
storage/migrations; these classes must match them (a test compares the two).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC; SQLite drops the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal kept as its exact text on every database (no float drift on SQLite)."""

    impl = String(48)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return format(Decimal(value).normalize(), "f")

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class Base(DeclarativeBase):
    pass


class MailboxState(Base):
    """How far the poller has got in one IMAP folder under one UIDVALIDITY."""

    __tablename__ = "mailbox_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400))  # user@host:port
    folder: Mapped[str] = mapped_column(String(400))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    __table_args__ = (UniqueConstraint("account", "folder", name="uq_mailbox_state_folder"),)


class Message(Base):
    """One message as received, archived byte-for-byte under `archive_path`."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Not unique: some mail tools give several messages one Message-ID (see identity_sha256).
    message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    archive_path: Mapped[str] = mapped_column(String(300))  # relative to archive_dir
    source: Mapped[str] = mapped_column(String(20))  # imap | import
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    report_day: Mapped[dt.date] = mapped_column(Date, index=True)
    from_address: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(Text, default="")
    date_header: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # storage.kinds: report (counts for `unit_code`, readable or not), unassigned, automatic.
    kind: Mapped[str] = mapped_column(String(20), index=True)
    unit_code: Mapped[str | None] = mapped_column(String(100), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why unassigned / automatic
    readable: Mapped[bool] = mapped_column(Boolean, default=False)
    as_of: Mapped[dt.date | None] = mapped_column(Date)
    unit_text: Mapped[str | None] = mapped_column(Text)  # "Đơn vị: ..." as written
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    analysed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # What the message says, not how it travelled (parsers.message.content_sha256), and
    # the SHA-256 of Message-ID, sender and that: one value per message however often it
    # was delivered. Null for rows stored before revision 0005 until `reprocess` fills them
    # (those are compared by `sha256` alone) and for a message without Message-ID or sender.
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    identity_sha256: Mapped[str | None] = mapped_column(String(64))
    # Stored before its scans or photos were recognised (attachments with outcome
    # "pending"): the recognition job reads it again and clears this (revision 0008).
    recognition_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.position"
    )
    figures: Mapped[list[Figure]] = relationship(back_populates="message", cascade="all, delete-orphan")
    problems: Mapped[list[ProblemRow]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="ProblemRow.id"
    )

    __table_args__ = (
        Index("ix_messages_unit_day", "unit_code", "report_day"),
        # The same message is stored once, also when two instances race to store it.
        Index("ix_messages_identity_sha256", "identity_sha256", unique=True),
    )


class Attachment(Base):
    """One attachment of a message, with what the reader made of it."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(200))
    detected_format: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))  # read | unreadable | evidence | pending
    sheet: Mapped[str | None] = mapped_column(String(300))
    sheet_reason: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[Message] = relationship(back_populates="attachments")


class Figure(Base):
    """One value read from a report: indicator × measure, money in đồng."""

    __tablename__ = "figures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    indicator: Mapped[str] = mapped_column(String(100))
    measure: Mapped[str] = mapped_column(String(100))
    value: Mapped[Decimal] = mapped_column(ExactDecimal)
    # What it was read from (parsers.model.AttachmentResult.source: spreadsheet, text_pdf,
    # scan, photo, body_text, body_html); "file" for figures stored before revision 0007.
    source: Mapped[str] = mapped_column(String(20), default="file", server_default="file")
    # The [[reports]] entry it is for; "" for the config's one report (revision 0009).
    report_code: Mapped[str] = mapped_column(String(100), default="", server_default="")
    message: Mapped[Message] = relationship(back_populates="figures")
    __table_args__ = (UniqueConstraint("message_pk", "report_code", "indicator", "measure", name="uq_figure_cell"),)


class MessageReport(Base):
    """A report (a [[reports]] code) a message carries, and whether its figures for it could be read.

    Only with [[reports]]: a message of a config without them has none (revision 0009).
    """

    __tablename__ = "message_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    report_code: Mapped[str] = mapped_column(String(100), index=True)
    readable: Mapped[bool] = mapped_column(Boolean)
    __table_args__ = (UniqueConstraint("message_pk", "report_code", name="uq_message_report"),)


class ProblemRow(Base):
    """A problem found in a message or one of its files (`code` + sentence parameters)."""

    __tablename__ = "problems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[Message] = relationship(back_populates="problems")


class MailboxMessage(Base):
    """One IMAP UID fetched, the message row it became, and what is left to do on the server.

    `action` is what the server still needs (move to the processed folder, or flag
    for a person); `done` turns true once it is carried out, so a crash between the
    database commit and the IMAP command only repeats the command.
    """

    __tablename__ = "mailbox_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400))
    folder: Mapped[str] = mapped_column(String(400))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    # move | flag | none, or wait: decided once its message's recognition is finished
    action: Mapped[str] = mapped_column(String(10))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        UniqueConstraint("account", "folder", "uidvalidity", "uid", name="uq_mailbox_uid"),
        Index("ix_mailbox_pending", "account", "folder", "done"),
    )


class Digest(Base):
    """The digest of one reporting day (of one report's period, with [[reports]]): the row is
    the claim that makes sending exactly once.

    state: sending (the instance `claimed_by` holds the lease `lease_token` until
    `lease_until`), sent, failed (to be retried from `next_attempt_at`).
    `handed_over_at` is set just before the SMTP DATA and cleared once the outcome is
    known: while it is set, whether the digest went is unknown (service.schedule.dispatch).
    """

    __tablename__ = "digests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_day: Mapped[dt.date] = mapped_column(Date)  # a report's period: its first day
    # The [[reports]] entry it is of; "" for the config's one report (revision 0009).
    report_code: Mapped[str] = mapped_column(String(100), default="", server_default="")
    state: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(300))
    claimed_by: Mapped[str] = mapped_column(String(200))  # the holder's identity: host and config
    lease_until: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(64))  # new for every claim
    holder_process: Mapped[str | None] = mapped_column(String(200))  # boot id, pid, start time
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sends: Mapped[int] = mapped_column(Integer, default=0)  # > 1 after --resend
    recipients: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    __table_args__ = (UniqueConstraint("report_day", "report_code", name="uq_digest_report_period"),)


class RuntimeState(Base):
    """Small named facts the daemon records for `baocao health` and `status` (heartbeat...)."""

    __tablename__ = "runtime_state"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class OutboxMail(Base):
    """One email to a unit (acknowledgement, notice, reminder): the row is the claim to send it once.

    `dedupe_key` is unique ("ack:<message pk>", "notice:<day>:<address>",
    "reminder:<day>:<HH:MM>:<unit>:<address>", with [[reports]]
    "reminder:<report>:<day>:<HH:MM>:<unit>:<address>"), so creating the row decides, once across
    restarts and instances, that the mail goes. state: pending, sending (leased until
    `lease_until`), sent, failed (retried from `next_attempt_at`; never when it is
    null), skipped (decided not to send: `last_error` says why), expired (too late to
    be useful). A claim writes a new `lease_token`; finishing is conditional on it
    (service.schedule.lease).
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # ack | notice | reminder
    dedupe_key: Mapped[str] = mapped_column(String(500), unique=True)
    recipient: Mapped[str] = mapped_column(String(320))
    unit_code: Mapped[str | None] = mapped_column(String(100))
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    report_day: Mapped[dt.date | None] = mapped_column(Date)
    cap_day: Mapped[dt.date] = mapped_column(Date)  # the local day it counts against the per-address cap
    slot_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # a reminder's scheduled time
    # The [[reports]] entry a reminder is about; "" for the config's one report (revision 0010).
    report_code: Mapped[str] = mapped_column(String(100), default="", server_default="")
    message_id: Mapped[str] = mapped_column(String(300))  # ours, fixed at creation: retries reuse it
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_token: Mapped[str | None] = mapped_column(String(64))
    holder_process: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_recipient_day", "recipient", "cap_day"),
        Index("ix_outbox_kind_day", "kind", "report_day"),
    )
