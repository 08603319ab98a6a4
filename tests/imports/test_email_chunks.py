"""Emails a chunk at a time (imports.notify.send): one mail connection per chunk, the accepted
messages marked sent in one UPDATE after it, a failure marked for that message only."""

import datetime as dt
import io
import re

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, ImportRow, Notification
from imports.notify.outbox import NOTIFICATIONS
from imports.notify.send import emails_send

from .helpers import BASIC, UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Sent, Pending = Notification.Status.SENT, Notification.Status.PENDING


class ConnectionCountingBackend(LocmemBackend):
    """Locmem that keeps a connection as the SMTP backend does: send_messages opens one if none is
    open and closes only what it opened. Counts the connections opened; refuses the messages whose
    Message-ID is in `refuse`."""

    opened = 0
    refuse: set[str] = set()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_open = False

    def open(self):
        if self.is_open:
            return False
        self.is_open = True
        ConnectionCountingBackend.opened += 1
        return True

    def close(self):
        self.is_open = False

    def send_messages(self, messages):
        created = self.open()
        try:
            for message in messages:
                if message.extra_headers.get("Message-ID") in ConnectionCountingBackend.refuse:
                    raise ConnectionRefusedError("550 refused")
            return super().send_messages(messages)
        finally:
            if created:
                self.close()


@pytest.fixture
def counting_backend():
    ConnectionCountingBackend.opened = 0
    ConnectionCountingBackend.refuse = set()
    with override_settings(EMAIL_BACKEND=f"{__name__}.ConnectionCountingBackend"):
        yield ConnectionCountingBackend


def _ran(demo, count) -> list[Notification]:
    """`count` jobs run and committed, their emails left in the outbox (the fast path never ran)."""
    for _ in range(count):
        schedule(demo, due_at=DUE)
    dispatch_due_imports(now=DUE)
    return list(Notification.objects.order_by("id"))


@pytest.mark.parametrize("chunk, connections", [(10, 1), (2, 3), (1, 5)])
def test_one_mail_connection_per_chunk(demo, counting_backend, mailoutbox, settings, chunk, connections):
    _ran(demo, 5)
    settings.IMPORT_EMAIL_CLAIM_CHUNK = chunk
    assert emails_send(now=DUE) == 5
    assert len(mailoutbox) == 5
    assert counting_backend.opened == connections
    assert set(Notification.objects.values_list("status", flat=True)) == {Sent}


def test_a_chunk_is_marked_sent_in_one_update_after_it_was_accepted(demo, counting_backend, mailoutbox, settings):
    _ran(demo, 6)
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 3
    table = Notification._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        assert emails_send(now=DUE) == 6
    marks = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'UPDATE "{table}"') and "'sent'" in q["sql"]]
    assert len(marks) == 2  # one per chunk, not one per message
    notifications = Notification.objects.all()
    assert all(n.status == Sent and n.attempts == 1 and n.sent_at is not None for n in notifications)


def test_a_refused_message_is_failed_alone_and_the_chunk_goes_on_over_a_fresh_connection(demo, counting_backend, mailoutbox):
    first, second, third = _ran(demo, 3)
    counting_backend.refuse = {second.message_id}
    assert emails_send(now=DUE) == 2
    assert sorted(m.extra_headers["Message-ID"] for m in mailoutbox) == sorted([first.message_id, third.message_id])
    # The refusal dropped the connection; the third message opened a new one.
    assert counting_backend.opened == 2
    first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
    assert (first.status, third.status) == (Sent, Sent)
    assert (second.status, second.attempts) == (Pending, 1)
    assert second.next_attempt_at == DUE + NOTIFICATIONS.backoff(1)
    assert "550 refused" in second.last_error
    # After its backoff it goes out, alone.
    counting_backend.refuse = set()
    assert emails_send(now=DUE + NOTIFICATIONS.backoff(1)) == 1
    second.refresh_from_db()
    assert second.status == Sent and second.attempts == 2


def test_mark_sent_many_moves_only_pending_rows_and_says_how_many(demo):
    first, second, third = _ran(demo, 3)
    assert NOTIFICATIONS.mark_sent(first.pk, now=DUE) is True
    assert NOTIFICATIONS.mark_sent_many([first.pk, second.pk, third.pk], now=DUE + dt.timedelta(seconds=5)) == 2
    assert NOTIFICATIONS.mark_sent_many([], now=DUE) == 0
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.sent_at, first.attempts) == (DUE, 1)  # already sent: untouched
    assert (second.status, second.sent_at, second.attempts) == (Sent, DUE + dt.timedelta(seconds=5), 1)


def test_the_email_benchmark_sends_to_a_real_smtp_server_and_reports_connections_per_chunk(db):
    out = io.StringIO()
    call_command("bench_emails", "--emails", "12", "--companies", "2", "--chunk", "5", stdout=out)
    report = out.getvalue()
    # path, emails, CPU, wall, queries, connections, connections per chunk, the SMTP server's CPU
    before = re.search(r"^before\s+(\d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(\d+)\s+([\d.]+)\s+[\d.]+$", report, re.M)
    after = re.search(r"^after\s+(\d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(\d+)\s+([\d.]+)\s+[\d.]+$", report, re.M)
    assert before and after, report
    sent = int(after.group(1))
    assert sent >= 12 and int(before.group(1)) == sent
    assert int(before.group(2)) == sent  # one connection per message before
    assert int(after.group(2)) == -(-sent // 5)  # one per chunk now
    assert "emails: before / after: CPU" in report
    assert not Notification.objects.exists()  # nothing written to the configured database


class SlowBackend(LocmemBackend):
    """Locmem whose every message takes `seconds` on the clock the test gives the sender's budget."""

    clock = [0.0]
    seconds = 4.0

    def send_messages(self, messages):
        SlowBackend.clock[0] += SlowBackend.seconds * len(messages)
        return super().send_messages(messages)


def test_a_message_is_started_only_while_its_claim_has_email_timeout_left(demo, mailoutbox, monkeypatch, settings):
    """The lease need not cover the whole chunk: the sender stops starting messages when less than
    EMAIL_TIMEOUT of its claim's lease is left and releases the rest for the next sender."""
    from core.outbox import Budget
    from imports.notify import send

    notifications = _ran(demo, 5)
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 10
    settings.EMAIL_TIMEOUT, settings.IMPORT_EMAIL_LEASE_SECONDS = 10, 25  # 15 s to start messages in
    SlowBackend.clock = [0.0]
    monkeypatch.setattr(send, "Budget", lambda seconds: Budget(seconds, clock=lambda: SlowBackend.clock[0]))
    with override_settings(EMAIL_BACKEND=f"{__name__}.SlowBackend"):
        # Started at 0, 4, 8 and 12 s; at 16 s less than EMAIL_TIMEOUT is left of the 25 s lease.
        assert emails_send(now=DUE) == 4
    statuses = [n.status for n in Notification.objects.filter(pk__in=[n.pk for n in notifications]).order_by("id")]
    assert statuses == [Sent] * 4 + [Pending]
    # Released, not left to its lease: due again at once for the next sender.
    assert Notification.objects.get(pk=notifications[-1].pk).next_attempt_at == DUE
    assert emails_send(now=DUE) == 1


def _finished_mix(demo, sets: int) -> None:
    """`sets` times: a provisioning that succeeds, one that fails, and a bulk import with a failed line."""
    for _ in range(sets):
        schedule(demo, due_at=DUE)
        schedule(demo, due_at=DUE, code=BASIC, vendor_config={"microsoft_tenant_id": "nope", "mpn_id": "x"})
        bulk = ImportJob.objects.create(
            name="july.csv", source=ImportJob.Source.IMPORT, due_at=DUE, created_by=demo.admin_abbie, company=demo.eritech,
        )
        ImportRow.objects.create(job=bulk, position=7, parent_company=demo.eritech, payload={"product_code": "nope"})
    dispatch_due_imports(now=DUE)


@pytest.mark.parametrize("sets", [1, 3])
def test_a_chunks_queries_do_not_grow_with_its_emails(demo, counting_backend, mailoutbox, settings, sets):
    """The chunk's jobs are read with only the columns an email shows (imports.notify.send._load): an
    email reading one more would cost a query per message, which this counts."""
    _finished_mix(demo, sets)
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 50
    with CaptureQueriesContext(connection) as queries:
        assert emails_send(now=DUE) == 3 * sets
    # The claim (its savepoint, the ids, the UPDATE), the chunk's notifications, jobs and rows, the UPDATE
    # marking them sent, then the next claim finding nothing: the same for 3 emails and for 9.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 7, statements
    assert any("Line 7: " in message.body for message in mailoutbox)
