"""The outbox's bookkeeping: claiming due notifications, marking them sent or failed, retrying.

What a message says and the sending loop live in imports.notify.send; this module only moves
Notification rows, each move a conditional UPDATE:
- claim: due Pending rows get `next_attempt_at = now + claim_lease()` (claim_ids, so two senders
  never take the same row). The lease is what keeps a second sender off while the first one
  sends; if the first dies, the row is due again when the lease ends. That is the only way a
  message can go out twice: its sender died after the mail server accepted it and before
  notification_mark_sent, and the re-send carries the same Message-ID.
- sent: only after the mail server accepted the message, one UPDATE per message.
- failed: attempts + 1, the error kept, due again after an exponential backoff; after
  MAX_ATTEMPTS the row is Failed (staff see it in the admin and can "Retry now").
"""

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, F, Func, Value

from core.claiming import claim_ids
from imports.models import Notification

Status = Notification.Status

BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)
# 1 + 2 + 4 + ... + 32 minutes, then hourly: about six hours of trying before giving up.
MAX_ATTEMPTS = 12
ERROR_MAX_LENGTH = 2000
# Kept in last_error of a notification marked sent without sending (staff read it in the admin).
NOTE_NO_RECIPIENTS = "Nothing sent: the job has no recipient."


def claim_lease() -> dt.timedelta:
    """How long a sender holds the messages it claimed: longer than sending a whole chunk at
    EMAIL_TIMEOUT each, so a live sender never loses them; also how long a message whose
    sender died waits before another sender takes it (settings.IMPORT_EMAIL_LEASE_SECONDS)."""
    return dt.timedelta(seconds=settings.IMPORT_EMAIL_LEASE_SECONDS)


def claim_chunk() -> int:
    """Messages claimed at a time (settings.IMPORT_EMAIL_CLAIM_CHUNK)."""
    return max(settings.IMPORT_EMAIL_CLAIM_CHUNK, 1)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failure: 1, 2, 4, ... minutes, at most BACKOFF_CAP."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def notifications_claim(*, now: dt.datetime, limit: int, job_ids: list[int] | None = None) -> list[int]:
    """Due Pending notifications (of `job_ids` if given), oldest due first → leased to this caller."""
    lease_end = now + claim_lease()
    with transaction.atomic():
        due = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        if job_ids is not None:
            due = due.filter(job_id__in=job_ids)

        def still_due(ids):
            return Notification.objects.filter(pk__in=ids, status=Status.PENDING, next_attempt_at__lte=now)

        return claim_ids(
            due.order_by("next_attempt_at", "id"),
            limit=limit,
            move=lambda ids: still_due(ids).update(next_attempt_at=lease_end),
            move_one=lambda pk: still_due([pk]).update(next_attempt_at=lease_end) == 1,
        )


def _committed_without_waiting_for_disk(queryset):
    """`queryset`, whose UPDATE, on PostgreSQL, commits without waiting for its WAL to reach the
    disk: set_config('synchronous_commit', 'off', is_local) is part of the statement's own
    condition, so the setting covers that one autocommitted statement and nothing else, in one
    round trip.

    Marking a message sent is one commit per message, and waiting for each flush was most of a
    burst's time. Visibility is unchanged: other connections see the mark at once and a worker
    crash loses nothing. Only a crash of the database server itself, within a fraction of a
    second, could lose the mark, and then that message is sent again with the same Message-ID:
    the outbox's promise (at most a re-send, never a loss) still holds.
    """
    if connection.vendor != "postgresql":
        return queryset  # (SQLite: one autocommitted UPDATE)
    setting = Func(Value("synchronous_commit"), Value("off"), Value(True), function="set_config", output_field=CharField())
    return queryset.alias(_sync_commit=setting).filter(_sync_commit="off")


def notification_mark_sent(notification_id: int, *, now: dt.datetime, note: str = "") -> bool:
    """Called only once the mail server accepted the message (or there was nothing to send)."""
    pending = Notification.objects.filter(pk=notification_id, status=Status.PENDING)
    return (
        _committed_without_waiting_for_disk(pending).update(
            status=Status.SENT, sent_at=now, last_error=note, attempts=F("attempts") + 1
        )
        == 1
    )


def notification_mark_failed(notification_id: int, *, now: dt.datetime, attempts: int, error: str) -> bool:
    """The `attempts`-th attempt failed: due again after the backoff, or given up after MAX_ATTEMPTS."""
    return (
        Notification.objects.filter(pk=notification_id, status=Status.PENDING).update(
            attempts=attempts,
            last_error=error[:ERROR_MAX_LENGTH],
            next_attempt_at=now + backoff(attempts),
            status=Status.FAILED if attempts >= MAX_ATTEMPTS else Status.PENDING,
        )
        == 1
    )


def notifications_retry_now(*, notification_ids: list[int], now: dt.datetime) -> int:
    """Staff's "Retry now": Pending or Failed ones become due at once; sent ones stay sent.

    A Pending one that a sender holds right now (its lease) is made due too: the worst case is
    that very message sent twice, with the same Message-ID, which staff asked for.
    """
    return Notification.objects.filter(pk__in=notification_ids, status__in=[Status.PENDING, Status.FAILED]).update(
        status=Status.PENDING, next_attempt_at=now
    )
