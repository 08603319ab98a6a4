"""Provisioning first, emails next: when a worker sends the outbox's emails.

An email costs a worker more than the job it reports on (building and flattening the MIME
message, handing it to the mail server, marking it sent: about twice a job's run here). During a
burst, sending each batch's emails right after it would make every due job wait for the emails
of the jobs before it. So while due jobs wait for a worker, finished jobs leave their emails in
the outbox (written in the run's transaction: nothing is lost by waiting), and the workers send
them as soon as nothing waits: each worker whose batch finds no due job waiting sends its own
emails, then keeps emptying the outbox until due jobs appear again. At the end of a burst every
worker does so, in parallel.

No email waits for long: once the oldest due one has waited IMPORT_EMAIL_DEFER_SECONDS, emails
are sent whatever waits (a steady overload must not starve them).
"""

import datetime as dt
import functools

from django.conf import settings
from django_q.brokers import get_broker

from .models import ImportJob, Notification


@functools.cache
def _broker():
    """This process's broker connection (django-q2's: the ORM queue or the Redis list)."""
    return get_broker()


def tasks_queued() -> int:
    """Tasks in the shared queue that no cluster has taken yet (batches waiting for a worker)."""
    try:
        return _broker().queue_size() or 0
    except Exception:  # a broker that cannot answer (Redis down) never holds back an email
        return 0


def due_jobs_waiting(*, now: dt.datetime) -> bool:
    """Due jobs no worker runs yet: Pending and due (not claimed), or claimed and queued."""
    return ImportJob.objects.filter(status=ImportJob.Status.PENDING, due_at__lte=now).exists() or tasks_queued() > 0


def emails_overdue(*, now: dt.datetime) -> bool:
    """An email due for longer than IMPORT_EMAIL_DEFER_SECONDS and not sent."""
    waited = now - dt.timedelta(seconds=settings.IMPORT_EMAIL_DEFER_SECONDS)
    return Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=waited).exists()


def emails_wait(*, now: dt.datetime) -> bool:
    """Whether a worker should leave the outbox's emails for later and take due jobs first."""
    return due_jobs_waiting(now=now) and not emails_overdue(now=now)
