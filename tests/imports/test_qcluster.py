"""The real worker: `manage.py qcluster` in its own process, on a SQLite file of its own,
picks up the every-minute "dispatch due imports" schedule and completes a due job.

Waits are waits for a condition (the job's status in the database), with a generous deadline:
django-q2's scheduler first looks for due schedules about 30 s after the cluster starts.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
DEADLINE_SECONDS = 120

CREATE_DUE_JOB = """
import datetime as dt
from django.utils import timezone
from devtools.demo import DemoRefs, ERITECH_TENANT_ID, KIOSK, seed_demo
from imports.jobs.services import import_job_create_for_order
from orders.models import Order
from django.test import override_settings
with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):  # as in the suite
    seed_demo()
demo = DemoRefs.load()
now = timezone.now()
order = Order.objects.create(
    company=demo.eritech, created_by=demo.admin_abbie, status=Order.Status.SUBMITTED, service=demo.service(KIOSK),
    configured_at=now, subscription_name="Kiosk from the worker test", quantity=1, term="P1Y", billing_frequency="monthly",
    vendor_config={"microsoft_tenant_id": ERITECH_TENANT_ID}, submitted_at=now, scheduled_for=now,
)
job = import_job_create_for_order(order=order, due_at=now - dt.timedelta(seconds=1), user=demo.admin_abbie)
print(f"JOB={job.pk}")
"""


def manage(*args, env, timeout=300):
    return subprocess.run(
        [sys.executable, MANAGE, *args], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=timeout,
        check=True,
    )


def wait_for(condition, *, deadline_seconds, what):
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"Timed out after {deadline_seconds} s waiting for {what}.")


def job_status(db_file: Path, job_id: int) -> str | None:
    with sqlite3.connect(db_file, timeout=10) as connection:
        row = connection.execute("SELECT status FROM imports_importjob WHERE id = ?", (job_id,)).fetchone()
    return row[0] if row else None


def run_worker_until_the_job_completes(tmp_path: Path, migrated_sqlite, **extra_env):
    db_file = migrated_sqlite(tmp_path / "worker.sqlite3")
    log_file = tmp_path / "qcluster.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_file}",
        "REDIS_URL": "",
        "EMAIL_URL": "consolemail://",
        "SITE_URL": "http://portal.test",
        "Q_CLUSTER_NAME": f"icptest{uuid.uuid4().hex[:8]}",  # its own queue, whatever else runs
        "LOG_LEVEL": "INFO",
        **extra_env,
    }
    output = manage("shell", "-c", CREATE_DUE_JOB, env=env).stdout
    job_id = int(output.split("JOB=", 1)[1].split()[0])
    assert job_status(db_file, job_id) == "pending"

    with open(log_file, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, MANAGE, "qcluster"], env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the cluster's children are stopped with it
        )
    try:
        status = wait_for(
            lambda: (s := job_status(db_file, job_id)) in ("completed", "failed") and s,
            deadline_seconds=DEADLINE_SECONDS, what="the worker to finish the due job",
        )
        assert status == "completed", log_file.read_text()[-4000:]
        wait_for(lambda: "Your import is completed" in log_file.read_text(), deadline_seconds=30, what="the email")
    finally:
        stop(worker)
    with sqlite3.connect(db_file) as connection:
        subscriptions = connection.execute(
            "SELECT s.name FROM orders_subscription s JOIN imports_importrow r ON r.subscription_id = s.id WHERE r.job_id = ?",
            (job_id,),
        ).fetchall()
        schedules = connection.execute(
            "SELECT count(*) FROM django_q_schedule WHERE name = 'dispatch due imports'"
        ).fetchone()[0]
    assert subscriptions == [("Kiosk from the worker test",)]
    assert schedules == 1
    log = log_file.read_text()
    assert "Subject: Your import is completed" in log
    assert "http://portal.test/imports/" in log


def stop(worker: subprocess.Popen) -> None:
    """Stop the cluster and all its processes (its own process group). A graceful stop waits
    for the running dispatch task, which may be watching for up to a minute; killing is safe
    (nothing is half-written: lease recovery), so after a short grace period it is killed."""
    try:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.wait(timeout=10)


def test_the_real_qcluster_completes_a_due_job_on_the_orm_broker(tmp_path, migrated_sqlite):
    run_worker_until_the_job_completes(tmp_path, migrated_sqlite)


@pytest.mark.redis
def test_the_real_qcluster_completes_a_due_job_on_redis(tmp_path, migrated_sqlite):
    run_worker_until_the_job_completes(tmp_path, migrated_sqlite, REDIS_URL=settings.REDIS_URL or os.environ.get("REDIS_URL", ""))
