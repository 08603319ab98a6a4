"""Provisioning first, emails next: when workers send the outbox's emails.

An email costs a worker more than the job it reports on (building and flattening the MIME
message, handing it to the mail server, marking it sent: about twice a job's run here). During a
burst, sending each batch's emails right after it would make every due job wait for the emails
of the jobs before it. So during a burst (at least IMPORT_EMAIL_BURST_JOBS, a batch, of due jobs
unfinished: Pending and due, or claimed by a batch that is queued or running), finished jobs
leave their emails in the outbox (written in the run's transaction: nothing is lost by waiting).
With fewer, as when jobs fall due one at a time, a run sends its emails at once rather than
leave them for the next job that happens to be claimed. The run that finds the burst over sends
its own emails at once and hands what the others left to IMPORT_EMAIL_SENDERS sender tasks, so
every worker helps empty the outbox. A sender stops between chunks when a burst starts again.

No email waits for long: once the oldest due one has waited IMPORT_EMAIL_DEFER_SECONDS, emails
are sent whatever is unfinished (a steady overload must not starve them; a dead worker's claimed
jobs must not hold them until its lease ends).
"""

import datetime as dt

from django.conf import settings

from imports.models import ImportJob
from imports.notify.outbox import NOTIFICATIONS

Status = ImportJob.Status


def due_jobs_unfinished(*, now: dt.datetime, at_least: int = 1) -> bool:
    """At least `at_least` due jobs not finished yet: Pending and due (not claimed), or claimed
    under a live lease (their batch queued or running). Counts stop at `at_least`, so asking
    costs the same during a burst of any size."""
    pending = ImportJob.objects.filter(status=Status.PENDING, due_at__lte=now)
    found = pending.values("pk")[:at_least].count()
    if found >= at_least:
        return True
    claimed = ImportJob.objects.filter(status=Status.IN_PROGRESS, lease_expires_at__gte=now)
    return found + claimed.values("pk")[: at_least - found].count() >= at_least


def emails_due(*, now: dt.datetime) -> bool:
    return NOTIFICATIONS.has_due(now=now)


def emails_overdue(*, now: dt.datetime) -> bool:
    """An email due for longer than IMPORT_EMAIL_DEFER_SECONDS and not sent."""
    return emails_due(now=now - dt.timedelta(seconds=settings.IMPORT_EMAIL_DEFER_SECONDS))


def emails_wait(*, now: dt.datetime) -> bool:
    """Whether workers should leave the outbox's emails for later and run due jobs first: during
    a burst (IMPORT_EMAIL_BURST_JOBS due jobs unfinished), unless an email waited long enough."""
    return due_jobs_unfinished(now=now, at_least=settings.IMPORT_EMAIL_BURST_JOBS) and not emails_overdue(now=now)
