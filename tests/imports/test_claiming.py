"""claim_ids' path for a database whose writers are not serialized (no SKIP LOCKED, not SQLite's
single writer): each selected row gets its own conditional UPDATE and only the winners are
returned. Our databases take the one-UPDATE path; this pins the other for each caller."""

import datetime as dt

import pytest

from core import claiming

from imports.engine import dispatch

from core import outbox as core_outbox
from imports.notify.outbox import NOTIFICATIONS

from imports.jobs import states
from imports.models import ImportJob, Notification

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Status = ImportJob.Status


@pytest.fixture
def racing(monkeypatch):
    """Writers not serialized; `race(module, after_pk, action)` runs `action` once, right after
    the row `after_pk` was moved, as another connection would between two UPDATEs."""
    monkeypatch.setattr(claiming, "writers_serialized", lambda: False)

    def race(module, after_pk, action):
        def claim_ids(queryset, *, limit, move, move_one):
            def move_one_then_race(pk):
                won = move_one(pk)
                if pk == after_pk:
                    action()
                return won

            return claiming.claim_ids(queryset, limit=limit, move=move, move_one=move_one_then_race)

        monkeypatch.setattr(module, "claim_ids", claim_ids)

    return race


def test_a_claim_returns_only_the_jobs_it_won(demo, racing, settings):
    settings.IMPORT_LEASE_SECONDS = 90
    first, raced, last = (schedule(demo, due_at=DUE) for _ in range(3))
    racing(dispatch, first.pk, lambda: states.transition(raced.pk, Status.PENDING, Status.CANCELLED))
    assert dispatch.imports_claim_due(now=DUE, limit=10) == [first.pk, last.pk]
    jobs = ImportJob.objects.in_bulk([first.pk, raced.pk, last.pk])
    assert [jobs[pk].status for pk in (first.pk, raced.pk, last.pk)] == [
        Status.IN_PROGRESS, Status.CANCELLED, Status.IN_PROGRESS
    ]
    assert jobs[last.pk].lease_expires_at == DUE + dt.timedelta(seconds=90)


def test_an_outbox_claim_returns_only_the_messages_it_won(demo, racing):
    first, sent, taken, last = (Notification.for_job(schedule(demo, due_at=DUE).pk, now=DUE) for _ in range(4))
    for notification in (first, sent, taken, last):
        notification.save()

    def other_senders():
        NOTIFICATIONS.mark_sent(sent.pk, now=DUE)  # one sent it...
        Notification.objects.filter(pk=taken.pk).update(next_attempt_at=DUE + NOTIFICATIONS.lease())  # ...one claimed it

    racing(core_outbox, first.pk, other_senders)
    assert NOTIFICATIONS.claim(now=DUE, limit=10) == [first.pk, last.pk]
    rows = Notification.objects.in_bulk([first.pk, sent.pk, taken.pk, last.pk])
    assert rows[first.pk].next_attempt_at == rows[last.pk].next_attempt_at == DUE + NOTIFICATIONS.lease()
    assert (rows[sent.pk].status, rows[sent.pk].next_attempt_at) == (Notification.Status.SENT, DUE)
