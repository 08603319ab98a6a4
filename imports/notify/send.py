"""Sending a job's emails from the outbox (what they say is imports.notify.content'), and queueing the
optional "Your provisioning is scheduled" notice.

The run that finishes a job writes its Notification row in the same transaction (imports.engine.runner),
so a finished job always has its email queued and a rolled-back one never has. After commit the
run hands the ids to batch_emails_send (the fast path: at once, or after the due jobs during a
burst, see imports.notify.priority); sender tasks also send whatever the outbox has due
(imports_notify_unsent, outbox_send_task), so a worker killed before or while sending loses
nothing. A message is marked sent only after the mail server accepted it (core.outbox):
at worst it goes out twice, with the same Message-ID, never zero times.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from imports.models import ImportJob, ImportRow, Notification
from imports.notify import priority as email_priority
from imports.notify.content import email_build, recipients_for
from imports.notify.outbox import NOTIFICATIONS

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc

# At most this many emails at the start of a dispatch pass, so a backlog cannot hold back due jobs.
UNSENT_PASS_LIMIT = 1000
# Kept in last_error of a notification marked sent without sending (staff read it in the admin).
NOTE_NO_RECIPIENTS = "Nothing sent: the job has no recipient."
NOTE_NOT_PENDING = "Nothing sent: the job is no longer pending."


def _load(job_ids: list[int]) -> dict[int, tuple[ImportJob, list[ImportRow]]]:
    jobs = (
        ImportJob.objects.filter(pk__in=job_ids)
        .select_related("created_by__company", "company")
        .prefetch_related(
            Prefetch("rows", queryset=ImportRow.objects.select_related("order__service").order_by("position"))
        )
    )
    return {job.pk: (job, list(job.rows.all())) for job in jobs}


def _close_quietly(mail) -> None:
    """Drop a connection a failure may have broken; the next send opens a fresh one."""
    try:
        mail.close()
    except Exception:
        logger.debug("Closing the mail connection failed.", exc_info=True)


def _deliver(
    notification_ids: list[int], *, now: dt.datetime, loaded: dict, rendered: dict
) -> int:
    """The email kind's handler (core.outbox.Outbox.send_due): send each claimed notification and
    mark it sent right after the server accepted it; returns how many the server accepted."""
    notifications = list(Notification.objects.filter(pk__in=notification_ids).order_by("id"))
    missing = {n.job_id for n in notifications} - loaded.keys()
    if missing:
        loaded.update(_load(sorted(missing)))
    sent = 0
    languages: dict[int, str] = {}
    mail = get_connection()
    try:
        for notification in notifications:
            job, rows = loaded[notification.job_id]
            if not recipients_for(notification.kind, job):
                NOTIFICATIONS.mark_sent(notification.pk, now=now, note=NOTE_NO_RECIPIENTS)
                continue
            try:
                message = email_build(
                    notification, job, rows, connection=mail, rendered=rendered, languages=languages, now=now
                )
                if message is None:
                    # A scheduled notice or reminder of a job cancelled or run meanwhile: nothing to say.
                    NOTIFICATIONS.mark_sent(notification.pk, now=now, note=NOTE_NOT_PENDING)
                    continue
                message.send()
            except Exception as exc:
                # Refused, timed out, anything: the job keeps its status, the message its place in
                # the outbox, and a later pass tries again after the backoff.
                logger.warning("Could not send notification %s of import job %s.", notification.pk, job.pk, exc_info=True)
                NOTIFICATIONS.mark_failed(
                    notification.pk, now=now, attempts=notification.attempts + 1, error=f"{type(exc).__name__}: {exc}"
                )
                _close_quietly(mail)
                continue
            # Accepted by the mail server: only now is it sent (and sent_at says when: a sender
            # working off a backlog is far past the `now` it claimed at). Dying before this line
            # means this one message goes out again when its lease ends, with the same Message-ID.
            NOTIFICATIONS.mark_sent(notification.pk, now=timezone.now())
            sent += 1
    finally:
        _close_quietly(mail)
    return sent


def outbox_send(
    *,
    now: dt.datetime,
    limit: int | None = None,
    job_ids: list[int] | None = None,
    loaded: dict[int, tuple[ImportJob, list[ImportRow]]] | None = None,
    yield_to_jobs: bool = False,
) -> int:
    """Send the outbox's due notifications (of `job_ids` if given, at most `limit`); returns how
    many emails the mail server accepted.

    Claimed a chunk at a time (core.outbox), each under a lease long enough to send it within.
    `loaded` (job id → the job and its rows, as the run that just finished them left them in
    memory) spares reading them again; jobs missing from it are read from the database.
    `yield_to_jobs`: stop before a chunk while a burst of due jobs waits (imports.notify.priority).
    """
    loaded = dict(loaded or {})
    rendered: dict = {}  # one sending run's rendered bodies (imports.notify.content.email_build)
    return NOTIFICATIONS.send_due(
        lambda ids: _deliver(ids, now=now, loaded=loaded, rendered=rendered),
        now=now,
        limit=limit,
        within=Q(job_id__in=job_ids) if job_ids is not None else None,
        stop=(lambda: email_priority.emails_wait(now=timezone.now())) if yield_to_jobs else None,
    )


def import_notifications_send(
    *,
    job_ids: list[int],
    loaded: dict[int, tuple[ImportJob, list[ImportRow]]] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Send the due notifications of `job_ids` now; returns how many emails were sent.

    The fast path a run hands its finished jobs to after commit; if it never runs (the worker
    died), the outbox still has them and the next dispatch pass sends them.
    """
    if not job_ids:
        return 0
    return outbox_send(now=now or timezone.now(), job_ids=list(set(job_ids)), loaded=loaded)


def batch_emails_send(
    *, job_ids: list[int], loaded: dict[int, tuple[ImportJob, list[ImportRow]]] | None, now: dt.datetime
) -> int:
    """The fast path of a run that just committed: its jobs' emails, unless a burst of due jobs
    is unfinished (then they stay in the outbox, see imports.notify.priority). A run that sends and
    finds emails other runs left hands them to sender tasks. Returns how many emails it sent."""
    if email_priority.emails_wait(now=timezone.now()):
        return 0
    sent = import_notifications_send(job_ids=job_ids, loaded=loaded, now=now)
    if email_priority.emails_due(now=timezone.now()):
        email_priority.outbox_senders_enqueue(settings.IMPORT_EMAIL_SENDERS)
    return sent


def import_scheduled_notify(*, job: ImportJob, now: dt.datetime | None = None) -> bool:
    """Queue "Your provisioning is scheduled" for a job just created (in the caller's transaction,
    so a rolled-back scheduling sends nothing) unless its creator turned it off; sent after commit.
    True when queued."""
    if not job.created_by.notify_scheduled:
        return False
    now = now or timezone.now()
    Notification.for_job(job.pk, now=now, kind=Notification.Kind.IMPORT_SCHEDULED).save()
    job_id = job.pk
    # robust: the scheduling has committed; if sending fails here, the next dispatch pass sends it.
    transaction.on_commit(lambda: import_notifications_send(job_ids=[job_id]), robust=True)
    return True


def import_notify(*, job_id: int) -> bool:
    """Send one job's email if it is due and unsent; True when this call sent it."""
    return import_notifications_send(job_ids=[job_id]) == 1


def imports_notify_unsent(*, now: dt.datetime) -> int:
    """What a dispatch pass sends first: everything the outbox has due (new messages whose
    worker died before sending them, retries whose backoff ended, leases that ran out)."""
    return outbox_send(now=now, limit=UNSENT_PASS_LIMIT, yield_to_jobs=True)
