"""The email outbox: Notification rows as a kind of core.outbox, and its policy.

The moves (claim with a lease, mark sent or failed, backoff, give up, "Retry now") are
core.outbox's, the same for every kind; imports.notify.send is this kind's handler. The policy:
- the chunk: IMPORT_EMAIL_CLAIM_CHUNK messages (50, the dispatcher's batch) claimed at a time (at
  least one), sent over one SMTP connection and marked sent in one UPDATE (imports.notify.send);
- the lease: a sender holds the emails it claimed for IMPORT_EMAIL_LEASE_SECONDS (60 s) and starts
  a message only while EMAIL_TIMEOUT of it is left (the rest released at once), so a live sender
  never loses a message it is sending, whatever the chunk; it is also how long a chunk whose sender
  died waits before another sender takes it. That is the only way a message can go out twice: its
  sender died after the mail server accepted it and before the chunk's NOTIFICATIONS.mark_sent_many,
  so a crash re-sends at most IMPORT_EMAIL_CLAIM_CHUNK messages (50), each with its stable Message-ID;
- the backoff (1, 2, 4 ... minutes, at most an hour) and giving up after 12 attempts: core.outbox's
  defaults;
- marking sent commits without waiting for the disk (one commit per chunk during a burst).
"""

import datetime as dt

from django.conf import settings

from core.outbox import Outbox, OutboxPolicy
from imports.models import Notification

# This kind's name in the outbox lane (imports.engine.outbox_lane: which sender task sends what).
KIND = "emails"

NOTIFICATIONS = Outbox(
    Notification,
    OutboxPolicy(
        lease=lambda: dt.timedelta(seconds=settings.IMPORT_EMAIL_LEASE_SECONDS),
        chunk=lambda: settings.IMPORT_EMAIL_CLAIM_CHUNK,
        sent_without_waiting_for_disk=True,
    ),
)
