"""The engine benchmark on PostgreSQL: real `imports_worker` processes working off a burst.

For each layout (clusters × workers) a fresh database is copied from one seeded template
(`CREATE DATABASE ... TEMPLATE`, so every layout starts from the same rows), the clusters are
started and running, then every job is made due at the same instant. Figures come from the
database the workers wrote: when each job finished (finished_at) and when its email was accepted
by the mail server (Notification.sent_at: a local SMTP server when `email_url` names one, else a
file backend), against its due time.

A steady phase measures lateness without a burst: jobs falling due one at a time.
"""

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
from django.conf import settings

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


@dataclass
class LayoutResult:
    layout: str
    jobs: int
    seconds: float  # due → last job finished
    lateness_p50: float
    lateness_p99: float
    email_p99: float
    email_last: float = float("nan")  # due → the last email accepted

    @property
    def throughput(self) -> float:
        return self.jobs / self.seconds if self.seconds else float("inf")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class PostgresBench:
    def __init__(self, url: str, *, tmp: Path, log, prefix: str = "icp_bench"):
        self.url = url
        self.tmp = tmp
        self.log = log
        # Every database this run creates starts with `prefix` (the template, then one copy per run).
        self.template = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        # Where the workers send their emails: a local SMTP server (bench_dispatch starts
        # devtools.smtp_sink), else one file per connection.
        self.email_url = ""

    # --- databases ------------------------------------------------------------------------------

    def _url_for(self, name: str) -> str:
        return urlunparse(urlparse(self.url)._replace(path=f"/{name}"))

    def _admin(self):
        return psycopg.connect(self._url_for("postgres"), autocommit=True)

    def _create(self, name: str, template: str | None = None) -> None:
        with self._admin() as conn:
            sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            if template and conn.info.server_version >= 150000:
                # A copy file by file, between two checkpoints, not page by page through the WAL (15's
                # default): the copy's few hundred MB of WAL otherwise brought on a checkpoint in the
                # middle of the burst measured next, in some runs and not others (a second or two).
                sql += " STRATEGY FILE_COPY"
            conn.execute(sql)
        self.created.append(name)

    def drop_all(self) -> None:
        """Drop the databases this run created."""
        for name in reversed(list(self.created)):
            self.drop(name)

    def drop(self, name: str) -> None:
        """Drop one database this run created. A stopped cluster's connections (and autovacuum on a
        freshly seeded database) can linger a moment: wait for them rather than terminating
        backends, which needs more than CREATEDB."""
        with self._admin() as conn:
            for attempt in range(50):
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    break
                except psycopg.errors.ObjectInUse:
                    time.sleep(0.2)
            else:
                self.log.write(f"could not drop the temporary database {name}; drop it by hand")
        if name in self.created:
            self.created.remove(name)

    def env(self, database: str, **extra) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": self._url_for(database),
            "REDIS_URL": "",
            "EMAIL_URL": self.email_url or f"filemail:///{self.tmp / ('mail-' + database)}",
            "LOG_LEVEL": "WARNING",
            "Q_CLUSTER_NAME": database,
            # The engine on its own (orders provisioned locally); bench_vendor turns Microsoft on.
            "MICROSOFT_ENABLED": "false",
            **{k: str(v) for k, v in extra.items()},
        }

    def seed_template(self, n: int, companies: int) -> None:
        """Migrate, seed the demo data and `n` jobs (due far ahead: nothing runs them yet)."""
        self._create(self.template)
        env = self.env(self.template)
        subprocess.run([sys.executable, MANAGE, "migrate", "--noinput", "-v0"], env=env, check=True)
        code = (
            "import datetime as dt\nfrom django.utils import timezone\n"
            "from devtools.demo import seed_demo\nimport devtools.benchmarking as benchmarking\n"
            "seed_demo()\nnow = timezone.now()\n"
            f"{self.jobs_create_code(n, companies)}\n"
            "from django_q.models import Schedule\nSchedule.objects.all().delete()  # the dispatcher alone\n"
        )
        subprocess.run([sys.executable, MANAGE, "shell", "-c", code], env=env, check=True, capture_output=True)

    def jobs_create_code(self, n: int, companies: int) -> str:
        """The line of the seeding script that creates the `n` jobs (`now` and `benchmarking` are defined)."""
        return f"benchmarking.due_jobs_create({n}, companies={companies}, now=now, due_at=now + dt.timedelta(days=365))"

    # --- one layout -----------------------------------------------------------------------------

    @contextmanager
    def _running(self, clusters: int, workers: int, name: str):
        """A fresh copy of the template with `clusters` imports_worker processes on it, ready."""
        database = f"{self.template}_{name}"
        self._create(database, template=self.template)
        env = self.env(database, Q_WORKERS=workers)
        procs = [
            subprocess.Popen([sys.executable, MANAGE, "imports_worker"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
            for _ in range(clusters)
        ]
        try:
            with psycopg.connect(self._url_for(database), autocommit=True) as conn:
                self._wait_clusters_ready(conn, clusters)
                yield conn
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)

    def run_layout(self, clusters: int, workers: int, n: int) -> LayoutResult:
        """Every job made due at one instant, a second from now."""
        with self._running(clusters, workers, f"{clusters}x{workers}") as conn:
            due = conn.execute("SELECT now() + interval '1 second'").fetchone()[0]
            conn.execute("UPDATE imports_importjob SET due_at = %s", (due,))
            return self._measure(conn, f"{clusters} x {workers}", n, due)

    def steady_lateness(self, clusters: int, workers: int, n: int, spacing: float) -> LayoutResult:
        """`n` jobs falling due one at a time, `spacing` seconds apart: lateness with no burst."""
        with self._running(clusters, workers, "steady") as conn:
            first = conn.execute("SELECT min(id) FROM imports_importjob").fetchone()[0]
            conn.execute("DELETE FROM imports_importrow WHERE job_id >= %s", (first + n,))
            conn.execute("DELETE FROM imports_importjob WHERE id >= %s", (first + n,))
            conn.execute(
                "UPDATE imports_importjob SET due_at = now() + interval '1 second' + (id - %s) * %s * interval '1 second'",
                (first, spacing),
            )
            due = conn.execute("SELECT min(due_at) FROM imports_importjob").fetchone()[0]
            return self._measure(conn, f"steady {clusters} x {workers}", n, due, timeout=n * spacing + 120)

    @staticmethod
    def _wait_clusters_ready(conn, clusters: int) -> None:
        """Every cluster has started and looked at the queue (its first heartbeat, or a short grace)."""
        deadline = time.monotonic() + 60
        # The dispatcher needs the database and the workers need django; give both time to import.
        while time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            if rows >= clusters * 2:  # each cluster's dispatcher and pusher are connected
                break
            time.sleep(0.2)
        time.sleep(2)  # workers finish importing Django after the pusher is up

    def _measure(self, conn, layout: str, n: int, due: dt.datetime, timeout: float = 600) -> LayoutResult:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = conn.execute(
                "SELECT (SELECT count(*) FROM imports_importjob WHERE finished_at IS NULL)"
                " + (SELECT count(*) FROM imports_notification WHERE status <> 'sent')"
                " + (SELECT %s - count(*) FROM imports_notification)",
                (n,),
            ).fetchone()[0]
            if left == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{layout}: not finished after {timeout:.0f} s")
        rows = conn.execute(
            "SELECT extract(epoch FROM j.finished_at - j.due_at), extract(epoch FROM n.sent_at - j.due_at)"
            " FROM imports_importjob j JOIN imports_notification n ON n.job_id = j.id"
        ).fetchall()
        lateness = [float(r[0]) for r in rows]
        email = [float(r[1]) for r in rows]
        last = conn.execute("SELECT extract(epoch FROM max(finished_at) - %s) FROM imports_importjob", (due,)).fetchone()[0]
        return LayoutResult(
            layout, n, float(last), statistics.median(lateness), percentile(lateness, 99), percentile(email, 99),
            max(email, default=float("nan")),
        )
