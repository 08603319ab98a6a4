"""core.outbox on its own, run against every kind that uses it (email notifications and webhook
deliveries): claiming with a lease, marking sent or failed only from Pending (the claimed state:
a lease lives in next_attempt_at), the backoff, giving up, staff's "Retry now", and the sending
loop that hands claimed chunks to a kind's handler."""

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from django.db.models import Q

from accounts.webhooks import webhook_endpoint_save
from core.outbox import BACKOFF_BASE, BACKOFF_CAP, MAX_ATTEMPTS, Outbox, OutboxItem, OutboxPolicy
from imports.models import Notification, WebhookDelivery
from imports.notify.outbox import NOTIFICATIONS
from imports.webhooks.delivery import DELIVERIES

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Status = OutboxItem.Status


@dataclass
class Kind:
    outbox: Outbox
    make_one: object

    @property
    def model(self):
        return self.outbox.model

    def make(self, count: int) -> list[int]:
        """`count` Pending rows due at DUE (one job each), in id order."""
        return [self.make_one().pk for _ in range(count)]

    def row(self, pk: int) -> OutboxItem:
        return self.model.objects.get(pk=pk)


def _notification_maker(demo):
    def make_one():
        notification = Notification.for_job(schedule(demo, due_at=DUE).pk, now=DUE)
        notification.save()
        return notification

    return make_one


def _delivery_maker(demo):
    endpoint = webhook_endpoint_save(actor=demo.admin_abbie, company=demo.abbiebox, url="https://hooks.abbiebox.example/icp")

    def make_one():
        return WebhookDelivery.objects.create(
            event_id=f"evt_{uuid.uuid4().hex}", event=WebhookDelivery.Event.IMPORT_COMPLETED,
            job=schedule(demo, due_at=DUE), endpoint=endpoint, payload={}, next_attempt_at=DUE, created_at=DUE,
        )

    return make_one


@pytest.fixture(params=["notifications", "webhook deliveries"])
def kind(request, demo) -> Kind:
    if request.param == "notifications":
        return Kind(NOTIFICATIONS, _notification_maker(demo))
    return Kind(DELIVERIES, _delivery_maker(demo))


def _with_policy(kind: Kind, **policy) -> Outbox:
    """The same kind's rows under another policy (what a third kind would choose)."""
    return Outbox(kind.model, OutboxPolicy(lease=lambda: dt.timedelta(minutes=5), chunk=lambda: 2, **policy))


# --- Claiming -----------------------------------------------------------------------------------


def test_both_kinds_share_the_bookkeeping_fields_and_the_due_index():
    shared = {"status", "attempts", "next_attempt_at", "last_error", "sent_at", "created_at"}
    for model in (Notification, WebhookDelivery):
        assert issubclass(model, OutboxItem) and model.Status is OutboxItem.Status
        assert shared <= {field.name for field in model._meta.get_fields()}
        assert [index.fields for index in model._meta.indexes] == [["status", "next_attempt_at", "id"]]
        assert model._meta.ordering == ["-created_at", "-id"]


def test_a_claimed_row_is_excluded_until_its_lease_ends(kind):
    ids = kind.make(3)
    lease = kind.outbox.lease()
    first = kind.outbox.claim(now=DUE, limit=1)
    second = kind.outbox.claim(now=DUE, limit=10)
    assert first == ids[:1] and second == ids[1:]
    assert all(kind.row(pk).next_attempt_at == DUE + lease for pk in ids)
    assert all(kind.row(pk).status == Status.PENDING for pk in ids)
    assert kind.outbox.claim(now=DUE + lease - dt.timedelta(seconds=1), limit=10) == []
    assert not kind.outbox.has_due(now=DUE + lease - dt.timedelta(seconds=1))
    # The sender died: when its lease ends, the rows are due again, for another sender.
    assert kind.outbox.has_due(now=DUE + lease)
    assert kind.outbox.claim(now=DUE + lease, limit=10) == ids


def test_a_claim_takes_the_longest_due_first_and_only_rows_due(kind):
    later, earlier, not_yet = kind.make(3)
    kind.model.objects.filter(pk=earlier).update(next_attempt_at=DUE - dt.timedelta(minutes=5))
    kind.model.objects.filter(pk=not_yet).update(next_attempt_at=DUE + dt.timedelta(seconds=1))
    assert kind.outbox.claim(now=DUE, limit=1) == [earlier]
    assert kind.outbox.claim(now=DUE, limit=10) == [later]


def test_a_claim_within_takes_only_the_rows_asked_for(kind):
    first, second = kind.make(2)
    assert kind.outbox.claim(now=DUE, limit=10, within=Q(pk=second)) == [second]
    assert kind.row(first).next_attempt_at == DUE


def test_sent_and_failed_rows_are_never_claimed(kind):
    sent, failed = kind.make(2)
    kind.outbox.mark_sent(sent, now=DUE)
    kind.model.objects.filter(pk=failed).update(status=Status.FAILED)
    assert kind.outbox.claim(now=DUE + dt.timedelta(days=1), limit=10) == []
    assert not kind.outbox.has_due(now=DUE + dt.timedelta(days=1))


# --- Marking ------------------------------------------------------------------------------------


def test_mark_sent_moves_a_claimed_row_once(kind):
    claimed, other = kind.make(2)
    assert kind.outbox.claim(now=DUE, limit=1) == [claimed]
    assert kind.outbox.mark_sent(claimed, now=DUE + dt.timedelta(seconds=3), note="nothing to send") is True
    row = kind.row(claimed)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == (
        Status.SENT, DUE + dt.timedelta(seconds=3), 1, "nothing to send"
    )
    # Already sent: nothing moves, the attempt is not counted twice.
    assert kind.outbox.mark_sent(claimed, now=DUE + dt.timedelta(minutes=1)) is False
    assert kind.outbox.mark_failed(claimed, now=DUE, attempts=2, error="late") is False
    row = kind.row(claimed)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == (
        Status.SENT, DUE + dt.timedelta(seconds=3), 1, "nothing to send"
    )
    assert (kind.row(other).status, kind.row(other).attempts) == (Status.PENDING, 0)


def test_a_given_up_row_is_not_marked_until_staff_retry_it(kind):
    (pk,) = kind.make(1)
    kind.model.objects.filter(pk=pk).update(status=Status.FAILED, attempts=MAX_ATTEMPTS)
    assert kind.outbox.mark_sent(pk, now=DUE) is False
    assert kind.outbox.mark_failed(pk, now=DUE, attempts=MAX_ATTEMPTS + 1, error="again") is False
    assert (kind.row(pk).status, kind.row(pk).attempts, kind.row(pk).sent_at) == (Status.FAILED, MAX_ATTEMPTS, None)


def test_mark_failed_keeps_the_error_and_backs_off(kind):
    claimed, other = kind.make(2)
    kind.outbox.claim(now=DUE, limit=1)
    long_error = "x" * (kind.outbox.policy.error_max_length + 50)
    assert kind.outbox.mark_failed(claimed, now=DUE, attempts=1, error=long_error) is True
    row = kind.row(claimed)
    assert (row.status, row.attempts, row.sent_at) == (Status.PENDING, 1, None)
    assert row.last_error == long_error[: kind.outbox.policy.error_max_length]
    assert row.next_attempt_at == DUE + kind.outbox.backoff(1) == DUE + dt.timedelta(minutes=1)
    assert kind.outbox.claim(now=DUE + dt.timedelta(seconds=59), limit=10) == [other]
    assert kind.outbox.claim(now=DUE + dt.timedelta(minutes=1), limit=10) == [claimed]


def test_the_backoff_doubles_from_its_base_up_to_its_cap(kind):
    outbox = kind.outbox
    assert (outbox.policy.backoff_base, outbox.policy.backoff_cap) == (BACKOFF_BASE, BACKOFF_CAP)
    minutes = [outbox.backoff(n) / dt.timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert outbox.backoff(0) == BACKOFF_BASE and outbox.backoff(500) == BACKOFF_CAP
    other = _with_policy(kind, backoff_base=dt.timedelta(seconds=10), backoff_cap=dt.timedelta(seconds=45))
    assert [other.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 45]


@pytest.mark.parametrize("max_attempts", [MAX_ATTEMPTS, 3])
def test_it_gives_up_after_max_attempts(kind, max_attempts):
    outbox = kind.outbox if max_attempts == MAX_ATTEMPTS else _with_policy(kind, max_attempts=max_attempts)
    assert outbox.policy.max_attempts == max_attempts
    (pk,) = kind.make(1)
    now = DUE
    for attempt in range(1, max_attempts + 1):
        assert outbox.claim(now=now, limit=10) == [pk]
        assert outbox.mark_failed(pk, now=now, attempts=attempt, error=f"attempt {attempt}") is True
        row = kind.row(pk)
        assert row.attempts == attempt
        assert row.status == (Status.FAILED if attempt == max_attempts else Status.PENDING)
        now = row.next_attempt_at
    assert outbox.claim(now=now + dt.timedelta(days=30), limit=10) == []
    assert kind.row(pk).last_error == f"attempt {max_attempts}"


# --- Retry now ----------------------------------------------------------------------------------


def test_retry_now_makes_failed_and_leased_rows_due_at_once_and_leaves_sent_ones(kind):
    failed, leased, sent, untouched = kind.make(4)
    later = DUE + dt.timedelta(hours=6)
    kind.model.objects.filter(pk__in=[failed, untouched]).update(status=Status.FAILED, next_attempt_at=later)
    assert kind.outbox.claim(now=DUE, limit=10) == [leased, sent]
    kind.outbox.mark_sent(sent, now=DUE)
    retry_at = DUE + dt.timedelta(minutes=2)
    assert kind.outbox.retry_now([failed, leased, sent], now=retry_at) == 2
    for pk in (failed, leased):
        assert (kind.row(pk).status, kind.row(pk).next_attempt_at) == (Status.PENDING, retry_at)
    assert (kind.row(sent).status, kind.row(sent).sent_at) == (Status.SENT, DUE)
    assert (kind.row(untouched).status, kind.row(untouched).next_attempt_at) == (Status.FAILED, later)
    assert kind.outbox.claim(now=retry_at, limit=10) == [failed, leased]
    assert kind.outbox.retry_now([], now=retry_at) == 0


# --- The sending loop ---------------------------------------------------------------------------


def test_send_due_hands_claimed_chunks_to_the_handler(kind):
    ids = kind.make(5)
    outbox = _with_policy(kind)  # two at a time
    chunks = []

    def deliver(claimed):
        chunks.append(claimed)
        for pk in claimed:
            outbox.mark_sent(pk, now=DUE)
        return len(claimed)

    assert outbox.send_due(deliver, now=DUE, limit=3) == 3
    assert chunks == [ids[:2], ids[2:3]]
    # `stop` is asked before each chunk: nothing is claimed.
    assert outbox.send_due(deliver, now=DUE, stop=lambda: True) == 0
    assert [kind.row(pk).next_attempt_at for pk in ids[3:]] == [DUE, DUE]
    assert outbox.send_due(deliver, now=DUE, stop=lambda: len(chunks) > 2) == 2
    assert outbox.send_due(deliver, now=DUE) == 0
    assert chunks == [ids[:2], ids[2:3], ids[3:]]
    assert {kind.row(pk).status for pk in ids} == {Status.SENT}


def test_send_due_leaves_what_the_handler_did_not_mark_to_its_lease(kind):
    ids = kind.make(2)
    assert kind.outbox.send_due(lambda claimed: 0, now=DUE, within=Q(pk=ids[0])) == 0
    assert kind.row(ids[0]).next_attempt_at == DUE + kind.outbox.lease()
    assert kind.row(ids[1]).next_attempt_at == DUE
    assert kind.outbox.send_due(lambda claimed: len(claimed), now=DUE) == 1  # only the other one is due
