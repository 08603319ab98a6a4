"""The "Your import is completed" email, sent once per finished job.

Sent after the run's transaction commits (transaction.on_commit), so nobody is told about a
subscription that was rolled back. "Exactly once" is a conditional UPDATE on `notified_at`:
whoever sets it (the worker's on_commit callback, or a later dispatch pass picking up an email
a killed worker never sent) is the one that sends. If the mail backend fails, the claim is
released so a later pass tries again.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .claiming import claim_ids
from .models import ImportJob, ImportRow

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc

SUBJECT_TEMPLATE = "imports/email/import_completed.subject.txt"
TEXT_TEMPLATE = "imports/email/import_completed.txt"
HTML_TEMPLATE = "imports/email/import_completed.html"
# The jobs that ran (Completed or Failed) are told about; a cancelled one is not.
NOTIFIED_STATUSES = ImportJob.RAN_STATUSES
# A dispatch pass re-sends emails of jobs finished this recently that were never sent (the
# worker died between commit and sending). Older ones are history, not news.
UNSENT_LOOKBACK = dt.timedelta(days=1)


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
    job: ImportJob, rows: list[ImportRow] | None = None, *, connection=None, rendered: dict | None = None
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
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=import_recipients(job), connection=connection
    )
    message.attach_alternative(html, "text/html")
    return message


def _claim(job_ids: list[int], *, stamp: dt.datetime) -> list[int]:
    with transaction.atomic():
        unsent = ImportJob.objects.filter(pk__in=job_ids, status__in=NOTIFIED_STATUSES, notified_at__isnull=True)
        return claim_ids(
            unsent.order_by("id"),
            limit=None,
            move=lambda ids: ImportJob.objects.filter(pk__in=ids, notified_at__isnull=True).update(notified_at=stamp),
            move_one=lambda pk: ImportJob.objects.filter(pk=pk, notified_at__isnull=True).update(notified_at=stamp) == 1,
        )


def _load(job_ids: list[int]) -> dict[int, tuple[ImportJob, list[ImportRow]]]:
    jobs = (
        ImportJob.objects.filter(pk__in=job_ids)
        .select_related("created_by")
        .prefetch_related(
            Prefetch("rows", queryset=ImportRow.objects.select_related("order__service").order_by("position"))
        )
    )
    return {job.pk: (job, list(job.rows.all())) for job in jobs}


def import_notifications_send(
    *, job_ids: list[int], loaded: dict[int, tuple[ImportJob, list[ImportRow]]] | None = None
) -> int:
    """Email each finished job of `job_ids` that has not been emailed yet; returns how many were sent.

    `loaded` (job id → the job and its rows, as the run that just finished them left them in
    memory) spares reading them again; jobs missing from it are read from the database.
    """
    if not job_ids:
        return 0
    stamp = timezone.now()
    claimed = _claim(list(job_ids), stamp=stamp)
    if not claimed:
        return 0
    loaded = dict(loaded or {})
    missing = [pk for pk in claimed if pk not in loaded]
    if missing:
        loaded.update(_load(missing))
    sent = 0
    unsent: list[int] = []
    rendered: dict = {}
    mail = get_connection()
    with mail:
        for job, rows in (loaded[pk] for pk in sorted(claimed) if pk in loaded):
            try:
                if not import_recipients(job):
                    continue
                import_email_build(job, rows, connection=mail, rendered=rendered).send()
                sent += 1
            except Exception:
                logger.exception("Could not send the import email of job %s; a later pass retries.", job.pk)
                unsent.append(job.pk)
    if unsent:
        ImportJob.objects.filter(pk__in=unsent, notified_at=stamp).update(notified_at=None)
    return sent


def import_notify(*, job_id: int) -> bool:
    """Email one finished job if nobody has yet; True when this call sent it."""
    return import_notifications_send(job_ids=[job_id]) == 1


def imports_notify_unsent(*, now: dt.datetime) -> int:
    """Send the emails that a worker killed between its commit and its on_commit never sent."""
    job_ids = list(
        ImportJob.objects.filter(
            status__in=NOTIFIED_STATUSES, notified_at__isnull=True, finished_at__gte=now - UNSENT_LOOKBACK
        ).values_list("pk", flat=True)[:1000]
    )
    return import_notifications_send(job_ids=job_ids)
