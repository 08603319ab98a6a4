"""Reminders before a scheduled provisioning runs: each creator chooses 1, 24 or 72 hours before,
or none (accounts.models.ReminderHours, NOTIFICATIONS tab).

A dispatch housekeeping round (every few seconds in imports_worker, every minute with a bare
qcluster) writes a reminder to the outbox for every Pending scheduled job whose reminder time
has come; the outbox sends it, running the pre-check as it renders it (imports.notify.content). One
reminder per job at most (Notification is unique per job and kind). A job scheduled closer to its
due time than the creator's lead gets none: it was just scheduled, a reminder would be noise.
"""

import datetime as dt

from django.db.models import F

from accounts.models import ReminderHours

from imports.models import ImportJob, Notification

# Reminders written per round at most; the next round writes the rest.
REMINDER_ROUND_LIMIT = 1000


def reminders_queue_due(*, now: dt.datetime) -> int:
    """Write the reminders whose time has come (due within the creator's lead, not yet reminded)."""
    job_ids: list[int] = []
    for hours in ReminderHours.values:
        if not hours:
            continue
        lead = dt.timedelta(hours=hours)
        due = (
            ImportJob.objects.filter(
                status=ImportJob.Status.PENDING,
                source=ImportJob.Source.SCHEDULED,
                created_by__reminder_hours=hours,
                due_at__gt=now,
                due_at__lte=now + lead,
                due_at__gte=F("created_at") + lead,
            )
            .exclude(notifications__kind=Notification.Kind.IMPORT_REMINDER)
            .values_list("pk", flat=True)
        )
        job_ids += list(due[: REMINDER_ROUND_LIMIT - len(job_ids)])
        if len(job_ids) >= REMINDER_ROUND_LIMIT:
            break
    if job_ids:
        # ignore_conflicts: two dispatchers racing write one reminder (unique job and kind).
        Notification.objects.bulk_create(
            [Notification.for_job(pk, now=now, kind=Notification.Kind.IMPORT_REMINDER) for pk in job_ids],
            ignore_conflicts=True,
        )
    return len(job_ids)
