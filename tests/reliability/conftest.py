"""The reliability suite: real `imports_worker` processes (each one qcluster plus its dispatcher)
on the PostgreSQL test database, bursts of due jobs written by this process, and faults
injected as an operator meets them (SIGKILL, SIGTERM, a stalled mail server).

Every wait is for a condition in the database or the mailbox, with a deadline; the suite runs
in the PostgreSQL pass of `make test`.
"""

import datetime as dt
import os
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.processes import Started, alive, wait_for

MESSAGE_ID = re.compile(r"^Message-ID:\s+(<[^>]+>)", re.MULTILINE)  # long ones are folded


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Engine:
    """Clusters started against the test database, and what they did."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.queue = f"rel{uuid.uuid4().hex[:8]}"  # one queue shared by this test's clusters only
        self.started: list[Started] = []
        self.redis_url = ""  # the ORM broker on the test database, unless a test sets it

    def env(self, name: str, **extra) -> dict:
        mail_dir = self.tmp_path / "mail" / name
        mail_dir.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            # Its sessions carry its name (pg_stat_activity, and what a test records per writer).
            "DATABASE_URL": f"{database_url()}?application_name=rel-{name}",
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": self.redis_url,
            "Q_CLUSTER_NAME": self.queue,
            "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
            "LOG_LEVEL": "INFO",
            **{key: str(value) for key, value in extra.items()},
        }

    def start(self, name: str, *, workers: int = 2, clock: str | None = None, **extra) -> Started:
        """An `imports_worker` named `name`; `clock` ("+300s", "-300s") runs it under libfaketime,
        its whole process tree that far off the real (and the database's) time."""
        cluster = Started.manage(
            "imports_worker", env=self.env(name, Q_WORKERS=workers, **extra), log=self.tmp_path / f"{name}.log",
            prefix=("faketime", "-f", clock) if clock else (),
        )
        self.started.append(cluster)
        cluster.wait_until_running(workers=workers)
        return cluster

    def kill(self, cluster: Started) -> None:
        """SIGKILL the worker and its whole cluster at once: a machine that lost power."""
        for pid in alive(cluster.tree()):
            os.kill(pid, 9)
        cluster.process.wait(timeout=10)

    # --- what happened ------------------------------------------------------------------------

    def emails(self, name: str | None = None) -> Counter:
        """Message-ID → how many times it reached the (file) mail server, of one cluster or all."""
        root = self.tmp_path / "mail"
        files = (root / name).glob("*") if name else root.glob("*/*")
        counts: Counter = Counter()
        for path in files:
            counts.update(MESSAGE_ID.findall(path.read_text(errors="replace")))
        return counts

    def batches(self, name: str) -> int:
        """Batch tasks the cluster `name` ran (django-q2 logs each task it processed)."""
        log = (self.tmp_path / f"{name}.log").read_text(errors="replace")
        return log.count("Processed 'imports.tasks.run_batch_task'")

    def stop_all(self) -> None:
        for cluster in self.started:
            cluster.kill_everything()


@pytest.fixture
def engine(transactional_db, demo, tmp_path, settings):
    """Clusters on the test database; the demo data committed (the workers read it)."""
    engine = Engine(tmp_path)
    yield engine
    engine.stop_all()


def burst(n: int, *, due_at=None, companies: int = 50) -> list[int]:
    """`n` jobs due at `due_at` (default: now), committed; their ids in due order."""
    from devtools.benchmarking import due_jobs_create

    now = timezone.now()
    return due_jobs_create(n, companies=companies, now=now, due_at=due_at or now)


def final(job_ids) -> int:
    from imports.models import ImportJob

    return ImportJob.objects.filter(pk__in=job_ids, status__in=ImportJob.FINAL_STATUSES).count()


def wait_all_final(job_ids, *, seconds: float) -> None:
    wait_for(lambda: final(job_ids) == len(job_ids), seconds=seconds, interval=0.5,
             what=f"all {len(job_ids)} jobs to finish ({final(job_ids)} final)")


def wait_all_sent(job_ids, *, seconds: float) -> None:
    from imports.models import Notification

    def sent():
        return Notification.objects.filter(job_id__in=job_ids, status=Notification.Status.SENT).count() == len(job_ids)

    wait_for(sent, seconds=seconds, interval=0.5, what="every notification to be sent")


def assert_provisioned_once(job_ids) -> None:
    """Each completed job has exactly one subscription, every other job none; no row has two."""
    from imports.models import ImportJob, ImportRow
    from orders.models import Subscription

    rows = ImportRow.objects.filter(job_id__in=job_ids)
    keys = [row.provisioning_key for row in rows]
    per_key = Counter(Subscription.objects.filter(provisioning_key__in=keys).values_list("provisioning_key", flat=True))
    assert max(per_key.values(), default=0) <= 1  # the unique key holds, whatever happened
    completed = set(ImportJob.objects.filter(pk__in=job_ids, status=ImportJob.Status.COMPLETED).values_list("pk", flat=True))
    for row in rows:
        assert per_key[row.provisioning_key] == (1 if row.job_id in completed else 0), row


def message_ids(job_ids) -> dict[str, int]:
    """Message-ID → job, for the notifications of `job_ids`."""
    from imports.models import Notification

    return dict(Notification.objects.filter(job_id__in=job_ids).values_list("message_id", "job_id"))


def ago(seconds: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)
