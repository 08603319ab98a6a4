"""The real worker: `manage.py qcluster` in its own process, on a SQLite file of its own,
picks up the every-minute "dispatch due imports" schedule and completes a due job.

Waits are waits for a condition (the job's status in the database), with a generous deadline:
django-q2's scheduler first looks for due schedules about 30 s after the cluster starts, so the
runs are started early in the session and waited for here (qcluster_runs.py, conftest.py).
"""

import sqlite3

import pytest

from .qcluster_runs import QclusterRun


def check(run: QclusterRun) -> None:
    assert run.status_before == "pending"
    status = run.finished()
    assert status == "completed", run.log_file.read_text()[-4000:]
    with sqlite3.connect(run.db_file) as connection:
        subscriptions = connection.execute(
            "SELECT s.name FROM orders_subscription s JOIN imports_importrow r ON r.subscription_id = s.id WHERE r.job_id = ?",
            (run.job_id,),
        ).fetchall()
        schedules = connection.execute(
            "SELECT count(*) FROM django_q_schedule WHERE name = 'dispatch due imports'"
        ).fetchone()[0]
    assert subscriptions == [("Kiosk from the worker test",)]
    assert schedules == 1
    log = run.log_file.read_text()
    assert "Subject: Your import is completed" in log
    assert "http://portal.test/imports/" in log


# The broker of each test is known to tests/imports/conftest.py by its redis marker.
def test_the_real_qcluster_completes_a_due_job_on_the_orm_broker(qcluster_runs):
    check(qcluster_runs("orm"))


@pytest.mark.redis
def test_the_real_qcluster_completes_a_due_job_on_redis(qcluster_runs):
    check(qcluster_runs("redis"))
