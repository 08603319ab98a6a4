"""The waiting announcement: once per job, when its first vendor try meets transient trouble, the
reseller hears that the job waits for the vendor (the email "Your import is waiting for Microsoft",
Notification.Kind.IMPORT_WAITING, and the webhook event import.waiting), with the next try's time and
the reason. The unique (job, kind) and (job, event) keep it to one per job whoever announces."""

import datetime as dt

from django.db import transaction

from imports.models import ImportJob, Notification
from imports.webhooks.delivery import webhook_waiting_record


def waiting_announce(job_id: int, *, now: dt.datetime, next_try_at: dt.datetime, reason: str) -> bool:
    """Write the job's waiting email and webhook event (if it still waits and has none yet); returns
    whether the job still waits. The caller sends the email after this commits."""
    with transaction.atomic():
        job = ImportJob.objects.select_related("company").filter(pk=job_id, status=ImportJob.Status.WAITING).first()
        if job is None:
            return False
        if Notification.objects.filter(job_id=job_id, kind=Notification.Kind.IMPORT_WAITING).exists():
            return True  # announced already (another vendor order of the same job)
        Notification.objects.bulk_create(
            [Notification.for_job(job_id, now=now, kind=Notification.Kind.IMPORT_WAITING)], ignore_conflicts=True
        )
        webhook_waiting_record(job, now=now, next_try_at=next_try_at, reason=reason)
        return True
