"""The "Your import is completed" email: what it says, and sending it from the outbox.

The run that finishes a job writes its Notification row in the same transaction (imports.runner),
so a finished job always has its email queued and a rolled-back one never has. After commit the
run hands the ids to import_notifications_send (the fast path); every dispatch pass also sends
whatever the outbox has due (imports_notify_unsent), so a worker killed before or while sending
loses nothing. A message is marked sent only after the mail server accepted it (imports.outbox):
at worst it goes out twice, with the same Message-ID, never zero times.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import outbox
from .models import ImportJob, ImportRow, Notification

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc

SUBJECT_TEMPLATE = "imports/email/import_completed.subject.txt"
TEXT_TEMPLATE = "imports/email/import_completed.txt"
HTML_TEMPLATE = "imports/email/import_completed.html"
# At most this many emails at the start of a dispatch pass, so a backlog cannot hold back due jobs.
UNSENT_PASS_LIMIT = 1000


def my_imports_url() -> str:
    """Absolute: the email is sent by a worker, which has no request to build it from."""
    return f"{settings.SITE_URL}{reverse('imports:my_imports')}"


def import_recipients(job: ImportJob) -> list[str]:
    """The creator, then the company contacts asked for with Notify me; each address once."""
    seen: set[str] = set()
    recipients = []
    for email in [job.created_by.email, *(job.notify_emails or [])]:
        email = (email or "").strip()
        if email and email.lower() not in seen:
            seen.add(email.lower())
            recipients.append(email)
    return recipients


def _import_type(row: ImportRow) -> str:
    """"Product 100113_Micros365BusineBasic_14991": the row's type and what it provisions."""
    return f"{row.get_import_type_display()} {row.product_code}".strip()


def import_email_context(job: ImportJob, rows: list[ImportRow] | None = None) -> dict:
    rows = list(job.rows.all()) if rows is None else rows
    if job.source == ImportJob.Source.IMPORT:
        # A bulk import says what kind of accounts it imported ("Product", "Company", "User"), not
        # every product code of a file of thousands of lines.
        import_types = list(dict.fromkeys(row.get_import_type_display() for row in rows))
    else:
        import_types = list(dict.fromkeys(_import_type(row) for row in rows))
    failed_rows = [row for row in rows if row.status == ImportRow.Status.FAILED]
    many = len(rows) > 1
    return {
        "job": job,
        "user_name": job.created_by.get_full_name() or job.created_by.email,
        "created_by": job.created_by.email,
        "date_created": f"{job.created_at.astimezone(UTC):%d.%m.%Y %H:%M} (UTC)",
        "import_type": ", ".join(import_types),
        "completed_accounts": job.imported_count,
        "failed_accounts": job.error_count,
        # Each reason once per line; bulk imports say which line of the file it was.
        "errors": [
            (f"#{row.position}: " if many else "") + reason
            for row in failed_rows
            for reason in (row.error.splitlines() or [""])
        ],
        "my_imports_url": my_imports_url(),
    }


def _render(context: dict) -> tuple[str, str, str]:
    return (
        " ".join(render_to_string(SUBJECT_TEMPLATE, context).split()),
        render_to_string(TEXT_TEMPLATE, context),
        render_to_string(HTML_TEMPLATE, context),
    )


def _render_key(context: dict) -> tuple:
    """Everything the templates show (the job object itself is only there for overrides)."""
    return tuple((key, tuple(value) if isinstance(value, list) else value) for key, value in sorted(context.items()) if key != "job")


def import_email_build(
    job: ImportJob,
    rows: list[ImportRow] | None = None,
    *,
    connection=None,
    rendered: dict | None = None,
    message_id: str | None = None,
) -> EmailMultiAlternatives:
    """The email of a finished job. `rendered` (a dict kept for one sending run) remembers
    rendered bodies: the jobs a reseller scheduled together usually produce the very same
    email (same creator, minute, product and counts), and rendering is most of its cost."""
    context = import_email_context(job, rows)
    if rendered is None:
        subject, text, html = _render(context)
    else:
        key = _render_key(context)
        if key not in rendered:
            rendered[key] = _render(context)
        subject, text, html = rendered[key]
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=import_recipients(job), connection=connection,
        # The outbox's id for this message, the same on a re-send (Django makes one up otherwise).
        headers={"Message-ID": message_id} if message_id else None,
    )
    message.attach_alternative(html, "text/html")
    return message


def _load(job_ids: list[int]) -> dict[int, tuple[ImportJob, list[ImportRow]]]:
    jobs = (
        ImportJob.objects.filter(pk__in=job_ids)
        .select_related("created_by")
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
    """Send each claimed notification and mark it sent right after the server accepted it."""
    notifications = list(Notification.objects.filter(pk__in=notification_ids).order_by("id"))
    missing = {n.job_id for n in notifications} - loaded.keys()
    if missing:
        loaded.update(_load(sorted(missing)))
    sent = 0
    mail = get_connection()
    try:
        for notification in notifications:
            job, rows = loaded[notification.job_id]
            if not import_recipients(job):
                outbox.notification_mark_sent(notification.pk, now=now, note=outbox.NOTE_NO_RECIPIENTS)
                continue
            try:
                import_email_build(
                    job, rows, connection=mail, rendered=rendered, message_id=notification.message_id
                ).send()
            except Exception as exc:
                # Refused, timed out, anything: the job keeps its status, the message its place in
                # the outbox, and a later pass tries again after the backoff.
                logger.warning("Could not send notification %s of import job %s.", notification.pk, job.pk, exc_info=True)
                outbox.notification_mark_failed(
                    notification.pk, now=now, attempts=notification.attempts + 1, error=f"{type(exc).__name__}: {exc}"
                )
                _close_quietly(mail)
                continue
            # Accepted by the mail server: only now is it sent. Dying before this line means this
            # one message goes out again when its lease ends, with the same Message-ID.
            outbox.notification_mark_sent(notification.pk, now=now)
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
) -> int:
    """Send the outbox's due notifications (of `job_ids` if given, at most `limit`); returns how
    many emails the mail server accepted.

    Claimed a chunk at a time, each under a lease short enough to be sent well within it.
    `loaded` (job id → the job and its rows, as the run that just finished them left them in
    memory) spares reading them again; jobs missing from it are read from the database.
    """
    loaded = dict(loaded or {})
    rendered: dict = {}
    sent = 0
    remaining = limit
    while remaining is None or remaining > 0:
        chunk = outbox.claim_chunk() if remaining is None else min(outbox.claim_chunk(), remaining)
        claimed = outbox.notifications_claim(now=now, limit=chunk, job_ids=job_ids)
        if not claimed:
            break
        if remaining is not None:
            remaining -= len(claimed)
        sent += _deliver(claimed, now=now, loaded=loaded, rendered=rendered)
    return sent


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


def import_notify(*, job_id: int) -> bool:
    """Send one job's email if it is due and unsent; True when this call sent it."""
    return import_notifications_send(job_ids=[job_id]) == 1


def imports_notify_unsent(*, now: dt.datetime) -> int:
    """What a dispatch pass sends first: everything the outbox has due (new messages whose
    worker died before sending them, retries whose backoff ended, leases that ran out)."""
    return outbox_send(now=now, limit=UNSENT_PASS_LIMIT)
