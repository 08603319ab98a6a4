"""The outbox's and the lease's single moves, each on its own: a move touches only the rows it
names, only from the status it expects, and says whether it happened; the database keeps a lease
only on a job In progress. (Found by mutation testing: the end-to-end tests passed with these
guards removed.)"""

import datetime as dt
import logging

import pytest
from django.db import IntegrityError, transaction
from freezegun import freeze_time

from imports.notify import priority as email_priority

from imports.notify.outbox import NOTIFICATIONS
from imports.engine.dispatch import imports_claim_due, imports_recover_expired
from imports.models import ImportJob, Notification

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Sent, Pending, Failed = Notification.Status.SENT, Notification.Status.PENDING, Notification.Status.FAILED


def _notifications(demo, count: int) -> list[Notification]:
    """Pending notifications of finished-looking jobs, due at DUE."""
    notifications = []
    for _ in range(count):
        job = schedule(demo, due_at=DUE)
        notification = Notification.for_job(job.pk, now=DUE)
        notification.save()
        notifications.append(notification)
    return notifications


def _fresh(notification: Notification) -> Notification:
    return Notification.objects.get(pk=notification.pk)


def test_mark_sent_moves_only_that_pending_notification_and_says_so(demo):
    first, second = _notifications(demo, 2)
    assert NOTIFICATIONS.mark_sent(first.pk, now=DUE) is True
    first = _fresh(first)
    assert (first.status, first.sent_at, first.attempts, first.last_error) == (Sent, DUE, 1, "")
    assert _fresh(second).status == Pending
    # Already sent: nothing moves, the attempt is not counted twice.
    assert NOTIFICATIONS.mark_sent(first.pk, now=DUE + dt.timedelta(minutes=1)) is False
    assert (_fresh(first).sent_at, _fresh(first).attempts) == (DUE, 1)


def test_mark_failed_moves_only_that_pending_notification_and_says_so(demo):
    first, second = _notifications(demo, 2)
    assert NOTIFICATIONS.mark_failed(first.pk, now=DUE, attempts=1, error="TimeoutError") is True
    first = _fresh(first)
    assert (first.status, first.attempts, first.last_error) == (Pending, 1, "TimeoutError")
    assert first.next_attempt_at == DUE + NOTIFICATIONS.backoff(1)
    second = _fresh(second)
    assert (second.attempts, second.last_error, second.next_attempt_at) == (0, "", DUE)
    NOTIFICATIONS.mark_sent(second.pk, now=DUE)
    assert NOTIFICATIONS.mark_failed(second.pk, now=DUE, attempts=1, error="late") is False
    assert _fresh(second).status == Sent


def test_retry_now_touches_only_the_notifications_chosen(demo):
    chosen, other = _notifications(demo, 2)
    later = DUE + dt.timedelta(hours=6)
    Notification.objects.update(status=Failed, next_attempt_at=later)
    assert NOTIFICATIONS.retry_now([chosen.pk], now=DUE) == 1
    assert (_fresh(chosen).status, _fresh(chosen).next_attempt_at) == (Pending, DUE)
    assert (_fresh(other).status, _fresh(other).next_attempt_at) == (Failed, later)


def test_claims_take_the_longest_due_first(demo):
    newer_id_due_first, older_id_due_later = _notifications(demo, 2)[::-1]
    Notification.objects.filter(pk=older_id_due_later.pk).update(next_attempt_at=DUE)
    Notification.objects.filter(pk=newer_id_due_first.pk).update(next_attempt_at=DUE - dt.timedelta(minutes=5))
    assert NOTIFICATIONS.claim(now=DUE, limit=1) == [newer_id_due_first.pk]


def test_a_claim_chunk_is_at_least_one_message(settings):
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 0
    assert NOTIFICATIONS.chunk() == 1
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 7
    assert NOTIFICATIONS.chunk() == 7


def test_sent_notifications_are_not_due(demo):
    (notification,) = _notifications(demo, 1)
    assert email_priority.emails_due(now=DUE)
    NOTIFICATIONS.mark_sent(notification.pk, now=DUE)
    assert not email_priority.emails_due(now=DUE + dt.timedelta(days=1))


@freeze_time(DUE)
def test_recovery_clears_the_claim_and_logs_how_many(demo, caplog, settings):
    settings.IMPORT_LEASE_SECONDS = 90
    jobs = [schedule(demo, due_at=DUE) for _ in range(2)]
    imports_claim_due(now=DUE, limit=10)
    with caplog.at_level(logging.WARNING, logger="imports.engine.dispatch"):
        assert imports_recover_expired(now=DUE + dt.timedelta(seconds=91)) == 2
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.claimed_at, job.lease_expires_at) == (ImportJob.Status.PENDING, None, None)
    assert "Recovered 2 import job(s) whose worker lease expired." in caplog.text


def test_the_database_keeps_a_lease_only_on_a_job_in_progress(demo):
    job = schedule(demo, due_at=DUE)
    imports_claim_due(now=DUE, limit=1)
    for status in (ImportJob.Status.PENDING, ImportJob.Status.COMPLETED):
        with pytest.raises(IntegrityError), transaction.atomic():
            ImportJob.objects.filter(pk=job.pk).update(status=status)  # the lease left behind
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(lease_expires_at=None)  # In progress without one
