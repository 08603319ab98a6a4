"""A run of the real worker for test_qcluster: `manage.py qcluster` in its own process, on a SQLite
file of its own holding one due job, watched until the job is final and its email is logged, then
stopped.

django-q2's scheduler first looks for due schedules about 30 s after a cluster starts, so a run
spends half a minute waiting. tests/imports/conftest.py starts the runs the session has selected
when the first test of tests/imports starts, so that wait passes while other tests run; the test
then checks what its run did (or starts it then, if it was not started yet).
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
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


def now() -> float:
    """The real monotonic clock. The run is watched from a thread while other tests run, some
    with the time frozen (freezegun patches time.monotonic everywhere, subprocess's timeouts too)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def wait_for(condition, *, deadline_seconds, what):
    deadline = now() + deadline_seconds
    while now() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"Timed out after {deadline_seconds} s waiting for {what}.")


def exited_within(process: subprocess.Popen, seconds: float) -> bool:
    """Whether the process ended within `seconds` (Popen.wait(timeout) with the real clock)."""
    deadline = now() + seconds
    while process.poll() is None:
        if now() > deadline:
            return False
        time.sleep(0.05)
    return True


def job_status(db_file: Path, job_id: int) -> str | None:
    with sqlite3.connect(db_file, timeout=10) as connection:
        row = connection.execute("SELECT status FROM imports_importjob WHERE id = ?", (job_id,)).fetchone()
    return row[0] if row else None


def stop(worker: subprocess.Popen) -> None:
    """Stop the cluster and all its processes (its own process group). A graceful stop waits
    for the running dispatch task, which may be watching for up to a minute; killing is safe
    (nothing is half-written: lease recovery), so after a short grace period it is killed."""
    try:
        os.killpg(worker.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if exited_within(worker, 5):
        return
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    assert exited_within(worker, 10), "the cluster was still running 10 s after SIGKILL"


class QclusterRun:
    """Creates the database and its due job, starts the cluster, and watches it in a thread:
    until the job is final (deadline DEADLINE_SECONDS) and, if completed, its email is in the log
    (30 s more); then the cluster is stopped. `finished()` waits for that and returns the status."""

    def __init__(self, tmp_path: Path, migrated_sqlite, **extra_env):
        self.db_file = migrated_sqlite(tmp_path / "worker.sqlite3")
        self.log_file = tmp_path / "qcluster.log"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.db_file}",
            "REDIS_URL": "",
            "EMAIL_URL": "consolemail://",
            "SITE_URL": "http://portal.test",
            "Q_CLUSTER_NAME": f"icptest{uuid.uuid4().hex[:8]}",  # its own queue, whatever else runs
            "LOG_LEVEL": "INFO",
            **extra_env,
        }
        output = manage("shell", "-c", CREATE_DUE_JOB, env=env).stdout
        self.job_id = int(output.split("JOB=", 1)[1].split()[0])
        self.status_before = job_status(self.db_file, self.job_id)
        with open(self.log_file, "w") as log:
            self.worker = subprocess.Popen(
                [sys.executable, MANAGE, "qcluster"], env=env, cwd=settings.BASE_DIR, stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the cluster's children are stopped with it
            )
        self.status: str | None = None
        self.error: BaseException | None = None
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        try:
            self.status = wait_for(
                lambda: (s := job_status(self.db_file, self.job_id)) in ("completed", "failed") and s,
                deadline_seconds=DEADLINE_SECONDS, what="the worker to finish the due job",
            )
            if self.status == "completed":
                wait_for(lambda: "Your import is completed" in self.log_file.read_text(), deadline_seconds=30,
                         what="the email")
        except BaseException as error:  # pytest.fail's exception too: raised again by finished()
            self.error = error
        finally:
            try:
                stop(self.worker)
            except BaseException as error:
                self.error = self.error or error

    def finished(self) -> str:
        self._watcher.join(timeout=DEADLINE_SECONDS + 60)
        assert not self._watcher.is_alive(), "the watcher outlived its deadlines"
        if self.error is not None:
            raise self.error
        return self.status

    def kill(self) -> None:
        """Whatever is left, at the end of the session."""
        if self.worker.poll() is None:
            stop(self.worker)
