"""Provisioning first: during a burst (IMPORT_EMAIL_BURST_JOBS due jobs unfinished) a run's emails
wait in the outbox, are sent once it is over (the last run its own at once, sender tasks the
others'), and never wait longer than IMPORT_EMAIL_DEFER_SECONDS. Outside a burst they go at once.

Most tests here make one unfinished job a burst, so that two jobs show it."""

import datetime as dt
import re

import pytest

from django.conf import settings
from freezegun import freeze_time

from imports import tasks

from imports.notify import priority as email_priority
from imports.engine.dispatch import OUTBOX_TASK
from imports.notify.senders import sender_places
from imports.engine.dispatch import imports_claim_due
from imports.models import Notification
from imports.notify.send import UNSENT_PASS_LIMIT, emails_send
from imports.engine.runner import run_jobs

from .helpers import UTC, schedule
from .test_fanout import queued_tasks

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Pending, Sent = Notification.Status.PENDING, Notification.Status.SENT


@pytest.fixture(autouse=True)
def burst_of_one(settings):
    settings.IMPORT_EMAIL_BURST_JOBS = 1


def _run(job_ids, *, now, capture):
    """Run claimed jobs as a batch task does, its after-commit fast path included."""
    with capture(execute=True):
        return run_jobs(job_ids, now=now)


def _statuses(jobs) -> list[str]:
    return [Notification.objects.get(job=job).status for job in jobs]


@freeze_time(DUE)
def test_a_runs_emails_wait_while_a_due_job_is_unfinished_then_sender_tasks_send_them(
    demo, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.IMPORT_OUTBOX_SENDERS = 2
    first, second = schedule(demo, due_at=DUE), schedule(demo, due_at=DUE)
    claimed = imports_claim_due(now=DUE, limit=1)
    assert claimed == [first.pk]
    _run(claimed, now=DUE, capture=django_capture_on_commit_callbacks)
    # `second` is due and unfinished: the first run's email waits in the outbox.
    assert _statuses([first]) == [Pending] and mailoutbox == []

    claimed = imports_claim_due(now=DUE, limit=1)
    _run(claimed, now=DUE, capture=django_capture_on_commit_callbacks)
    # Nothing is unfinished any more: this run sends its own email at once and hands the one
    # the first run left to sender tasks.
    assert _statuses([first, second]) == [Pending, Sent]
    queued = queued_tasks()
    assert [task["func"] for task in queued] == [OUTBOX_TASK, OUTBOX_TASK]  # as many as IMPORT_OUTBOX_SENDERS
    assert tasks.outbox_send_task(*queued[0]["args"], **queued[0]["kwargs"]) == 1
    # the second sender finds nothing left
    assert tasks.outbox_send_task(*queued[1]["args"], **queued[1]["kwargs"]) == 0
    assert sender_places("emails").held(now=DUE) == 0  # both ended: their places are free
    assert _statuses([first, second]) == [Sent, Sent]
    assert sorted(message.to[0] for message in mailoutbox) == sorted([first.created_by.email, second.created_by.email])


@freeze_time(DUE)
def test_a_sender_stops_while_due_jobs_are_unfinished(demo, mailoutbox, django_capture_on_commit_callbacks):
    first = schedule(demo, due_at=DUE)
    schedule(demo, due_at=DUE)
    _run(imports_claim_due(now=DUE, limit=1), now=DUE, capture=django_capture_on_commit_callbacks)
    assert tasks.outbox_send_task() == 0
    assert _statuses([first]) == [Pending]


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
        assert emails_send(now=waited - dt.timedelta(seconds=1), limit=UNSENT_PASS_LIMIT, yield_to_jobs=True) == 0  # a due job still waits
    with freeze_time(waited):
        assert email_priority.due_jobs_unfinished(now=waited)
        assert emails_send(now=waited, limit=UNSENT_PASS_LIMIT, yield_to_jobs=True) == 1  # waited long enough: sent whatever waits
    assert _statuses([first]) == [Sent]


def test_claimed_jobs_are_unfinished_until_their_lease_ends(demo):
    job = schedule(demo, due_at=DUE)
    assert email_priority.due_jobs_unfinished(now=DUE)  # Pending and due
    assert not email_priority.due_jobs_unfinished(now=DUE - dt.timedelta(seconds=1))  # not due yet
    imports_claim_due(now=DUE, limit=1)
    assert email_priority.due_jobs_unfinished(now=DUE)  # claimed: its batch is queued or running
    job.refresh_from_db()
    assert not email_priority.due_jobs_unfinished(now=job.lease_expires_at + dt.timedelta(seconds=1))  # its worker died


@freeze_time(DUE)
def test_outside_a_burst_a_run_sends_its_emails_at_once(demo, mailoutbox, django_capture_on_commit_callbacks, settings):
    settings.IMPORT_EMAIL_BURST_JOBS = 3
    jobs = [schedule(demo, due_at=DUE) for _ in range(3)]
    _run(imports_claim_due(now=DUE, limit=1), now=DUE, capture=django_capture_on_commit_callbacks)
    # Two due jobs unfinished, fewer than a burst: the email does not wait for them.
    assert _statuses(jobs[:1]) == [Sent] and len(mailoutbox) == 1


@freeze_time(DUE)
def test_a_burst_counts_due_jobs_pending_and_claimed(demo, settings):
    for _ in range(3):
        schedule(demo, due_at=DUE)
    imports_claim_due(now=DUE, limit=1)  # one claimed, two Pending
    assert email_priority.due_jobs_unfinished(now=DUE, at_least=2)
    assert email_priority.due_jobs_unfinished(now=DUE, at_least=3)
    assert not email_priority.due_jobs_unfinished(now=DUE, at_least=4)
    imports_claim_due(now=DUE, limit=2)  # all three claimed
    assert email_priority.due_jobs_unfinished(now=DUE, at_least=3)
    assert not email_priority.due_jobs_unfinished(now=DUE, at_least=4)
    settings.IMPORT_EMAIL_BURST_JOBS = 3
    assert email_priority.emails_wait(now=DUE)
    settings.IMPORT_EMAIL_BURST_JOBS = 4
    assert not email_priority.emails_wait(now=DUE)


def test_asking_whether_a_burst_waits_reads_a_few_rows_not_every_due_job(demo):
    """The counts stop at IMPORT_EMAIL_BURST_JOBS, and the database can stop there too: the pending jobs
    in the claim's order (its index), not the model's newest first (which made it read and sort every due
    job, each chunk of every sender)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    schedule(demo, due_at=DUE)
    with CaptureQueriesContext(connection) as queries:
        assert email_priority.due_jobs_unfinished(now=DUE, at_least=2) is False
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 2 and not any("created_at" in sql for sql in counts)
    pending = next(sql for sql in counts if "'pending'" in sql)
    assert re.search(r'ORDER BY "imports_importjob"."due_at" ASC, "imports_importjob"."company_id" ASC, '
                     r'"imports_importjob"."id" ASC', pending)
