"""The fan-out: the dispatcher claims due jobs in batches and enqueues each batch as its own task
(ids and the claim's time); a batch task runs only what its claim still holds."""

import datetime as dt

import pytest
from django.conf import settings
from django.db.models import F
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from freezegun import freeze_time

from core.lanes import JOBS, LANES, OUTBOX, lane_queue

from imports import tasks

from imports.engine import dispatch

from imports.notify.senders import senders_enqueue

from imports.engine import worker
from imports.engine.dispatch import OUTBOX_TASK, RUN_BATCH_TASK, dispatch_tick, jobs_in_flight
from imports.engine.dispatch import imports_claim_due, imports_recover_expired
from imports.models import PROVISIONING_KEY_PREFIX, ImportJob, Notification
from orders.models import Subscription

from .helpers import UTC, schedule

T0 = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)
Status = ImportJob.Status


# Real commits: the Redis broker is written after commit (see imports.engine.dispatch._enqueue_batch).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_queue():
    """The broker's queue, emptied around each test (Redis keeps it across the test's rollback)."""
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.purge_queue()
    yield
    broker.purge_queue()


def queued_tasks() -> list[dict]:
    """Every queued task, in queue order, taken as a cluster takes them: locked in the ORM
    broker's table (read from it: the broker hands out only tasks enqueued before now, and clocks
    are frozen here), taken off Redis."""
    from django_q.brokers import get_broker

    if not settings.REDIS_URL:
        queued = list(OrmQ.objects.order_by("id"))
        OrmQ.objects.filter(pk__in=[task.pk for task in queued]).update(lock=F("lock") + dt.timedelta(days=1))
        return [SignedPackage.loads(task.payload) for task in queued]
    tasks = []
    for lane in LANES:  # the jobs' queue, then the outbox's
        broker = get_broker(lane_queue(lane))
        # dequeue() blocks for a second on an empty list: take only while the list holds a task.
        while broker.queue_size() and (taken := broker.dequeue()):
            tasks.extend(SignedPackage.loads(payload) for _, payload in taken)
    return tasks


orm_broker_only = pytest.mark.skipif(bool(settings.REDIS_URL), reason="about the ORM broker")


@pytest.fixture(autouse=True)
def _empty_queues():
    """Redis outlives each test's database: tasks an earlier test left in a lane (an outbox sender,
    say) would be read as this test's. (The ORM broker's queue is a table, emptied with the database.)"""
    if settings.REDIS_URL:
        queued_tasks()


def provisioned():
    """Subscriptions created by import rows (the demo data has a few of its own)."""
    return Subscription.objects.filter(provisioning_key__startswith=PROVISIONING_KEY_PREFIX)


def statuses(jobs) -> list[str]:
    return [ImportJob.objects.get(pk=job.pk).status for job in jobs]


@freeze_time(T0)
def test_a_tick_claims_due_jobs_in_batches_and_enqueues_one_task_per_batch(demo):
    due = [schedule(demo, due_at=T0 - dt.timedelta(seconds=s)) for s in (5, 4, 3, 2, 1)]
    later = schedule(demo, due_at=T0 + dt.timedelta(seconds=1))
    summary = dispatch_tick(now=T0, batch_size=2)
    assert (summary.claimed, summary.batches) == (5, 3)
    queued = queued_tasks()
    assert [task["func"] for task in queued] == [RUN_BATCH_TASK] * 3
    # Ids only (oldest due first) and the claim's time, the token a late delivery is checked against.
    assert [task["args"] for task in queued] == [
        ([due[0].pk, due[1].pk], T0), ([due[2].pk, due[3].pk], T0), ([due[4].pk], T0)
    ]
    assert statuses(due) == [Status.IN_PROGRESS] * 5
    # The jobs record the outcome: a batch that succeeds leaves no task result to store and prune.
    assert [task["save"] for task in queued] == [False] * 3
    assert statuses([later]) == [Status.PENDING]
    assert not provisioned().exists()  # nothing runs in the dispatcher itself


@freeze_time(T0)
def test_a_bulk_import_is_enqueued_as_a_task_of_its_own(demo):
    from imports.bulk.services import imports_bulk_start

    from .bulk_helpers import csv_bytes, lines_for

    first = schedule(demo, due_at=T0 - dt.timedelta(seconds=3))
    bulk = imports_bulk_start(
        user=demo.admin_abbie, account_type="companies", file_name="c.csv", due_at=None, now=T0 - dt.timedelta(seconds=2),
        content=csv_bytes(lines_for("companies", {"Parent Account Id": "410002", "Company name": "ONE"})),
    ).job
    last = schedule(demo, due_at=T0 - dt.timedelta(seconds=1))
    assert dispatch_tick(now=T0, batch_size=10).claimed == 3
    assert [task["args"] for task in queued_tasks()] == [([first.pk, last.pk], T0), ([bulk.pk], T0)]


@freeze_time(T0)
def test_a_tick_stops_claiming_at_the_in_flight_limit_for_all_clusters_together(demo):
    jobs = [schedule(demo, due_at=T0) for _ in range(5)]
    imports_claim_due(now=T0, limit=1)  # another cluster's claim, still running
    summary = dispatch_tick(now=T0, batch_size=10, in_flight_limit=3)
    assert summary.claimed == 2
    assert jobs_in_flight(now=T0) == 3
    assert statuses(jobs).count(Status.PENDING) == 2
    assert dispatch_tick(now=T0, batch_size=10, in_flight_limit=3).claimed == 0


@orm_broker_only
@freeze_time(T0)
def test_a_claim_and_its_task_commit_together_on_the_orm_broker(demo, monkeypatch):
    jobs = [schedule(demo, due_at=T0) for _ in range(2)]

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("django_q.tasks.async_task", broker_down)
    with pytest.raises(ConnectionError):
        dispatch_tick(now=T0)
    assert statuses(jobs) == [Status.PENDING] * 2  # not left In progress without a task


def test_a_batch_task_runs_its_claim_and_a_second_delivery_does_nothing(demo, mailoutbox, django_capture_on_commit_callbacks):
    jobs = [schedule(demo, due_at=T0) for _ in range(3)]
    with freeze_time(T0):
        dispatch_tick(now=T0)
    ((ids, claimed_at),) = [task["args"] for task in queued_tasks()]
    with freeze_time(T0 + dt.timedelta(seconds=1)), django_capture_on_commit_callbacks(execute=True):
        assert tasks.run_batch_task(ids, claimed_at)["completed"] == 3
        assert tasks.run_batch_task(ids, claimed_at)["completed"] == 0  # redelivered by the broker
    assert statuses(jobs) == [Status.COMPLETED] * 3
    assert provisioned().count() == 3
    assert len(mailoutbox) == 3


def test_a_task_arriving_after_its_jobs_were_handed_back_and_claimed_again_runs_nothing(demo):
    job = schedule(demo, due_at=T0)
    with freeze_time(T0):
        dispatch_tick(now=T0)
    ((ids, stale_claim),) = [task["args"] for task in queued_tasks()]
    later = T0 + dt.timedelta(minutes=5)
    with freeze_time(later):
        assert imports_recover_expired(now=later) == 1  # the worker that took the task died
        assert imports_claim_due(now=later, limit=10) == [job.pk]  # a second claim holds it now
        assert tasks.run_batch_task(ids, stale_claim)["completed"] == 0
        assert statuses([job]) == [Status.IN_PROGRESS]
        assert tasks.run_batch_task(ids, later)["completed"] == 1
    assert provisioned().count() == 1


@freeze_time(T0)
def test_the_every_minute_fallback_recovers_claims_and_enqueues_without_running(demo):
    stuck = schedule(demo, due_at=T0 - dt.timedelta(minutes=10))
    ImportJob.objects.filter(pk=stuck.pk).update(
        status=Status.IN_PROGRESS, claimed_at=T0 - dt.timedelta(minutes=9), lease_expires_at=T0 - dt.timedelta(minutes=1)
    )
    schedule(demo, due_at=T0)
    result = tasks.dispatch_tick_task()
    assert result == {"recovered": 1, "claimed": 2, "batches": 1, "completed": 0, "completed_with_errors": 0, "failed": 0, "notified": 0}
    assert len(queued_tasks()) == 1
    assert not provisioned().exists()


def test_the_outbox_task_sends_what_the_outbox_has_due(demo, mailoutbox, monkeypatch):
    job = schedule(demo, due_at=T0)
    with freeze_time(T0):
        dispatch_tick(now=T0)
        assert len(queued_tasks()) == 1  # taken by a worker,
        monkeypatch.setattr("imports.engine.runner.emails_send", lambda **kwargs: 0)  # which died
        tasks.run_batch_task([job.pk], T0)
        monkeypatch.undo()
    assert Notification.objects.get().status == Notification.Status.PENDING
    assert tasks.outbox_send_task() == 1
    assert len(mailoutbox) == 1


# --- the dispatcher loop of imports_worker (one round at a time) ---------------------------


@pytest.fixture
def supervisor():
    return worker.Supervisor(command=["true"], stop_seconds=1, poll_seconds=1.0, recovery_seconds=5.0)


def test_the_dispatcher_waits_until_the_next_due_time_and_not_longer_than_its_poll(demo, supervisor):
    with freeze_time(T0):
        assert supervisor.step() == 1.0  # nothing pending
        job = schedule(demo, due_at=T0 + dt.timedelta(milliseconds=300))
        assert supervisor.step() == pytest.approx(0.3)
        assert statuses([job]) == [Status.PENDING]
    with freeze_time(T0 + dt.timedelta(seconds=1)):
        assert supervisor.step() == 1.0
        assert statuses([job]) == [Status.IN_PROGRESS]
        assert len(queued_tasks()) == 1


def test_the_dispatcher_looks_again_soon_while_a_burst_exceeds_the_in_flight_limit(demo, supervisor, settings):
    settings.IMPORT_DISPATCH_IN_FLIGHT = 2
    with freeze_time(T0):
        for _ in range(3):
            schedule(demo, due_at=T0)
        assert supervisor.step() == worker.BURST_POLL_SECONDS
        assert ImportJob.objects.filter(status=Status.PENDING).count() == 1


def test_the_dispatcher_backs_off_while_the_database_fails_and_recovers(demo, supervisor, monkeypatch):
    def down(**kwargs):
        raise RuntimeError("database unreachable")

    schedule(demo, due_at=T0)
    monkeypatch.setattr(worker, "dispatch_tick", down)
    with freeze_time(T0):
        assert [supervisor.step() for _ in range(4)] == [1, 2, 4, 8]
        monkeypatch.setattr(worker, "dispatch_tick", dispatch.dispatch_tick)
        assert supervisor.step() == 1.0
    assert ImportJob.objects.get().status == Status.IN_PROGRESS


def test_the_dispatcher_hands_expired_leases_back_and_enqueues_a_sender_for_unsent_emails(demo, supervisor):
    job = schedule(demo, due_at=T0 - dt.timedelta(minutes=5))
    ImportJob.objects.filter(pk=job.pk).update(
        status=Status.IN_PROGRESS, claimed_at=T0 - dt.timedelta(minutes=4), lease_expires_at=T0 - dt.timedelta(seconds=1)
    )
    done = schedule(demo, due_at=T0 - dt.timedelta(minutes=5))
    Notification.for_job(done.pk, now=T0).save()
    with freeze_time(T0):
        supervisor.step()
    funcs = [(task["func"], task["cluster"]) for task in queued_tasks()]
    # (Two queues: the sender in the outbox lane's, the recovered job, claimed again, in the jobs'.)
    assert sorted(funcs) == [(OUTBOX_TASK, lane_queue(OUTBOX)), (RUN_BATCH_TASK, lane_queue(JOBS))]
    assert statuses([job]) == [Status.IN_PROGRESS]


@orm_broker_only
def test_the_orm_broker_hands_tasks_out_in_the_order_they_were_enqueued(db):
    from django_q.brokers import get_broker

    from imports.engine.broker import FifoORM

    broker = get_broker()
    assert isinstance(broker, FifoORM)
    ids = [broker.enqueue(SignedPackage.dumps({"n": n})) for n in range(5)]
    # Heap order scrambled as reused space does it: the oldest task rewritten last.
    OrmQ.objects.filter(pk=ids[0]).update(key=broker.list_key)
    taken = [SignedPackage.loads(broker.dequeue()[0][1])["n"] for _ in range(5)]
    assert taken == [0, 1, 2, 3, 4]


def test_sender_tasks_are_named_for_the_admin_and_go_to_the_outbox_lane(demo):
    assert senders_enqueue("emails", now=T0, count=2) == 2
    queue = lane_queue(OUTBOX)
    assert [(task["func"], task["args"], task["name"], task["cluster"]) for task in queued_tasks()] == [
        (OUTBOX_TASK, ("emails",), "imports outbox: emails", queue)
    ] * 2
