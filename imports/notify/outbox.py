"""The email outbox: Notification rows as a kind of core.outbox, and its policy.

The moves (claim with a lease, mark sent or failed, backoff, give up, "Retry now") are
core.outbox's, the same for every kind; imports.notify.send is this kind's handler. Here:
- the lease: a sender holds the emails it claimed for IMPORT_EMAIL_LEASE_SECONDS. That is the only
  way a message can go out twice: its sender died after the mail server accepted it and before
  NOTIFICATIONS.mark_sent, and the re-send carries the same Message-ID;
- the chunk (IMPORT_EMAIL_CLAIM_CHUNK), also the webhook deliveries' (imports.webhooks.delivery);
- the backoff (1, 2, 4 ... minutes, at most an hour) and MAX_ATTEMPTS (12): core.outbox's defaults;
- marking sent commits without waiting for the disk (one commit per email during a burst).
"""

import datetime as dt

from django.conf import settings

from core.outbox import Outbox, OutboxPolicy
from imports.models import Notification

def claim_lease() -> dt.timedelta:
    """How long a sender holds the messages it claimed: longer than sending a whole chunk at
    EMAIL_TIMEOUT each, so a live sender never loses them; also how long a message whose
    sender died waits before another sender takes it (settings.IMPORT_EMAIL_LEASE_SECONDS)."""
    return dt.timedelta(seconds=settings.IMPORT_EMAIL_LEASE_SECONDS)


def claim_chunk() -> int:
    """Messages claimed at a time (settings.IMPORT_EMAIL_CLAIM_CHUNK)."""
    return max(settings.IMPORT_EMAIL_CLAIM_CHUNK, 1)


NOTIFICATIONS = Outbox(
    Notification, OutboxPolicy(lease=claim_lease, chunk=claim_chunk, sent_without_waiting_for_disk=True)
)
