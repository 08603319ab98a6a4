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
from collections import Counter
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

from .short import SHORT  # noqa: E402

LEASE = SHORT["IMPORT_LEASE_SECONDS"]
# PostgreSQL restarts in one burst (test 1): batches of 25, so that a burst has many to cut.
RESTART_SETTINGS = {**SHORT, "IMPORT_DISPATCH_BATCH_SIZE": 25}
RESTART_BURST = 500
RESTARTS = 8
# A worker is frozen mid-batch within this long (test 2): during a burst in batches of 25, one of
# its batches runs most of the time.
FROZEN_SETTINGS = {**SHORT, "IMPORT_DISPATCH_BATCH_SIZE": 25}
FREEZE_WITHIN = 10


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
        done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120, **kwargs)
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
                           check=False, capture_output=True, timeout=60)
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
        cluster.create(saved)
        connection.close()
        settings_dict.update(HOST="127.0.0.1", PORT=cluster.port)
        yield cluster
    finally:
        engine.stop_all()  # before the server goes
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)
        cluster.drop()


def batches_running(names) -> int:
    """Batches of the workers `names` inside their transaction right now (they hold companies:
    imports.engine.runner locks the companies of a batch until it commits)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM pg_stat_activity a
            WHERE a.application_name = ANY(%s) AND a.xact_start IS NOT NULL
              AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation = 'accounts_company'::regclass)
            """,
            [[f"rel-{name}" for name in names]],
        )
        return cursor.fetchone()[0]


def test_postgresql_restarted_immediately_mid_burst_fails_no_job(engine, own_postgres):
    """Restarted eight times, each time while at least two batches run: each cut batch runs its jobs
    one by one while the server comes back, and whether one of them ends Failed is a race per cut
    batch (one chance in three or more): a dozen cuts make it all but certain on an engine that gives up."""
    names = ("a", "b")
    for name in names:
        engine.start(name, workers=2, **RESTART_SETTINGS)
    jobs = burst(RESTART_BURST)
    wait_for(lambda: final(jobs) >= 25, seconds=60, what="the burst to be under way")
    # Jobs falling due while PostgreSQL is down (it takes a second or more to come back): how late do they run?
    due_during = burst(20, due_at=timezone.now() + dt.timedelta(seconds=1))
    everything = jobs + due_during
    restarted = time.monotonic()
    restarts = cut = 0
    while restarts < RESTARTS and wait_for(robust(lambda: db_now()), seconds=30, what="PostgreSQL") and final(jobs) < len(jobs):
        # Until two batches run (the moment to cut), or the burst is over (under load it may end while
        # waiting: then there is nothing left to cut).
        running = wait_for(
            robust(lambda: ((n := batches_running(names)) >= 2 and n) or (final(jobs) >= len(jobs) and -1)),
            seconds=60, interval=0.05, what="batches to be running",
        )
        if running == -1:
            break
        own_postgres.restart_immediately()
        restarts, cut = restarts + 1, cut + running
        connection.close()  # cut too
        wait_for(robust(lambda: db_now()), seconds=30, what="PostgreSQL to be back")
    took = wait_all_final(everything, seconds=LEASE + 90)
    took = took and time.monotonic() - restarted
    result = wait_for(robust(lambda: outcome(everything)), seconds=30, what="the database")
    figures = (
        f"PostgreSQL restarted -m immediate {restarts} times mid-burst of {len(jobs)} ({cut} batches running when cut): "
        f"{result['failed wrongly']} failed ({result['unexpected error']} 'unexpected error'), "
        + (f"all final {took:.0f} s after the first restart" if took is not None
           else f"{result['final']} final {time.monotonic() - restarted:.0f} s after the first restart")
        + f"; {len(due_during)} jobs due during the first: lateness "
        + lateness([j for j in result["jobs"] if j["pk"] in set(due_during)])
    )
    print(figures)
    assert restarts >= 1, figures
    assert result["failed wrongly"] == 0, figures
    assert took is not None, figures
    assert result["completed"] == result["should complete"], figures
    assert_provisioned_once(everything)


# --- 2. A worker frozen (SIGSTOP) past its lease -------------------------------------------------


def freeze(cluster) -> None:
    """SIGSTOP every process of the worker's tree (its dispatcher, its cluster, its workers)."""
    for _ in range(2):  # a process started meanwhile is frozen by the second pass
        for pid in alive(cluster.tree()):
            os.kill(pid, signal.SIGSTOP)


def thaw(cluster) -> None:
    for pid in alive(cluster.tree()):
        os.kill(pid, signal.SIGCONT)


def sessions_in_a_batch(name: str) -> list[int]:
    """Backends of worker `name` inside a transaction that holds rows of the jobs and of the
    companies (a batch running: imports.engine.runner locks both until it commits)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.pid FROM pg_stat_activity a
            WHERE a.application_name = %s AND a.xact_start IS NOT NULL
              AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation = 'imports_importjob'::regclass)
              AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation = 'accounts_company'::regclass)
            """,
            [f"rel-{name}"],
        )
        return [pid for (pid,) in cursor.fetchall()]


def sessions_in_transaction(pids) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s) AND xact_start IS NOT NULL", [list(pids)])
        return [pid for (pid,) in cursor.fetchall()]


def freeze_mid_batch(cluster, name: str, *, seconds: float) -> list[int]:
    """Freeze the worker at a moment one of its batches holds its locks (frozen, then looked at:
    thawed and tried again if it held none); returns the backends it left holding them."""

    def frozen_holding_locks():
        freeze(cluster)
        if pids := sessions_in_a_batch(name):
            return pids
        thaw(cluster)
        time.sleep(0.02)
        return None

    return wait_for(frozen_holding_locks, seconds=seconds, interval=0, what=f"a batch of {name} to freeze")


def job_states(job_ids) -> dict:
    return {
        row[0]: row[1:]
        for row in ImportJob.objects.filter(pk__in=job_ids).values_list(
            "pk", "status", "claimed_at", "lease_expires_at", "finished_at", "imported_count", "error_count"
        )
    }


def subscriptions_of(job_ids) -> int:
    from orders.models import Subscription

    keys = [row.provisioning_key for row in ImportRow.objects.filter(job_id__in=job_ids)]
    return Subscription.objects.filter(provisioning_key__in=keys).count()


def all_sent(job_ids) -> bool:
    return not Notification.objects.filter(job_id__in=job_ids).exclude(status=Notification.Status.SENT).exists()


def test_a_worker_frozen_past_its_lease_stalls_no_one_and_changes_nothing_when_thawed(engine, job_moves):
    a = engine.start("a", workers=2, **FROZEN_SETTINGS)
    b = engine.start("b", workers=2, **FROZEN_SETTINGS)
    jobs = burst(400)
    # Jobs falling due while it is frozen (written now: while it is frozen, writing jobs for the
    # companies it holds would wait for it).
    due_during = burst(20, due_at=timezone.now() + dt.timedelta(seconds=FREEZE_WITHIN + 2))
    everything = jobs + due_during
    frozen_sessions = freeze_mid_batch(a, "a", seconds=FREEZE_WITHIN)
    frozen_at = time.monotonic()
    try:
        took = wait_all_final(everything, seconds=LEASE + 30)
        result = outcome(everything)
        figures = (
            f"SIGSTOP of one of two workers mid-batch (burst of {len(jobs)}, lease {LEASE} s): "
            + (f"all final {took:.0f} s after the freeze" if took is not None
               else f"{result['final']}/{len(everything)} final {time.monotonic() - frozen_at:.0f} s after the freeze")
            + f", {result['failed wrongly']} failed; {len(due_during)} jobs due during it: lateness "
            + lateness([j for j in result["jobs"] if j["pk"] in set(due_during)])
        )
        if took is None:
            # Before the fix: how long it takes once the worker is thawed (the figure of the run).
            thaw(a)
            thawed_took = wait_all_final(everything, seconds=60)
            figures += "; thawed, all final " + (f"{thawed_took:.0f} s later" if thawed_took is not None else "not within 60 s")
        print(figures)
        assert took is not None, figures
        assert result["failed wrongly"] == 0, figures
        wait_for(lambda: all_sent(everything), seconds=LEASE + 30, what="every email to be sent")
        # Frozen past its lease (the others finished its jobs after the lease ended, never before).
        wait_for(lambda: time.monotonic() - frozen_at > LEASE + SHORT["IMPORT_RECOVERY_SECONDS"], seconds=LEASE + 5,
                 what="the frozen worker's lease to be over", interval=0.2)
        b.kill_everything()  # the thawed worker alone from here: what it does shows
        states, subscriptions, emails = job_states(everything), subscriptions_of(everything), engine.emails()
        last_move = max((m.id for m in moves()), default=0)
    finally:
        thaw(a)
    # The thawed worker works again (it alone runs a job due now) and has changed nothing.
    wait_for(lambda: not sessions_in_transaction(frozen_sessions), seconds=LEASE + 30,
             what="the frozen worker's transactions to end")
    (probe,) = burst(1)
    assert wait_all_final([probe], seconds=60) is not None, "the thawed worker does not run jobs any more"
    assert moves(everything, after=last_move) == []  # no job moved (backwards or at all)
    assert job_states(everything) == states
    assert subscriptions_of(everything) == subscriptions
    assert_provisioned_once(everything)
    wait_for(lambda: all_sent([probe]), seconds=60, what="the probe's email")
    counts = engine.emails()
    assert {mid: counts[mid] for mid in message_ids(everything)} == {mid: emails[mid] for mid in message_ids(everything)}
    assert emailed_twice(engine, everything) == 0


# --- 3. Workers whose clocks are 5 minutes off ---------------------------------------------------


def test_workers_five_minutes_fast_and_slow_run_nothing_early_steal_no_lease_and_email_once(engine, job_moves):
    if not shutil.which("faketime"):
        pytest.skip("needs libfaketime's faketime (.ci/services installs it)")
    # A small in-flight limit: the right worker holds live leases, a batch or two at a time, for as
    # long as its burst lasts; the fast worker starts meanwhile.
    clocks = {**SHORT, "IMPORT_DISPATCH_IN_FLIGHT": 100}
    engine.start("right", workers=1, **clocks)
    engine.start("slow", workers=1, clock="-300s", **clocks)
    started = db_now()
    due_now = burst(400)
    wait_for(lambda: claims(moves(due_now)), seconds=30, what="the right worker to claim jobs")
    engine.start("fast", workers=1, clock="+300s", **clocks)
    # Then one every 0.1 s from 5 s from now: due during the run, never run before by the database's clock.
    first = timezone.now() + dt.timedelta(seconds=5)
    due_soon = burst(100, due_at=lambda i: first + dt.timedelta(seconds=0.1 * i))
    everything = due_now + due_soon
    last_due = first + dt.timedelta(seconds=0.1 * (len(due_soon) - 1))
    took = wait_all_final(everything, seconds=(last_due - timezone.now()).total_seconds() + 60)
    wait_for(lambda: all_sent(everything), seconds=60, what="every email to be sent")
    found = moves(everything)
    taken = claims(found)
    early = [m for m in taken if m.at < m.due_at]
    per_job = Counter(m.job_id for m in taken)
    twice = [job for job, n in per_job.items() if n > 1]
    back = handed_back(found)
    ended = [m for m in found if m.new_status in ImportJob.FINAL_STATUSES]
    ahead = [m for m in taken if m.new_claimed_at > m.at] + [m for m in ended if m.finished_at > m.at]
    before_due = [m for m in ended if m.finished_at < m.due_at]
    late = sorted((m.at - m.due_at).total_seconds() for m in ended if m.job_id in set(due_soon))
    duplicates = emailed_twice(engine, everything)
    figures = (
        f"workers +300 s, -300 s and right beside each other, {len(everything)} jobs: "
        f"{len(early)} claimed before their due time by the database's clock"
        + (f" (up to {max((m.due_at - m.at).total_seconds() for m in early):.0f} s early)" if early else "")
        + f", {len(twice)} claimed twice ({len(back)} leases handed back), {duplicates} emails sent twice, "
        f"{len(ahead)} times written ahead of the database's clock, {len(before_due)} finished_at before due_at; "
        + (f"all final {(db_now() - started).total_seconds():.0f} s after the start" if took is not None else "not all final")
        + (f"; lateness of jobs due during the run p50 {late[len(late) // 2]:.1f} s, max {late[-1]:.1f} s" if late else "")
        + f"; claims by worker {dict(Counter(m.by for m in taken))}"
    )
    print(figures)
    assert took is not None, figures
    assert early == [], figures
    assert twice == [] and back == [], figures
    assert ahead == [] and before_due == [], figures
    assert duplicates == 0, figures
    assert_provisioned_once(everything)
