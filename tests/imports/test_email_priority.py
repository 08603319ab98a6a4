"""Provisioning first: a run's emails wait in the outbox while due jobs wait for a worker, are
sent once nothing waits (by whichever worker finds so, its own and the others'), and never wait
longer than IMPORT_EMAIL_DEFER_SECONDS."""

import datetime as dt

import pytest
from django.conf import settings
from django_q.models import OrmQ
from freezegun import freeze_time

from imports import email_priority
from imports.dispatch import dispatch_tick
from imports.leases import imports_claim_due
from imports.models import Notification
from imports.notifications import imports_notify_unsent
from imports.runner import run_jobs

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Pending, Sent = Notification.Status.PENDING, Notification.Status.SENT


def _run(job_ids, *, now, capture):
    """Run claimed jobs as a batch task does, its after-commit fast path included."""
    with capture(execute=True):
        return run_jobs(job_ids, now=now)


def _statuses(jobs) -> list[str]:
    return [Notification.objects.get(job=job).status for job in jobs]


@freeze_time(DUE)
def test_a_runs_emails_wait_while_a_due_job_waits_then_the_next_run_sends_them_all(
    demo, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = schedule(demo, due_at=DUE), schedule(demo, due_at=DUE)
    claimed = imports_claim_due(now=DUE, limit=1)
    assert claimed == [first.pk]
    _run(claimed, now=DUE, capture=django_capture_on_commit_callbacks)
    # `second` is due and no worker has it: the first run's email waits in the outbox.
    assert _statuses([first]) == [Pending] and mailoutbox == []

    claimed = imports_claim_due(now=DUE, limit=1)
    _run(claimed, now=DUE, capture=django_capture_on_commit_callbacks)
    # Nothing waits any more: this run sends its own email and the one the first run left.
    assert _statuses([first, second]) == [Sent, Sent]
    assert sorted(message.to[0] for message in mailoutbox) == [first.created_by.email, second.created_by.email]


def test_a_run_with_nothing_waiting_sends_at_once(demo, mailoutbox, django_capture_on_commit_callbacks):
    job = schedule(demo, due_at=DUE)
    later = schedule(demo, due_at=DUE + dt.timedelta(hours=1))  # Pending, but not due: not waiting
    with freeze_time(DUE):
        _run(imports_claim_due(now=DUE, limit=10), now=DUE, capture=django_capture_on_commit_callbacks)
    assert _statuses([job]) == [Sent] and len(mailoutbox) == 1
    assert not Notification.objects.filter(job=later).exists()


def test_an_email_never_waits_longer_than_the_defer_limit(demo, mailoutbox, django_capture_on_commit_callbacks):
    first = schedule(demo, due_at=DUE)
    schedule(demo, due_at=DUE)
    with freeze_time(DUE):
        _run(imports_claim_due(now=DUE, limit=1), now=DUE, capture=django_capture_on_commit_callbacks)
    assert _statuses([first]) == [Pending]
    waited = DUE + dt.timedelta(seconds=settings.IMPORT_EMAIL_DEFER_SECONDS)
    with freeze_time(waited - dt.timedelta(seconds=1)):
        assert imports_notify_unsent(now=waited - dt.timedelta(seconds=1)) == 0  # a due job still waits
    with freeze_time(waited):
        assert email_priority.due_jobs_waiting(now=waited)
        assert imports_notify_unsent(now=waited) == 1  # waited long enough: sent whatever waits
    assert _statuses([first]) == [Sent]


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="about the ORM broker's queue")
def test_a_batch_in_the_queue_is_a_due_job_waiting_until_a_cluster_takes_it(demo):
    with freeze_time(DUE):
        schedule(demo, due_at=DUE)
        assert email_priority.due_jobs_waiting(now=DUE)  # Pending and due
        dispatch_tick(now=DUE)  # claimed, its batch task queued
        assert email_priority.tasks_queued() == 1
        assert email_priority.due_jobs_waiting(now=DUE)
        OrmQ.objects.update(lock=DUE + dt.timedelta(seconds=settings.Q_RETRY))  # taken by a cluster
        assert email_priority.tasks_queued() == 0
        assert not email_priority.due_jobs_waiting(now=DUE)


def test_a_broker_that_cannot_answer_never_holds_emails_back(demo, monkeypatch):
    class Down:
        def queue_size(self):
            raise ConnectionError("redis down")

    monkeypatch.setattr(email_priority, "_broker", lambda: Down())
    assert email_priority.tasks_queued() == 0
    assert not email_priority.emails_wait(now=DUE)
