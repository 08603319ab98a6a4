"""Transient database trouble is not a verdict on an order (issue: a few seconds of database restart
failed valid jobs for good). A blip is retried; trouble that outlasts the retries leaves the jobs
to lease recovery; only trouble past the deadline fails a job, with a reason saying so."""

import datetime as dt
import sqlite3

import psycopg.errors
import pytest
from django.db import IntegrityError, InterfaceError, OperationalError

from core.transient import is_transient
from imports.engine import runner
from imports.engine.config import EngineConfig
from imports.engine.dispatch import dispatch_due_imports, imports_claim_due
from imports.models import ImportJob, Notification
from orders.models import Subscription

from .helpers import UTC, schedule

pytestmark = pytest.mark.django_db
Status = ImportJob.Status
DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)


def wrapped(cause: BaseException, kind=OperationalError) -> Exception:
    """What Django raises: its own error class, caused by the driver's."""
    try:
        raise kind(str(cause)) from cause
    except kind as error:
        return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (wrapped(psycopg.errors.AdminShutdown("terminating connection due to administrator command")), True),
        (wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")), True),
        (wrapped(psycopg.errors.SerializationFailure("could not serialize access")), True),
        (wrapped(psycopg.errors.DeadlockDetected("deadlock detected")), True),
        (wrapped(psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")), True),
        (wrapped(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")), True),
        (wrapped(psycopg.OperationalError("server closed the connection unexpectedly")), True),
        (wrapped(psycopg.InterfaceError("connection already closed"), InterfaceError), True),
        (wrapped(sqlite3.OperationalError("database is locked")), True),
        (wrapped(sqlite3.OperationalError("no such table: imports_importjob")), False),
        (wrapped(psycopg.errors.UndefinedTable('relation "x" does not exist')), False),
        (wrapped(psycopg.errors.UniqueViolation("duplicate key"), IntegrityError), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_errors_are_transient(error, transient):
    assert is_transient(error) is transient


@pytest.fixture
def waits(monkeypatch):
    """The runner's waits between tries, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(runner, "sleep", recorded.append)
    return recorded


def blip(monkeypatch, *, times: int | None):
    """_run_batch raises a lost-connection error `times` times (None: always), then runs for real."""
    real, calls = runner._run_batch, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if times is None or len(calls) <= times:
            raise wrapped(psycopg.errors.AdminShutdown("terminating connection due to administrator command"))
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "_run_batch", flaky)
    return calls


def test_a_database_blip_is_retried_and_the_job_completes(demo, monkeypatch, waits, settings):
    settings.IMPORT_TRANSIENT_RETRY_SECONDS = 20
    jobs = [schedule(demo, due_at=DUE) for _ in range(3)]
    blip(monkeypatch, times=2)
    summary = dispatch_due_imports(now=DUE)
    assert (summary.completed, summary.failed) == (3, 0)
    assert waits == [0.5, 1.0]
    assert ImportJob.objects.filter(pk__in=[j.pk for j in jobs], status=Status.COMPLETED).count() == 3
    assert Subscription.objects.filter(order__import_row__job__in=jobs).count() == 3


def test_trouble_that_outlasts_the_retries_leaves_the_jobs_to_lease_recovery(demo, monkeypatch, waits, settings):
    settings.IMPORT_TRANSIENT_RETRY_SECONDS = 4
    job = schedule(demo, due_at=DUE)
    claimed = imports_claim_due(now=DUE, limit=10)
    calls = blip(monkeypatch, times=None)
    assert runner.run_jobs(claimed, now=DUE + dt.timedelta(seconds=5), claimed_at=DUE) == {}
    assert waits == [0.5, 1.0, 2.0]  # 3.5 s waited; the next wait (4 s) would pass the budget
    assert len(calls) == 4  # tried once, then once after each wait, as one batch: never one by one
    job.refresh_from_db()
    assert (job.status, job.claimed_at) == (Status.IN_PROGRESS, DUE)  # still under its claim: recovery's
    assert not Notification.objects.filter(job=job).exists()  # no failure email
    assert not job.rows.exclude(error="").exists()


def test_only_trouble_past_the_deadline_fails_a_job_and_says_why(demo, monkeypatch, waits, settings):
    settings.IMPORT_TRANSIENT_RETRY_SECONDS = 0
    settings.IMPORT_TRANSIENT_DEADLINE_SECONDS = 3600
    late = schedule(demo, due_at=DUE - dt.timedelta(hours=2))
    recent = schedule(demo, due_at=DUE - dt.timedelta(minutes=5))
    claimed = imports_claim_due(now=DUE, limit=10)
    blip(monkeypatch, times=None)
    assert runner.run_jobs(claimed, now=DUE, claimed_at=DUE) == {late.pk: Status.FAILED}
    late.refresh_from_db()
    recent.refresh_from_db()
    assert late.status == Status.FAILED and late.rows.get().failure_reason == str(runner.JOB_UNAVAILABLE_TOO_LONG)
    assert Notification.objects.filter(job=late).count() == 1
    assert recent.status == Status.IN_PROGRESS


def test_an_error_that_is_not_transient_still_fails_after_two_attempts(demo, monkeypatch, waits):
    job = schedule(demo, due_at=DUE)
    claimed = imports_claim_due(now=DUE, limit=10)

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(runner, "_run_batch", broken)
    assert runner.run_jobs(claimed, now=DUE, claimed_at=DUE) == {job.pk: Status.FAILED}
    assert waits == []  # a bug is not waited on
    assert job.rows.get().failure_reason == str(runner.JOB_UNEXPECTED_ERROR)


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        ({"transient_retry_seconds": 40, "db_statement_timeout_seconds": 30}, "imports.E005"),
        ({"db_idle_in_transaction_seconds": 90}, "imports.E006"),
        ({"db_lock_timeout_seconds": 60}, "imports.E006"),
        ({"transient_deadline_seconds": 0}, "imports.E001"),
    ],
)
def test_the_transient_and_lock_knobs_have_invariants(knobs, code):
    assert code in {found for found, _ in EngineConfig(**knobs).errors()}


def test_the_defaults_keep_every_invariant():
    assert EngineConfig().errors() == []
    assert EngineConfig().db_session_options() == (
        "-c idle_in_transaction_session_timeout=20000 -c lock_timeout=5000 -c statement_timeout=30000"
    )
