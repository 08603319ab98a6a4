"""No more sender tasks than can work (imports.notify.senders, core.outbox.SenderPlaces): at most
IMPORT_OUTBOX_SENDERS of a kind queued or running, however many runs ask; a sender frees its
place when it ends, or hands it to the task that goes on with the rest when its budget ran out."""

import datetime as dt

import pytest
from django.conf import settings
from freezegun import freeze_time

from core.models import OutboxSenderPlace
from core.outbox import Budget
from imports import tasks
from imports.engine import outbox_lane
from imports.engine.dispatch import OUTBOX_TASK, imports_claim_due
from imports.engine.runner import run_jobs
from imports.models import Notification
from imports.notify.senders import sender_places, senders_enqueue

from .helpers import UTC, schedule
from .test_fanout import queued_tasks

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
HOLD = dt.timedelta(seconds=settings.Q_RETRY + settings.Q_TIMEOUT)


@pytest.fixture(autouse=True)
def _empty_queues():
    """Redis outlives each test's database: tasks an earlier test left would be read as this one's."""
    if settings.REDIS_URL:
        queued_tasks()


@freeze_time(DUE)
def test_a_hundred_single_job_runs_enqueue_no_more_senders_than_their_places(
    demo, mailoutbox, django_capture_on_commit_callbacks
):
    # An email another run left (its worker died before sending it): due all along, so every run
    # below finds others' emails due after sending its own, and asks for senders.
    left = schedule(demo, due_at=DUE + dt.timedelta(days=1))
    Notification.for_job(left.pk, now=DUE, kind=Notification.Kind.IMPORT_SCHEDULED).save()
    for _ in range(100):
        job = schedule(demo, due_at=DUE)
        with django_capture_on_commit_callbacks(execute=True):
            run_jobs(imports_claim_due(now=DUE, limit=1), now=DUE)
        assert Notification.objects.get(job=job).status == Notification.Status.SENT  # its own, at once
    queued = queued_tasks()
    # (Before the places: 4 senders enqueued by each of these runs, 400 tasks.)
    assert [task["func"] for task in queued] == [OUTBOX_TASK] * settings.IMPORT_OUTBOX_SENDERS
    assert len({task["kwargs"]["place"] for task in queued}) == settings.IMPORT_OUTBOX_SENDERS
    # The senders run: the first sends what was left and frees its place; so do the others.
    results = [tasks.outbox_send_task(*task["args"], **task["kwargs"]) for task in queued]
    assert results == [1] + [0] * (settings.IMPORT_OUTBOX_SENDERS - 1)
    assert sender_places("emails").held(now=DUE) == 0
    assert senders_enqueue("emails", now=DUE) == 1  # a place is free again for the next ask


def test_places_bound_the_senders_and_free_themselves_after_their_hold(db, settings):
    settings.IMPORT_OUTBOX_SENDERS = 2
    places = sender_places("emails")
    first = places.take(now=DUE, count=3)
    assert len(first) == 2 and places.take(now=DUE) == []
    assert OutboxSenderPlace.objects.filter(kind="emails").count() == 2  # made on first need
    assert places.free(first[0], now=DUE) and not places.free(first[0], now=DUE)
    (again,) = places.take(now=DUE)
    assert again not in first
    # A task the broker lost holds its place until the hold ends (Q_RETRY + Q_TIMEOUT), no longer.
    assert places.take(now=DUE + HOLD - dt.timedelta(seconds=1)) == []
    late = places.take(now=DUE + HOLD, count=2)
    assert len(late) == 2
    # The lost task turns up after all: its place is another's, it runs but frees nothing of theirs.
    assert not places.started(first[1], now=DUE + HOLD) and not places.free(first[1], now=DUE + HOLD)
    assert places.held(now=DUE + HOLD) == 2
    # Kinds have places of their own.
    assert len(sender_places("webhooks").take(now=DUE, count=2)) == 2


@freeze_time(DUE)
def test_a_sender_whose_budget_ran_out_hands_its_place_to_the_task_that_goes_on(db, monkeypatch, settings):
    settings.IMPORT_OUTBOX_SENDERS = 1
    (place,) = sender_places("emails").take(now=DUE)
    clock = [0.0]

    def sending_the_whole_budget(**kwargs):
        clock[0] += 20
        return 3

    spent = Budget(20, clock=lambda: clock[0])
    monkeypatch.setitem(outbox_lane.KINDS, "emails", outbox_lane.SenderKind(has_due=lambda **k: True, send=sending_the_whole_budget))
    assert outbox_lane.outbox_send("emails", budget=spent, place=place) == 3
    (task,) = queued_tasks()
    assert (task["func"], task["args"], task["kwargs"]["place"]) == (OUTBOX_TASK, ("emails",), place)
    assert sender_places("emails").take(now=DUE) == []  # still one sender on its way: the one going on
    # Nothing more due when it ends: the place is freed, nothing enqueued.
    monkeypatch.setitem(outbox_lane.KINDS, "emails", outbox_lane.SenderKind(has_due=lambda **k: False, send=lambda **k: 0))
    assert outbox_lane.outbox_send("emails", budget=Budget(20, clock=lambda: clock[0]), place=place) == 0
    assert [t["id"] for t in queued_tasks()] in ([task["id"]], [])  # (the ORM broker's table keeps what was read)
    assert len(sender_places("emails").take(now=DUE)) == 1
