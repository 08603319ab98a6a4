"""The database's clock decides (issue 22): a worker whose own clock is minutes off runs nothing
early, steals no live lease, writes no time in the future, and its broker locks and outbox times
are the database's. Each test plays a worker whose clock is SKEW away from the database's: its
timezone.now() (freezegun) says T0 + SKEW while the database's clock says T0 (the offset
core.clock would measure; on PostgreSQL, tests/core/test_clock.py measures a real one)."""

import contextlib
import datetime as dt

import pytest
from django.db import OperationalError
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from freezegun import freeze_time

from accounts.webhooks import webhook_endpoint_save
from core import clock
from imports import tasks
from imports.engine import broker as broker_module
from imports.engine import worker, workers
from imports.engine.broker import FifoORM
from imports.engine.dispatch import dispatch_due_imports, dispatch_housekeeping, dispatch_tick, jobs_in_flight
from imports.engine.runner import run_batch_task
from imports.models import EngineWorker, ImportJob, ImportRow, Notification, WebhookDelivery
from imports.notify.outbox import NOTIFICATIONS
from imports.notify.send import emails_send

from .helpers import UTC, schedule

T0 = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)
SKEW = dt.timedelta(minutes=5)
Status = ImportJob.Status


@pytest.fixture(autouse=True)
def empty_queue(db):
    """The broker's queue, emptied around each test: the dispatcher and the senders enqueue tasks,
    and Redis keeps them across the test's rollback (the next module's tests count what is queued)."""
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.purge_queue()
    yield
    broker.purge_queue()


@pytest.fixture
def process_clock(monkeypatch):
    """`process_clock(offset)`: a context in which this process's clock is `offset` away from the
    database's, and the database's clock says T0 (or `at`)."""

    @contextlib.contextmanager
    def skewed(offset: dt.timedelta, *, at: dt.datetime = T0):
        seconds = -offset.total_seconds()  # the database's clock minus this process's
        monkeypatch.setattr(clock, "clock_offset", lambda using="default": dt.timedelta(seconds=seconds))
        monkeypatch.setattr(clock, "offset_seconds", lambda using="default": seconds)
        monkeypatch.setattr(workers, "offset_seconds", lambda using="default": seconds)
        with freeze_time(at + offset):
            assert clock.db_now() == at
            yield

    return skewed


@pytest.fixture
def supervisor(monkeypatch):
    """imports_worker's dispatcher, one round at a time. Its round starts by dropping a connection
    left in a transaction (close_old_connections), which inside this test's transaction would drop
    the test's own connection on PostgreSQL: not what these tests are about."""
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    return worker.Supervisor(command=["true"], poll_seconds=1.0, recovery_seconds=5.0)


def job_due(demo, due_at, **fields) -> ImportJob:
    with freeze_time(T0 - dt.timedelta(hours=1)):
        job = schedule(demo, due_at=due_at)
    if fields:
        ImportJob.objects.filter(pk=job.pk).update(**fields)
    return job


def status(job) -> str:
    return ImportJob.objects.values_list("status", flat=True).get(pk=job.pk)


# --- what is due, leases --------------------------------------------------------------------------


def test_a_fast_worker_runs_nothing_before_its_due_time(demo, process_clock, supervisor):
    later = job_due(demo, T0 + dt.timedelta(seconds=60))
    due = job_due(demo, T0 - dt.timedelta(seconds=1))

    with process_clock(+SKEW):
        assert dispatch_tick().claimed == 1
        assert dispatch_due_imports().claimed == 0
        supervisor.step()

    assert status(later) == Status.PENDING
    claimed = ImportJob.objects.get(pk=due.pk)
    assert claimed.status == Status.IN_PROGRESS
    # The lease runs from the database's now: a correct worker sees it live for the whole lease.
    assert claimed.claimed_at == T0 and claimed.lease_expires_at == T0 + dt.timedelta(seconds=90)


def test_the_dispatcher_waits_for_the_due_time_by_the_database_clock(demo, process_clock, supervisor):
    job_due(demo, T0 + dt.timedelta(milliseconds=300))
    with process_clock(+SKEW):
        assert supervisor.step() == pytest.approx(0.3)


def test_a_fast_worker_steals_no_live_lease(demo, process_clock):
    live = job_due(
        demo, T0 - dt.timedelta(seconds=60), status=Status.IN_PROGRESS,
        claimed_at=T0 - dt.timedelta(seconds=60), lease_expires_at=T0 + dt.timedelta(seconds=30),
    )
    with process_clock(+SKEW):
        assert dispatch_housekeeping() == 0
        assert jobs_in_flight(now=clock.db_now()) == 1
        assert dispatch_tick().claimed == 0
    assert status(live) == Status.IN_PROGRESS


def test_a_slow_worker_recovers_an_ended_lease_and_runs_what_is_due(demo, process_clock):
    ended = job_due(
        demo, T0 - dt.timedelta(minutes=3), status=Status.IN_PROGRESS,
        claimed_at=T0 - dt.timedelta(minutes=2), lease_expires_at=T0 - dt.timedelta(seconds=1),
    )
    due = job_due(demo, T0 - dt.timedelta(seconds=1))
    with process_clock(-SKEW):
        assert dispatch_housekeeping() == 1
        assert dispatch_tick().claimed == 2
    assert status(ended) == status(due) == Status.IN_PROGRESS


# --- the times a worker writes ------------------------------------------------------------------


def test_a_fast_worker_writes_the_database_time(demo, process_clock, settings):
    webhook_endpoint_save(actor=demo.admin_abbie, company=demo.abbiebox, url="https://hooks.abbiebox.example/icp")
    job = job_due(demo, T0 - dt.timedelta(seconds=1))
    with process_clock(+SKEW):
        dispatch_tick()
        run_batch_task([job.pk], T0)

    job.refresh_from_db()
    assert job.status == Status.COMPLETED and job.finished_at == T0
    assert list(ImportRow.objects.filter(job=job).values_list("processed_at", flat=True)) == [T0]
    notification = Notification.objects.get(job=job)
    assert (notification.created_at, notification.next_attempt_at) == (T0, T0)
    delivery = WebhookDelivery.objects.get(job=job)
    assert (delivery.created_at, delivery.next_attempt_at) == (T0, T0)
    assert delivery.payload["data"]["finished_at"] == "2024-07-22T15:00:00Z"


def test_webhook_retries_are_backed_off_from_the_database_time(demo, process_clock, settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.WEBHOOK_TIMEOUT = 2
    webhook_endpoint_save(actor=demo.admin_abbie, company=demo.abbiebox, url="http://127.0.0.1:9/hooks")  # refused
    job = job_due(demo, T0 - dt.timedelta(seconds=1))
    with process_clock(+SKEW):
        dispatch_tick()
        run_batch_task([job.pk], T0)
        tasks.outbox_send_task()

    delivery = WebhookDelivery.objects.get(job=job)
    assert delivery.attempts == 1 and delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.next_attempt_at == T0 + dt.timedelta(minutes=1)  # not six minutes: the backoff's first step


def test_the_outbox_takes_only_what_is_due_by_the_database_clock(demo, process_clock, mailoutbox):
    backed_off = job_due(demo, T0 - dt.timedelta(minutes=10), status=Status.COMPLETED, finished_at=T0)
    due = job_due(demo, T0 - dt.timedelta(minutes=10), status=Status.COMPLETED, finished_at=T0)
    Notification.for_job(backed_off.pk, now=T0 + dt.timedelta(minutes=1)).save()  # its retry is a minute away
    Notification.for_job(due.pk, now=T0).save()

    with process_clock(+SKEW):
        assert emails_send() == 1

    assert len(mailoutbox) == 1
    sent = Notification.objects.get(job=due)
    assert sent.status == Notification.Status.SENT and sent.sent_at == T0
    waiting = Notification.objects.get(job=backed_off)
    assert waiting.status == Notification.Status.PENDING and waiting.next_attempt_at == T0 + dt.timedelta(minutes=1)


def test_an_email_lease_runs_from_the_database_time(demo, process_clock):
    done = job_due(demo, T0 - dt.timedelta(minutes=10), status=Status.COMPLETED, finished_at=T0)
    Notification.for_job(done.pk, now=T0).save()
    with process_clock(+SKEW):
        (claimed,) = NOTIFICATIONS.claim(now=clock.db_now(), limit=None)
    assert Notification.objects.get(pk=claimed).next_attempt_at == T0 + NOTIFICATIONS.lease()


# --- the broker's task locks ----------------------------------------------------------------------


@pytest.fixture
def orm_broker(monkeypatch, db):
    """The FIFO ORM broker on the default database, whatever broker this run was configured with."""
    monkeypatch.setattr(Conf, "ORM", "default")
    monkeypatch.setattr(broker_module, "sleep", lambda seconds: None)  # an empty poll returns at once
    broker = FifoORM(list_key="clock-test")
    yield broker
    broker.purge_queue()


def test_a_fast_workers_task_is_visible_to_the_others_at_once(orm_broker, process_clock):
    with process_clock(+SKEW):
        task_id = orm_broker.enqueue(SignedPackage.dumps({"n": 1}))
    assert OrmQ.objects.get(pk=task_id).lock == T0  # not five minutes ahead

    with process_clock(dt.timedelta(0), at=T0 + dt.timedelta(seconds=1)):
        assert orm_broker.queue_size() == 1
        (taken,) = orm_broker.dequeue()
    assert taken[0] == task_id


def test_a_slow_worker_sees_everyones_tasks_and_a_fast_one_does_not_take_a_task_being_run(orm_broker, process_clock):
    with process_clock(dt.timedelta(0)):
        task_id = orm_broker.enqueue(SignedPackage.dumps({"n": 1}))

    with process_clock(-SKEW, at=T0 + dt.timedelta(seconds=1)):
        (taken,) = orm_broker.dequeue()
        assert taken[0] == task_id
    # Taken: locked for Q_RETRY from the database's now, whoever took it.
    assert OrmQ.objects.get(pk=task_id).lock == T0 + dt.timedelta(seconds=1 + Conf.RETRY)

    with process_clock(+SKEW, at=T0 + dt.timedelta(seconds=2)):
        assert orm_broker.dequeue() is None
        assert (orm_broker.queue_size(), orm_broker.lock_size()) == (0, 1)


# --- each worker recorded: its clock, its last completed round, its last failure -----------------


def test_the_dispatcher_records_its_rounds_and_its_clock(demo, process_clock, supervisor):
    with process_clock(+SKEW):
        supervisor.step()

    (seen,) = EngineWorker.objects.all()
    assert seen.name == workers.worker_name() and seen.role == EngineWorker.Role.DISPATCHER
    assert seen.clock_offset_seconds == 300.0  # five minutes fast
    assert seen.last_seen_at == seen.last_round_at == T0
    assert seen.last_failure_at is None


def test_the_dispatcher_records_a_failed_round_with_its_reason(demo, process_clock, supervisor, monkeypatch):
    with process_clock(dt.timedelta(0)):
        supervisor.step()

    def down(**kwargs):
        raise OperationalError("could not connect to server: Connection refused\n\tIs the server running?")

    monkeypatch.setattr(worker, "dispatch_housekeeping", down)
    monkeypatch.setattr(worker, "next_pending_due", lambda: down())
    supervisor._last_housekeeping = float("-inf")
    with process_clock(dt.timedelta(0), at=T0 + dt.timedelta(seconds=30)):
        assert supervisor.step() == 1

    seen = EngineWorker.objects.get()
    assert seen.last_round_at == T0  # the failed round does not count
    assert seen.last_failure_at == T0 + dt.timedelta(seconds=30)
    assert seen.last_failure == "OperationalError: could not connect to server: Connection refused Is the server running?"


def test_a_record_the_database_refuses_does_not_stop_the_dispatcher(demo, process_clock, supervisor, monkeypatch):
    def refused():
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(workers, "db_now", refused)
    due = job_due(demo, T0 - dt.timedelta(seconds=1))
    with process_clock(dt.timedelta(0)):
        assert supervisor.step() == 1.0
    assert status(due) == Status.IN_PROGRESS
    assert not EngineWorker.objects.exists()


def test_the_every_minute_tick_records_completed_and_failed_runs(demo, process_clock, monkeypatch):
    with process_clock(-SKEW):
        tasks.dispatch_tick_task()
    seen = EngineWorker.objects.get()
    assert seen.role == EngineWorker.Role.TICK and seen.last_round_at == T0 and seen.clock_offset_seconds == -300.0

    def timed_out(**kwargs):
        raise TimeoutError("Task exceeded maximum timeout value (60 seconds)")

    monkeypatch.setattr(tasks, "dispatch_tick", timed_out)
    with process_clock(-SKEW, at=T0 + dt.timedelta(minutes=1)), pytest.raises(TimeoutError):
        tasks.dispatch_tick_task()
    seen.refresh_from_db()
    assert seen.last_round_at == T0
    assert seen.last_failure_at == T0 + dt.timedelta(minutes=1)
    assert seen.last_failure == "TimeoutError: Task exceeded maximum timeout value (60 seconds)"


def test_workers_long_gone_are_forgotten_when_a_new_one_records_itself(db, process_clock):
    EngineWorker.objects.create(name="old:1", role="dispatcher", last_seen_at=T0 - dt.timedelta(days=2))
    EngineWorker.objects.create(name="recent:1", role="dispatcher", last_seen_at=T0 - dt.timedelta(hours=1))
    with process_clock(dt.timedelta(0)):
        assert workers.worker_record(role=EngineWorker.Role.DISPATCHER, completed=True)
    assert sorted(EngineWorker.objects.values_list("name", flat=True)) == sorted(["recent:1", workers.worker_name()])


# --- PostgreSQL: the offset really measured -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("offset", [+SKEW, -SKEW], ids=["fast", "slow"])
def test_on_postgresql_a_shifted_process_clock_changes_nothing_due_or_claimed(demo, monkeypatch, offset):
    """As libfaketime shifts it: this process's real-time clock (what core.clock measures against
    the server's clock_timestamp()) and its timezone.now() both `offset` away from the server's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (server_now,) = cursor.fetchone()
    later = job_due(demo, server_now + dt.timedelta(seconds=60))
    due = job_due(demo, server_now - dt.timedelta(seconds=5))

    clock.forget()
    real = clock._realtime
    monkeypatch.setattr(clock, "_realtime", lambda: real() + offset.total_seconds())
    with freeze_time(dt.datetime.now(UTC) + offset):
        assert clock.offset_seconds() == pytest.approx(-offset.total_seconds(), abs=1)
        assert dispatch_tick().claimed == 1
    clock.forget()

    assert status(later) == Status.PENDING
    claimed = ImportJob.objects.get(pk=due.pk)
    assert claimed.status == Status.IN_PROGRESS
    assert abs((claimed.claimed_at - server_now).total_seconds()) < 5


def test_staff_see_the_engine_workers_in_the_admin(staff_client):
    from django.urls import reverse

    EngineWorker.objects.create(name="worker-1:41", role="dispatcher", clock_offset_seconds=300.0, last_seen_at=T0)
    page = staff_client.get(reverse("admin:imports_engineworker_changelist")).content.decode()
    assert "worker-1:41" in page and "300.0" in page
    assert staff_client.get(reverse("admin:imports_engineworker_add")).status_code == 403
