"""The engine under the faults of issue 22, with real `imports_worker` processes on PostgreSQL:
short versions of the operator's fault runs (see conftest.py for the engine and the helpers).

- PostgreSQL restarted with `-m immediate` mid-burst (on a PostgreSQL cluster of the test's own,
  never the shared one): no job fails, every job completes, none is provisioned twice.
- One of two workers frozen (SIGSTOP of its whole process tree) past its lease: the other
  finishes every job within lease + 30 s; thawed, the frozen one changes nothing.
- A worker 5 minutes fast and one 5 minutes slow (libfaketime) beside a correct one: nothing runs
  before its due time by the database's clock, no lease is stolen, no email goes twice.

What the workers did to the jobs is recorded by the database itself: a trigger on the jobs' table
writes every move (status or claim) with the database's clock at that moment and the session's
application name (each worker's is `rel-<name>`). A move rolled back leaves no record; a late
commit keeps the time of its UPDATE.

Each test prints its figures (jobs failed, time to all final, lateness of the jobs due during
the fault); `pytest -s` shows them.
"""

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from imports.models import ImportJob, ImportRow, Notification
from tests.processes import alive

from .conftest import (
    assert_provisioned_once,
    burst,
    final,
    message_ids,
    wait_for,
)

pytestmark = [pytest.mark.postgres]

Status = ImportJob.Status

# Short leases and timeouts, so that a fault and its recovery fit in seconds (imports.E002-E004
# hold: Q_RETRY > Q_TIMEOUT, IMPORT_LEASE_SECONDS > Q_TIMEOUT, the email lease covers a claim).
SHORT = {
    "Q_TIMEOUT": 10,
    "Q_RETRY": 12,
    "IMPORT_LEASE_SECONDS": 15,
    "IMPORT_RECOVERY_SECONDS": 2,
    "EMAIL_TIMEOUT": 5,
    "IMPORT_EMAIL_CLAIM_CHUNK": 2,
    "IMPORT_EMAIL_LEASE_SECONDS": 12,
}
LEASE = SHORT["IMPORT_LEASE_SECONDS"]


# --- what the database saw -----------------------------------------------------------------------

MOVES_SQL = """
CREATE TABLE IF NOT EXISTS reliability_job_moves (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    old_status text, new_status text,
    old_claimed_at timestamptz, new_claimed_at timestamptz,
    finished_at timestamptz, lease_expires_at timestamptz, due_at timestamptz,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    by text NOT NULL DEFAULT current_setting('application_name')
);
CREATE OR REPLACE FUNCTION reliability_job_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reliability_job_moves
        (job_id, old_status, new_status, old_claimed_at, new_claimed_at, finished_at, lease_expires_at, due_at)
    VALUES (NEW.id, OLD.status, NEW.status, OLD.claimed_at, NEW.claimed_at, NEW.finished_at, NEW.lease_expires_at,
            NEW.due_at);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS reliability_job_moved ON imports_importjob;
CREATE TRIGGER reliability_job_moved AFTER UPDATE ON imports_importjob FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.claimed_at IS DISTINCT FROM NEW.claimed_at)
    EXECUTE FUNCTION reliability_job_moved();
"""
MOVES_DROP_SQL = """
DROP TRIGGER IF EXISTS reliability_job_moved ON imports_importjob;
DROP FUNCTION IF EXISTS reliability_job_moved();
DROP TABLE IF EXISTS reliability_job_moves;
"""


@dataclass
class Move:
    id: int
    job_id: int
    old_status: str
    new_status: str
    old_claimed_at: dt.datetime | None
    new_claimed_at: dt.datetime | None
    finished_at: dt.datetime | None
    lease_expires_at: dt.datetime | None
    due_at: dt.datetime
    at: dt.datetime  # the database's clock when the UPDATE ran
    by: str  # the session's application name: rel-<worker>


def record_moves() -> None:
    with connection.cursor() as cursor:
        cursor.execute(MOVES_SQL)


def forget_moves() -> None:
    with connection.cursor() as cursor:
        cursor.execute(MOVES_DROP_SQL)


def moves(job_ids=None, *, after: int = 0) -> list[Move]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, job_id, old_status, new_status, old_claimed_at, new_claimed_at, finished_at, lease_expires_at,"
            " due_at, at, by FROM reliability_job_moves WHERE id > %s ORDER BY id",
            [after],
        )
        found = [Move(*row) for row in cursor.fetchall()]
    wanted = set(job_ids) if job_ids is not None else None
    return [m for m in found if wanted is None or m.job_id in wanted]


def db_now() -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def claims(found: list[Move]) -> list[Move]:
    return [m for m in found if m.old_status == Status.PENDING and m.new_status == Status.IN_PROGRESS]


def handed_back(found: list[Move]) -> list[Move]:
    return [m for m in found if m.old_status == Status.IN_PROGRESS and m.new_status == Status.PENDING]


@pytest.fixture
def job_moves(engine):
    """Every move of a job recorded by the database (see the module's docstring)."""
    record_moves()
    yield
    forget_moves()


def robust(condition):
    """`condition`, False while the database cannot be reached (it is being restarted)."""

    def check():
        try:
            return condition()
        except DatabaseError:
            connection.close()
            return False

    return check


def outcome(job_ids) -> dict:
    """What the jobs of `job_ids` became: statuses, and how many failed for no reason about the order."""
    from devtools.demo import DemoRefs

    pacifico = DemoRefs.load().pacifico.pk  # the suspended customer: its jobs fail, by design
    jobs = list(ImportJob.objects.filter(pk__in=job_ids).values("pk", "status", "company_id", "due_at", "finished_at"))
    should_fail = {j["pk"] for j in jobs if j["company_id"] == pacifico}
    failed = {j["pk"] for j in jobs if j["status"] == Status.FAILED}
    from imports.engine.runner import JOB_UNEXPECTED_ERROR

    unexpected = set(
        ImportRow.objects.filter(job_id__in=job_ids, error=str(JOB_UNEXPECTED_ERROR)).values_list("job_id", flat=True)
    )
    return {
        "final": sum(1 for j in jobs if j["status"] in ImportJob.FINAL_STATUSES),
        "completed": sum(1 for j in jobs if j["status"] == Status.COMPLETED),
        "failed wrongly": len((failed - should_fail) | unexpected),
        "unexpected error": len(unexpected),
        "should complete": len(jobs) - len(should_fail),
        "jobs": jobs,
    }


def lateness(jobs: list[dict]) -> str:
    """p50 / max seconds from due to finished, of finished jobs."""
    late = sorted((j["finished_at"] - j["due_at"]).total_seconds() for j in jobs if j["finished_at"])
    if not late:
        return "none finished"
    return f"p50 {late[len(late) // 2]:.1f} s, max {late[-1]:.1f} s"


def emailed_twice(engine, job_ids) -> int:
    counts = engine.emails()
    return sum(counts[mid] - 1 for mid in message_ids(job_ids) if counts[mid] > 1)


def wait_all_final(job_ids, *, seconds: float) -> float | None:
    """Seconds until every job of `job_ids` is final, or None when they are not after `seconds`."""
    started = time.monotonic()
    try:
        wait_for(robust(lambda: final(job_ids) == len(job_ids)), seconds=seconds, interval=0.5, what="all final")
    except AssertionError:
        return None
    return time.monotonic() - started


# --- 1. PostgreSQL restarted with -m immediate mid-burst ---------------------------------------


class OwnPostgres:
    """A PostgreSQL server of this test's own (initdb into a temporary directory, as the `postgres`
    user when run as root), holding a copy of the test database; the test's connection and the
    workers use it while it exists, so the shared server is never restarted."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.dir = tempfile.mkdtemp(prefix="icp-rel-pg-")
        if self.as_owner:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.started = False

    def run(self, *args: str, owner: bool = False, **kwargs) -> subprocess.CompletedProcess:
        args = (*self.as_owner, *args) if owner else args
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
        assert done.returncode == 0, f"{' '.join(args)}: exit status {done.returncode}\n{done.stdout}{done.stderr}"
        return done

    def pg_ctl(self, *args: str) -> None:
        self.run(f"{self.bindir}/pg_ctl", "-D", self.data, "-w", "-t", "60", *args, owner=True)

    def create(self, source: dict) -> None:
        """Create and start the server (no fsync: nothing here has to survive more than a crash
        of PostgreSQL alone), with the test database's role, and the test database copied in."""
        self.run(f"{self.bindir}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync",
                 "--no-instructions", owner=True)
        self.started = True
        self.pg_ctl(
            "-l", os.path.join(self.dir, "log"),
            "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            "start",
        )
        user, password, name = source["USER"], source["PASSWORD"], source["NAME"]
        psql = [f"{self.bindir}/psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port), "-U"]
        self.run(*psql, "postgres", "-d", "postgres", "-c", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
                 "-c", f"CREATE DATABASE {name} OWNER {user}")
        env = {**os.environ, "PGPASSWORD": password}
        dump = subprocess.Popen(
            [f"{self.bindir}/pg_dump", "--no-owner", "--no-privileges", "-h", source["HOST"] or "127.0.0.1",
             "-p", str(source["PORT"] or 5432), "-U", user, name],
            stdout=subprocess.PIPE, env=env,
        )
        self.run(*psql, user, "-d", name, stdin=dump.stdout, env=env)
        assert dump.wait(timeout=60) == 0

    def restart_immediately(self) -> None:
        """`pg_ctl restart -m immediate` (what `pg_ctlcluster ... restart -m immediate` runs): every
        session is cut at once, the server recovers from its log and accepts connections again."""
        self.pg_ctl("-l", os.path.join(self.dir, "log"), "-m", "immediate", "restart")

    def drop(self) -> None:
        if self.started:
            subprocess.run([*self.as_owner, f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_bindir(version: int) -> str | None:
    """Where the server's programs (initdb, pg_ctl) of this major version are, if installed."""
    debian = f"/usr/lib/postgresql/{version}/bin"
    if os.path.exists(f"{debian}/initdb"):
        return debian
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


@pytest.fixture
def own_postgres(engine):
    """The test's connection and every worker it starts on a PostgreSQL server of their own,
    removed at the end."""
    bindir = postgres_bindir(connection.pg_version // 10000)
    if bindir is None:
        pytest.skip("needs PostgreSQL's server programs (initdb, pg_ctl) to run a server of its own")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("as root, needs runuser to run PostgreSQL as the postgres user")
    cluster = OwnPostgres(bindir)
    settings_dict = connection.settings_dict
    saved = dict(settings_dict)
    try:
        t = time.monotonic()
        cluster.create(saved)
        print("cluster created", time.monotonic() - t)
        connection.close()
        settings_dict.update(HOST="127.0.0.1", PORT=cluster.port)
        yield cluster
    finally:
        t = time.monotonic()
        engine.stop_all()  # before the server goes
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)
        cluster.drop()
        print("dropped", time.monotonic() - t)


def test_postgresql_restarted_immediately_mid_burst_fails_no_job(engine, own_postgres):
    t=time.monotonic()
    for name in ("a", "b"):
        engine.start(name, workers=2, **SHORT)
    print("started", time.monotonic()-t)
    jobs = burst(300)
    print("burst", time.monotonic()-t)
    wait_for(lambda: final(jobs) >= 60, seconds=60, what="the burst to be under way")
    # Jobs falling due while PostgreSQL is down (it takes a few seconds to come back): how late do they run?
    due_during = burst(20, due_at=timezone.now() + dt.timedelta(seconds=1))
    everything = jobs + due_during
    restarted = time.monotonic()
    own_postgres.restart_immediately()
    for _ in range(int(os.environ.get("RESTARTS", "1")) - 1):
        done = final(jobs)
        wait_for(robust(lambda: final(jobs) >= done + 40), seconds=60, what="the burst to be under way again")
        own_postgres.restart_immediately()
    took = wait_all_final(everything, seconds=LEASE + 90)
    took = took and time.monotonic() - restarted
    result = wait_for(robust(lambda: outcome(everything)), seconds=30, what="the database")
    figures = (
        f"PostgreSQL restart -m immediate mid-burst of {len(jobs)}: {result['failed wrongly']} failed "
        f"({result['unexpected error']} 'unexpected error'), "
        + (f"all final in {took:.0f} s after the restart" if took is not None else f"{result['final']} final after {time.monotonic() - restarted:.0f} s")
        + f"; {len(due_during)} jobs due during it: lateness {lateness([j for j in result['jobs'] if j['pk'] in set(due_during)])}"
    )
    print(figures)
    assert result["failed wrongly"] == 0, figures
    assert took is not None, figures
    assert result["completed"] == result["should complete"], figures
    assert_provisioned_once(everything)
