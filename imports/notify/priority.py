"""Provisioning first, emails next: when workers send the outbox's emails.

An email no longer costs more than the job it reports (issue 26: about 0.6 ms of CPU against about
1 ms, bench_emails), but during a burst both compete for the same cores: the workers, the
database and the mail server share them, and every CPU-second spent on emails while due jobs wait
makes those jobs later. A job's due time is the promise; its email reports it. So during a burst
(at least IMPORT_EMAIL_BURST_JOBS, a batch, of due jobs unfinished: Pending and due, or claimed
by a batch that is queued or running), finished jobs leave their emails in the outbox (written in
the run's transaction: nothing is lost by waiting), and senders stop between chunks. With fewer,
as when jobs fall due one at a time, a run sends its emails at once rather than leave them for
the next job that happens to be claimed. The run that finds the burst over sends its own emails
at once and asks for senders for what the others left (imports.notify.senders: at most
IMPORT_OUTBOX_SENDERS on their way at once), so the outbox lane's workers empty the outbox.

No email waits for long: once the oldest due one has waited IMPORT_EMAIL_DEFER_SECONDS, emails
are sent whatever is unfinished (a steady overload must not starve them; a dead worker's claimed
jobs must not hold them until its lease ends).

What went when emails became cheap: the sender tasks each run enqueued (now bounded, in
imports.notify.senders). What stays, and why: the burst rule above (measured on the engine bench,
10,000 jobs due at once on 2 x 2: sending each batch's emails right after it, IMPORT_EMAIL_BURST_JOBS
out of reach, finished the jobs later; see the README's Notifications) and the defer limit.
"""

import datetime as dt

from django.conf import settings

from imports.models import ImportJob
from imports.notify.outbox import NOTIFICATIONS

Status = ImportJob.Status


def due_jobs_unfinished(*, now: dt.datetime, at_least: int = 1) -> bool:
    """At least `at_least` due jobs not finished yet: Pending and due (not claimed), or claimed
    under a live lease (their batch queued or running). Counts stop at `at_least`, so asking
    costs the same during a burst of any size. In the claim's order (imports.engine.dispatch): the
    model's ordering (newest first) made PostgreSQL read and sort every due job to count the first
    few, and none let it scan the table from the start, through every job a burst already claimed."""
    pending = ImportJob.objects.filter(status=Status.PENDING, due_at__lte=now).order_by("due_at", "company_id", "id")
    found = pending.values("pk")[:at_least].count()
    if found >= at_least:
        return True
    claimed = ImportJob.objects.filter(status=Status.IN_PROGRESS, lease_expires_at__gte=now).order_by()
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
