"""The outbox of the "Your import is completed" email: written with the job's result, sent from
there, marked sent only once the mail server accepted it, retried with backoff, never lost."""

import datetime as dt

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from freezegun import freeze_time

from accounts.models import User
from imports.notify.outbox import NOTIFICATIONS
from imports.engine.dispatch import dispatch_due_imports
from imports.engine.dispatch import imports_claim_due
from imports.models import ImportJob, Notification
from imports.notify.send import NOTE_NO_RECIPIENTS, UNSENT_PASS_LIMIT, emails_send
from imports.engine.runner import run_jobs

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Sent, Pending, Failed = Notification.Status.SENT, Notification.Status.PENDING, Notification.Status.FAILED


class Boom(Exception):
    pass


class RefusingBackend(LocmemBackend):
    """A mail server that refuses while `down` is set, then accepts like locmem."""

    down = True

    def send_messages(self, messages):
        if RefusingBackend.down:
            raise ConnectionRefusedError("smtp down")
        return super().send_messages(messages)


@pytest.fixture
def refusing_backend():
    RefusingBackend.down = True
    with override_settings(EMAIL_BACKEND=f"{__name__}.RefusingBackend"):
        yield RefusingBackend


def _ran(demo, count=1) -> list[ImportJob]:
    """Jobs run and committed, their after-commit fast path never run (as if the worker died)."""
    jobs = [schedule(demo, due_at=DUE) for _ in range(count)]
    dispatch_due_imports(now=DUE)
    return jobs


def _message_ids(messages) -> list[str]:
    return [message.message()["Message-ID"] for message in messages]


def test_the_final_state_and_its_notification_commit_together(demo):
    job = schedule(demo, due_at=DUE)
    with pytest.raises(Boom), transaction.atomic():
        run_jobs(imports_claim_due(now=DUE, limit=10), now=DUE)
        assert Notification.objects.filter(job=job, status=Pending).exists()
        raise Boom  # the run's transaction never commits
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
    assert not Notification.objects.exists()

    dispatch_due_imports(now=DUE)
    job.refresh_from_db()
    notification = job.notifications.get()
    assert job.status == ImportJob.Status.COMPLETED
    assert (notification.kind, notification.status, notification.attempts) == (
        Notification.Kind.IMPORT_FINISHED, Pending, 0
    )
    assert notification.next_attempt_at == DUE


@override_settings(DEFAULT_FROM_EMAIL="ICP <noreply@marketplacepe.intcomexcloud.com>")
def test_a_job_has_one_notification_of_a_kind_with_a_message_id_of_ours(demo):
    (job,) = _ran(demo)
    notification = job.notifications.get()
    assert notification.message_id.startswith(f"<import-{job.pk}-import_finished.")
    assert notification.message_id.endswith("@marketplacepe.intcomexcloud.com>")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.for_job(job.pk, now=DUE).save()


def test_each_notification_is_sent_once_with_its_stable_message_id(demo, django_capture_on_commit_callbacks, mailoutbox):
    jobs = [schedule(demo, due_at=DUE) for _ in range(3)]
    accepted = DUE + dt.timedelta(seconds=2)
    with freeze_time(accepted), django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=DUE)
    notifications = Notification.objects.filter(job__in=jobs).order_by("id")
    assert [n.status for n in notifications] == [Sent] * 3
    # sent_at: when the mail server accepted it, not when the pass began.
    assert all(n.sent_at == accepted and n.attempts == 1 for n in notifications)
    assert sorted(_message_ids(mailoutbox)) == sorted(n.message_id for n in notifications)
    # Later passes and direct calls find nothing due.
    assert emails_send(now=DUE + dt.timedelta(days=1)) == 0
    assert dispatch_due_imports(now=DUE + dt.timedelta(days=1)).notified == 0
    assert len(mailoutbox) == 3


def test_a_crash_after_the_server_accepted_resends_at_most_the_chunk_and_drops_none(demo, monkeypatch, mailoutbox, settings):
    """A chunk's accepted messages are marked sent together after the chunk: a sender dying before
    that UPDATE re-sends the chunk's messages (each with its own Message-ID), never drops one, and
    the next chunk is not touched."""
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 2
    first, second, third = _ran(demo, 3)
    mark_sent_many = NOTIFICATIONS.mark_sent_many
    calls = []

    def dies_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise Boom("worker killed before marking")
        return mark_sent_many(*args, **kwargs)

    monkeypatch.setattr(NOTIFICATIONS, "mark_sent_many", dies_once)
    with pytest.raises(Boom):
        emails_send(now=DUE)
    first_id, second_id, third_id = (job.notifications.get().message_id for job in (first, second, third))
    assert _message_ids(mailoutbox) == [first_id, second_id]
    assert set(Notification.objects.values_list("status", flat=True)) == {Pending}
    # Still leased to the dead sender: nobody sends them meanwhile (the third one was never claimed).
    assert emails_send(now=DUE + NOTIFICATIONS.lease() - dt.timedelta(seconds=1)) == 1
    assert _message_ids(mailoutbox) == [first_id, second_id, third_id]
    # When the lease ends, the chunk goes out again (same Message-IDs), once.
    assert emails_send(now=DUE + NOTIFICATIONS.lease()) == 2
    assert _message_ids(mailoutbox) == [first_id, second_id, third_id, first_id, second_id]
    assert set(Notification.objects.values_list("status", flat=True)) == {Sent}
    assert emails_send(now=DUE + dt.timedelta(days=1)) == 0


def test_a_mail_server_failure_is_retried_with_backoff_then_delivered(demo, refusing_backend, mailoutbox):
    (job,) = _ran(demo)
    with freeze_time(DUE):
        assert dispatch_due_imports().notified == 0
    notification = job.notifications.get()
    assert (notification.status, notification.attempts) == (Pending, 1)
    assert notification.last_error == "ConnectionRefusedError: smtp down"
    assert notification.next_attempt_at == DUE + dt.timedelta(minutes=1)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED

    with freeze_time(DUE + dt.timedelta(seconds=59)):
        assert dispatch_due_imports().notified == 0  # still backing off: not even tried
    assert job.notifications.get().attempts == 1

    with freeze_time(DUE + dt.timedelta(minutes=1)):
        dispatch_due_imports()
    notification.refresh_from_db()
    assert notification.attempts == 2
    assert notification.next_attempt_at == DUE + dt.timedelta(minutes=1 + 2)

    refusing_backend.down = False
    with freeze_time(DUE + dt.timedelta(minutes=3)):
        assert dispatch_due_imports().notified == 1
    notification.refresh_from_db()
    assert (notification.status, notification.sent_at) == (Sent, DUE + dt.timedelta(minutes=3))
    assert _message_ids(mailoutbox) == [notification.message_id]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED


def test_the_backoff_doubles_up_to_its_cap_and_gives_up_after_max_attempts(demo, refusing_backend, mailoutbox):
    assert [NOTIFICATIONS.backoff(n) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert NOTIFICATIONS.backoff(30) == NOTIFICATIONS.policy.backoff_cap
    (job,) = _ran(demo)
    now = DUE
    for _ in range(NOTIFICATIONS.policy.max_attempts):
        emails_send(now=now, limit=UNSENT_PASS_LIMIT, yield_to_jobs=True)
        now = job.notifications.get().next_attempt_at
    notification = job.notifications.get()
    assert (notification.status, notification.attempts) == (Failed, NOTIFICATIONS.policy.max_attempts)
    assert emails_send(now=now + dt.timedelta(days=1), limit=UNSENT_PASS_LIMIT, yield_to_jobs=True) == 0

    # Staff's "Retry now" makes it due again; sent ones are left alone.
    refusing_backend.down = False
    later = now + dt.timedelta(days=2)
    assert NOTIFICATIONS.retry_now([notification.pk], now=later) == 1
    assert emails_send(now=later, limit=UNSENT_PASS_LIMIT, yield_to_jobs=True) == 1
    assert NOTIFICATIONS.retry_now([notification.pk], now=later) == 0
    assert len(mailoutbox) == 1


def test_a_job_without_recipients_is_marked_sent_with_a_note(demo, mailoutbox):
    (job,) = _ran(demo)
    User.objects.filter(pk=job.created_by_id).update(email="")
    assert emails_send(now=DUE) == 0
    notification = job.notifications.get()
    assert (notification.status, notification.last_error) == (Sent, NOTE_NO_RECIPIENTS)
    assert mailoutbox == []


class InterleavingBackend(LocmemBackend):
    """While the first sender is sending its first message, a second sender runs a whole pass."""

    interleaved = False

    def send_messages(self, messages):
        if not InterleavingBackend.interleaved:
            InterleavingBackend.interleaved = True
            emails_send(now=DUE)
        return super().send_messages(messages)


def test_two_concurrent_senders_never_send_the_same_notification_twice(demo, settings, mailoutbox):
    _ran(demo, 3)
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 1  # each sender claims one message at a time
    InterleavingBackend.interleaved = False
    with override_settings(EMAIL_BACKEND=f"{__name__}.InterleavingBackend"):
        emails_send(now=DUE)
    assert InterleavingBackend.interleaved
    ids = _message_ids(mailoutbox)
    assert len(ids) == 3
    assert sorted(ids) == sorted(Notification.objects.values_list("message_id", flat=True))
    assert set(Notification.objects.values_list("status", flat=True)) == {Sent}


def test_claims_are_disjoint_and_leased(demo):
    _ran(demo, 3)
    first = NOTIFICATIONS.claim(now=DUE, limit=1)
    second = NOTIFICATIONS.claim(now=DUE, limit=10)
    assert len(first) == 1 and len(second) == 2 and not set(first) & set(second)
    assert NOTIFICATIONS.claim(now=DUE + NOTIFICATIONS.lease() - dt.timedelta(seconds=1), limit=10) == []
    assert sorted(NOTIFICATIONS.claim(now=DUE + NOTIFICATIONS.lease(), limit=10)) == sorted(first + second)


def test_staff_see_the_outbox_and_can_retry_now(client, demo):
    (job,) = _ran(demo)
    notification = job.notifications.get()
    Notification.objects.filter(pk=notification.pk).update(
        status=Failed, attempts=NOTIFICATIONS.policy.max_attempts, last_error="TimeoutError: timed out",
        next_attempt_at=DUE + dt.timedelta(hours=6),
    )
    client.force_login(demo.staff)
    changelist = reverse("admin:imports_notification_changelist")
    for url in [
        changelist,
        changelist + "?status__exact=failed",
        reverse("admin:imports_notification_change", args=[notification.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "TimeoutError: timed out" in response.content.decode()
    assert escape(notification.message_id) in client.get(reverse("admin:imports_importjob_change", args=[job.pk])).content.decode()

    response = client.post(changelist, {"action": "retry_now", "_selected_action": [notification.pk]}, follow=True)
    assert "1 notification will be sent with the next pass." in response.content.decode()
    notification.refresh_from_db()
    assert notification.status == Pending
    assert notification.next_attempt_at > DUE + dt.timedelta(days=365)  # now, not the old schedule
    # Read-only: a change-form POST cannot mark it sent.
    client.post(reverse("admin:imports_notification_change", args=[notification.pk]), {"status": "sent"})
    notification.refresh_from_db()
    assert notification.status == Pending
    assert mail.outbox == []


def test_a_failing_fast_path_does_not_fail_the_committed_run(demo, monkeypatch, django_capture_on_commit_callbacks, mailoutbox):
    job = schedule(demo, due_at=DUE)

    def broken(**kwargs):
        raise Boom("database locked")

    monkeypatch.setattr("imports.engine.runner.emails_send", broken)
    with django_capture_on_commit_callbacks(execute=True):
        summary = dispatch_due_imports(now=DUE)
    assert summary.completed == 1
    assert mailoutbox == []
    assert dispatch_due_imports(now=DUE + dt.timedelta(minutes=1)).notified == 1
    assert _message_ids(mailoutbox) == [job.notifications.get().message_id]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_mark_sent_commits_without_waiting_for_disk_in_its_own_statement_only(demo):
    """One autocommitted statement: the UPDATE sets synchronous_commit off for its own transaction
    (is_local), so the connection's later commits (a job's run) still wait for the disk."""
    job = schedule(demo, due_at=DUE)
    notification = Notification.for_job(job.pk, now=DUE)
    notification.save()
    with CaptureQueriesContext(connection) as queries:
        assert NOTIFICATIONS.mark_sent(notification.pk, now=DUE) is True
    assert len(queries.captured_queries) == 1
    assert "set_config('synchronous_commit', 'off', true)" in queries.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert Notification.objects.get(pk=notification.pk).status == Sent
