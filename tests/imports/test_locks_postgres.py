"""Bounded locks on PostgreSQL (issue: a frozen worker stalled everyone). The engine's sessions carry
timeouts, and lease recovery and batches never wait on rows another session holds."""

import datetime as dt
import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from imports.engine.dispatch import imports_claim_due, imports_recover_expired
from imports.engine.runner import run_jobs
from imports.models import ImportJob

from .helpers import schedule

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = ImportJob.Status


class HeldLock:
    """Another session holding `FOR UPDATE` on some rows, as a frozen worker's open transaction does."""

    def __init__(self, sql: str, params):
        self.sql, self.params = sql, params
        self.ready, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        other = connections.create_connection("default")
        try:
            other.set_autocommit(False)
            with other.cursor() as cursor:
                cursor.execute(self.sql, self.params)
            self.ready.set()
            self.release.wait(timeout=60)
            other.rollback()
        finally:
            other.close()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(timeout=30)


def expired(demo, count: int) -> list[ImportJob]:
    now = timezone.now()
    jobs = [schedule(demo, due_at=now - dt.timedelta(minutes=5)) for _ in range(count)]
    imports_claim_due(now=now - dt.timedelta(minutes=4), limit=count)  # lease long gone
    return jobs


def test_lease_recovery_skips_rows_a_frozen_session_holds_instead_of_waiting(demo):
    held, free = expired(demo, 2)
    with HeldLock("SELECT id FROM imports_importjob WHERE id = %s FOR UPDATE", [held.pk]):
        started = timezone.now()
        assert imports_recover_expired(now=timezone.now()) == 1  # the free one, at once
        assert (timezone.now() - started).total_seconds() < 5  # not a lock wait (lock_timeout is 5 s)
    assert ImportJob.objects.get(pk=free.pk).status == Status.PENDING
    assert ImportJob.objects.get(pk=held.pk).status == Status.IN_PROGRESS
    assert imports_recover_expired(now=timezone.now()) == 1  # released: the next recovery takes it


def test_a_batch_skips_jobs_another_delivery_of_its_task_holds(demo):
    now = timezone.now()
    held, free = (schedule(demo, due_at=now - dt.timedelta(seconds=1)) for _ in range(2))
    claimed = imports_claim_due(now=now, limit=10)
    with HeldLock("SELECT id FROM imports_importjob WHERE id = %s FOR UPDATE", [held.pk]):
        results = run_jobs(claimed, now=now, claimed_at=now)
    assert results == {free.pk: Status.COMPLETED}
    assert ImportJob.objects.get(pk=held.pk).status == Status.IN_PROGRESS


def test_a_batch_does_not_block_new_jobs_for_its_companies(demo):
    """FOR NO KEY UPDATE on the batch's companies: inserting a job for one of them (a foreign key
    check, FOR KEY SHARE) does not wait for the batch to commit."""
    company = demo.eritech
    with HeldLock("SELECT id FROM accounts_company WHERE id = %s FOR NO KEY UPDATE", [company.pk]):
        started = timezone.now()
        schedule(demo, due_at=timezone.now() + dt.timedelta(days=1))
        assert (timezone.now() - started).total_seconds() < 5


def test_the_engine_processes_sessions_carry_the_timeouts():
    """config.settings gives imports_worker, qcluster and run_due_imports (and only them) the
    session timeouts of imports.engine.config."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    probe = (
        "import sys, django; sys.argv = ['manage.py', sys.argv[1]]; django.setup(); "
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('SELECT current_setting(%s), current_setting(%s), current_setting(%s)', "
        "['idle_in_transaction_session_timeout', 'lock_timeout', 'statement_timeout']); print(*c.fetchone())"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}

    def shown(command: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, command], env=env, cwd=settings.BASE_DIR,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert shown("qcluster") == shown("imports_worker") == "20s 5s 30s"
    assert shown("runserver") == "0 0 0"
