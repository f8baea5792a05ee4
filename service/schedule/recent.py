"""How far back the service answers mail (a module of its own: the poll's quick check
reads it without importing the outbox)."""

from __future__ import annotations

import datetime as dt

# Only messages received this recently are answered: a reprocess, a rescan or an
# import of old mail must never write to units about something long past.
RECENT = dt.timedelta(days=2)
