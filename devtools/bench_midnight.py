"""The midnight benchmark (issue 26, point 3): `make bench-midnight`.

10,000 provisionings over 1,000 customer tenants due at one instant (00:00 on the 1st), placed with the
Partner Center sandbox (`python -m sandbox`, a real process at a configurable latency and jitter) by real
`imports_worker` processes on PostgreSQL (2 clusters x 2 workers by default), their "Your import is
completed" emails sent to a local SMTP server (devtools.smtp_sink, a process of its own). The same burst
with Send to backend off runs beside it.

Built from the vendor benchmark's pieces (devtools.bench_vendor: the sandbox process, the seeded template
database and its copies, the burst) with what this one adds: the SMTP server, the emails' times (each
Notification's sent_at, written once the server accepted it), the sandbox ledger's duplicates and
tenant-minutes over the limit, and the CPU of the worker processes during the burst.
"""

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.bench_engine import percentile
from devtools.bench_vendor import SandboxProcess, VendorBench
from devtools.smtp_sink import SinkProcess

# Partner Center's limit: requests a minute on one customer tenant (the sandbox's default too).
TENANT_LIMIT_PER_MINUTE = 500


@dataclass
class MidnightRun:
    name: str
    jobs: int
    seconds: float  # due → the last job final
    lateness_p50: float
    lateness_p99: float
    emails: int  # accepted by the SMTP server (Notification sent)
    emails_seconds: float  # due → the last email accepted
    email_p99: float  # due → email, p99 over the jobs
    statuses: dict
    vendor_calls: int
    ledger_orders: int
    duplicate_orders: int
    tenant_minutes_over: int
    cpu: dict  # CPU seconds of the worker processes during the burst: {"jobs": .., "outbox": .., "dispatcher": ..}
    sink_messages: int = 0
    sandbox_cpu: float = 0.0  # CPU seconds of the sandbox during the burst
    postgres_cpu: float = 0.0  # CPU seconds of every PostgreSQL process of this machine during the burst (shared)

    @property
    def calls_per_job(self) -> float:
        return self.vendor_calls / self.jobs if self.jobs else 0.0

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())

    def line(self) -> str:
        """The benchmark's last line (issue 26), exactly this shape."""
        return (f"midnight: {self.jobs} jobs in {self.seconds:.1f} s, {self.emails} emails by {self.emails_seconds:.1f} s, "
                f"{self.duplicate_orders} duplicate vendor orders, {self.tenant_minutes_over} tenant-minutes over the limit")


def _descendants(pids: list[int]) -> list[int]:
    """`pids` and every process below them (from /proc; the clusters run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _lane(pid: int) -> str:
    """Which part of imports_worker a process is: a lane's cluster (IMPORT_WORKER_LANE in its environment),
    else the dispatcher (imports_worker itself)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "dispatcher"
    for item in environ:
        if item.startswith(b"IMPORT_WORKER_LANE="):
            return item.split(b"=", 1)[1].decode() or "dispatcher"
    return "dispatcher"


def workers_cpu(pids: list[int]) -> dict[int, tuple[str, float]]:
    """pid → (lane, CPU seconds so far, its reaped children's included) for every process of the workers."""
    tick = os.sysconf("SC_CLK_TCK")
    result = {}
    for pid in _descendants(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        result[pid] = (_lane(pid), sum(int(f) for f in fields[11:15]) / tick)
    return result


def cpu_by_lane(before: dict, after: dict) -> dict[str, float]:
    lanes: dict[str, float] = {}
    for pid, (lane, seconds) in after.items():
        lanes[lane] = lanes.get(lane, 0.0) + seconds - (before.get(pid, (lane, 0.0))[1])
    return lanes


def postgres_cpu() -> float:
    """CPU seconds of every process named postgres on this machine (the server may serve others too)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[1].startswith("postgres"):
            total += sum(int(f) for f in tail.split()[11:13]) / tick
    return total


class MidnightBench(VendorBench):
    def __init__(self, url: str, *, tmp: Path, log, sandbox: SandboxProcess, sink: SinkProcess, redis_url: str = ""):
        super().__init__(url, tmp=tmp, log=log, sandbox=sandbox, prefix="icp_midnight")
        self.sink = sink
        self.redis_url = redis_url

    def env(self, database: str, **extra) -> dict:
        # Every email to the local SMTP server (plain SMTP, no credentials); the Redis broker when given (the
        # ORM broker on the run's database otherwise). One run at a time: the run's queue name is its database's.
        return super().env(database, **{"EMAIL_URL": f"smtp://127.0.0.1:{self.sink.port}", "REDIS_URL": self.redis_url, **extra})

    def midnight(self, name: str, *, clusters: int, workers: int, jobs: int, send_to_backend: bool = True,
                 latency_ms: int = 100, jitter_ms: int = 50, timeout: float = 900, **extra) -> MidnightRun:
        """The first `jobs` jobs of a fresh copy due at one instant: until every job is final and every
        email accepted."""
        sent_before = self.sink.stats()["messages"]
        with self.burst(name, clusters=clusters, workers=workers, jobs=jobs, send_to_backend=send_to_backend,
                        faults={"latency_ms": latency_ms, "jitter_ms": jitter_ms}, **extra) as (conn, due, procs, before):
            cpu_before = workers_cpu([p.pid for p in procs])
            sandbox_before, postgres_before = self.sandbox.cpu_seconds(), postgres_cpu()
            deadline = time.monotonic() + timeout
            while True:
                left = conn.execute(
                    "SELECT (SELECT count(*) FROM imports_importjob WHERE finished_at IS NULL)"
                    " + (SELECT count(*) FROM imports_notification WHERE status <> 'sent')"
                    " + (SELECT %s - count(*) FROM imports_notification)", (jobs,),
                ).fetchone()[0]
                if left == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: jobs or emails not done after {timeout:.0f} s")
                time.sleep(0.2)
            cpu = cpu_by_lane(cpu_before, workers_cpu([p.pid for p in procs]))
            sandbox_cpu, postgres = self.sandbox.cpu_seconds() - sandbox_before, postgres_cpu() - postgres_before
            rows = conn.execute(
                "SELECT extract(epoch FROM j.finished_at - j.due_at), extract(epoch FROM n.sent_at - %s)"
                " FROM imports_importjob j JOIN imports_notification n ON n.job_id = j.id", (due,),
            ).fetchall()
            lateness = [float(r[0]) for r in rows]
            emails = [float(r[1]) for r in rows]
            last = float(conn.execute("SELECT extract(epoch FROM max(finished_at) - %s) FROM imports_importjob",
                                      (due,)).fetchone()[0])
            statuses = dict(conn.execute("SELECT status, count(*) FROM imports_importjob GROUP BY status").fetchall())
            calls = conn.execute("SELECT count(*) FROM catalog_vendorcall").fetchone()[0]
        # Dropped at once: autovacuum cleaning up after this burst would otherwise take the cores from the
        # next run (the off run follows the vendor run).
        self.drop(f"{self.template}_{name}")
        orders, duplicates = self.new_orders(before)
        return MidnightRun(
            name, jobs, last, statistics.median(lateness), percentile(lateness, 99), len(emails), max(emails),
            percentile(emails, 99), statuses, calls, orders, duplicates, self.tenant_minutes_over(), cpu,
            self.sink.stats()["messages"] - sent_before, sandbox_cpu, postgres,
        )

    def tenant_minutes_over(self) -> int:
        """Minutes in which one customer tenant received more requests than Partner Center allows, from the
        sandbox's ledger (its count includes the requests it refused with 429)."""
        return sum(1 for row in self.sandbox.ledger()["requests_per_minute"] if row["count"] > TENANT_LIMIT_PER_MINUTE)
