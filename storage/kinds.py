"""The values of `messages.kind` (and the one reason the service itself gives), shared by
the code that decides them (service/ingest/analysis.py) and the code that reads them;
the outbox's kinds and states (storage/outbox.py, storage/direct.py)."""

from __future__ import annotations

# Message kinds as stored (Message.kind): a report counts for `unit_code` (readable or not);
# unassigned: no unit could be tied to it; automatic: auto-reply, bounce, bulk (never a report).
REPORT, UNASSIGNED, AUTOMATIC = "report", "unassigned", "automatic"
# The reason of mail from the service's own address (a digest's copy): automatic, never listed.
OWN_MAIL = "own_address"

# Outbox kinds and states (storage.models.OutboxMail).
ACK, NOTICE, REMINDER = "ack", "notice", "reminder"
PENDING, SENDING, SENT, FAILED, SKIPPED, EXPIRED = "pending", "sending", "sent", "failed", "skipped", "expired"
