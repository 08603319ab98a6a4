"""The vendor path's benchmark (issue 25, "Speed"): real `imports_worker` processes on PostgreSQL placing
orders with the Partner Center sandbox (a real process: `python -m sandbox`, reached over HTTP only).

One seeded template database (devtools.bench_engine.PostgresBench: `CREATE DATABASE ... TEMPLATE`), every
run on a fresh copy with its clusters started and ready, then every job made due at one instant. Figures
come from what the workers wrote (ImportJob.finished_at against due_at; catalog.VendorCall, every vendor
call) and from the sandbox's ledger (orders per cart: duplicates).

- the vendor burst: Send to backend on, the sandbox at a fixed latency;
- the same burst with Send to backend off (local provisioning), beside it;
- a reference: the vendor's own floor in the same run, as many calls as the vendor burst made, sent
  straight to the sandbox from this process with the senders' concurrency (no portal in between);
- a fault burst: the sandbox failing calls (5xx, lost responses, 429), with its ledger counts.
"""

import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings

from devtools.bench_engine import PostgresBench, percentile

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"


class SandboxProcess:
    """`python -m sandbox` on a free port with storage of its own, and the few calls the bench makes."""

    def __init__(self, tmp: Path, port: int, *, seed: Path | None = None):
        """`seed`: a seed file of the sandbox's own format (sandbox/seed.py) instead of the demo's customers."""
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update(SANDBOX_DB=str(tmp / "sandbox.sqlite3"), SANDBOX_CLIENT_ID=CLIENT_ID, SANDBOX_CLIENT_SECRET=CLIENT_SECRET,
                   SANDBOX_PROVISIONING_SECONDS="0", SANDBOX_LOG_LEVEL="WARNING")
        if seed is not None:
            env["SANDBOX_SEED"] = str(seed)
        self.log = open(tmp / "sandbox.log", "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port)], env=env,
                                        cwd=settings.BASE_DIR, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.http = httpx.Client(base_url=self.url, timeout=30)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited (see {tmp / 'sandbox.log'})")
            try:
                if self.http.get("/_sandbox/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start within 30 s")
            time.sleep(0.1)
        self._token = None

    def token(self) -> str:
        if self._token is None:
            answer = self.http.post("/sandbox/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "scope": "https://api.partnercenter.microsoft.com/.default",
            })
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return self._token

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token()}", "MS-RequestId": str(uuid.uuid4()),
                "MS-CorrelationId": str(uuid.uuid4())}

    def faults(self, **values) -> None:
        self.http.post("/_sandbox/faults", json=values).raise_for_status()

    def ledger(self) -> dict:
        return self.http.get("/_sandbox/ledger").json()

    def floor(self, calls: int, threads: int, customer_ids: list[str]) -> float:
        """Seconds for `calls` reads (GET /v1/customers/{id}) sent `threads` at a time: what the vendor
        alone needs for the burst's calls, with no portal in between."""
        left, lock = [calls], threading.Lock()
        token = self.token()

        def worker():
            with httpx.Client(base_url=self.url, timeout=30) as client:
                while True:
                    with lock:
                        if left[0] <= 0:
                            return
                        left[0] -= 1
                        n = left[0]
                    client.get(f"/v1/customers/{customer_ids[n % len(customer_ids)]}", headers={
                        "Authorization": f"Bearer {token}", "MS-RequestId": str(uuid.uuid4()),
                        "MS-CorrelationId": str(uuid.uuid4())})

        started = time.monotonic()
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        return time.monotonic() - started

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@dataclass
class VendorRun:
    name: str
    jobs: int
    seconds: float  # due → last job final
    lateness_p50: float
    lateness_p99: float
    statuses: dict
    vendor_calls: int
    ledger_orders: int
    duplicate_orders: int
    call_ms_p50: float = 0.0
    call_ms_p99: float = 0.0
    worker_cpu: float = 0.0  # CPU seconds of the worker processes (every process of the clusters)
    sandbox_cpu: float = 0.0  # CPU seconds of the sandbox during the run

    @property
    def calls_per_job(self) -> float:
        return self.vendor_calls / self.jobs if self.jobs else 0.0


class VendorBench(PostgresBench):
    def __init__(self, url: str, *, tmp: Path, log, sandbox: SandboxProcess, prefix: str = "icp_bench"):
        super().__init__(url, tmp=tmp, log=log, prefix=prefix)
        self.sandbox = sandbox

    def env(self, database: str, **extra) -> dict:
        return super().env(database, MICROSOFT_ENABLED="true", MICROSOFT_API_URL=self.sandbox.url,
                           MICROSOFT_TOKEN_URL=f"{self.sandbox.url}/sandbox/oauth2/v2.0/token",
                           MICROSOFT_CLIENT_ID=CLIENT_ID, MICROSOFT_CLIENT_SECRET=CLIENT_SECRET, **extra)

    def jobs_create_code(self, n: int, companies: int) -> str:
        """`n` vendor jobs over `companies` sandbox tenants (created in this benchmark's sandbox), due far ahead."""
        return (
            f"from devtools.bench_vendor import sandbox_customer_creator\n"
            f"benchmarking.vendor_jobs_create({n}, companies={companies}, now=now, due_at=now + dt.timedelta(days=365),"
            f" customer_for=sandbox_customer_creator({self.sandbox.url!r}))"
        )

    @contextmanager
    def burst(self, name: str, *, clusters: int, workers: int, jobs: int, send_to_backend: bool = True,
              faults: dict | None = None, **extra):
        """A fresh copy of the template keeping its first `jobs` jobs (the rest deleted), `clusters`
        imports_worker processes on it, ready, the sandbox's faults set: then every job due at one instant,
        five seconds from now, the tables the set-up moved vacuumed meanwhile. Yields (connection, due time, the workers' processes, the sandbox's order ids
        before the burst); the workers are stopped after."""
        database = f"{self.template}_{name}"
        self._create(database, template=self.template)
        env = self.env(database, Q_WORKERS=workers, **extra)
        procs = [
            subprocess.Popen([sys.executable, MANAGE, "imports_worker"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
            for _ in range(clusters)
        ]
        import psycopg

        before = {o["id"] for o in self.sandbox.ledger()["orders"]}
        try:
            with psycopg.connect(self._url_for(database), autocommit=True) as conn:
                first = conn.execute("SELECT min(id) FROM imports_importjob").fetchone()[0]
                conn.execute("DELETE FROM imports_importrow WHERE job_id >= %s", (first + jobs,))
                conn.execute("DELETE FROM imports_importjob WHERE id >= %s", (first + jobs,))
                if not send_to_backend:
                    conn.execute("UPDATE orders_order SET send_to_backend = false")
                self._wait_clusters_ready(conn, clusters)
                self.sandbox.faults(**{"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "rate_limit_rate": 0,
                                       "lost_response_rate": 0, "down": False, **(faults or {})})
                # Due a few seconds ahead, and the tables vacuumed meanwhile: moving 10,000 jobs' due time
                # (and their orders' Send to backend) leaves as many dead rows and index entries, which the
                # burst's claims would wade through. Jobs due at 00:00 in production were scheduled days
                # before, long vacuumed.
                due = conn.execute("SELECT now() + interval '5 seconds'").fetchone()[0]
                conn.execute("UPDATE imports_importjob SET due_at = %s", (due,))
                conn.execute("VACUUM (ANALYZE) imports_importjob, imports_importrow, orders_order")
                if conn.execute("SELECT now() > %s", (due,)).fetchone()[0]:
                    raise RuntimeError(f"{name}: the tables took longer to vacuum than the time before the due instant")
                yield conn, due, procs, before
        finally:
            self.sandbox.faults(latency_ms=0, jitter_ms=0, error_rate=0, rate_limit_rate=0, lost_response_rate=0, down=False)
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)

    def new_orders(self, before: set) -> tuple[int, int]:
        """(orders the sandbox placed since `before`, duplicates among them: orders beyond the first per cart)."""
        new = [o for o in self.sandbox.ledger()["orders"] if o["id"] not in before]
        per_cart: dict[str, int] = {}
        for order in new:
            per_cart[order["cart_id"]] = per_cart.get(order["cart_id"], 0) + 1
        return len(new), sum(count - 1 for count in per_cart.values())

    def run(self, name: str, *, clusters: int, workers: int, jobs: int, send_to_backend: bool = True,
            faults: dict | None = None, timeout: float = 900, **extra) -> VendorRun:
        """The first `jobs` jobs of a fresh copy due at one instant: seconds until all are final."""
        children_before = _children_cpu()
        with self.burst(name, clusters=clusters, workers=workers, jobs=jobs, send_to_backend=send_to_backend,
                        faults=faults, **extra) as (conn, due, _procs, before):
            sandbox_cpu = self.sandbox.cpu_seconds()
            deadline = time.monotonic() + timeout
            while conn.execute("SELECT count(*) FROM imports_importjob WHERE finished_at IS NULL").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: not all final after {timeout:.0f} s")
                time.sleep(0.2)
            lateness = [float(r[0]) for r in conn.execute(
                "SELECT extract(epoch FROM finished_at - due_at) FROM imports_importjob").fetchall()]
            last = float(conn.execute("SELECT extract(epoch FROM max(finished_at) - %s) FROM imports_importjob",
                                      (due,)).fetchone()[0])
            sandbox_cpu = self.sandbox.cpu_seconds() - sandbox_cpu
            statuses = dict(conn.execute("SELECT status, count(*) FROM imports_importjob GROUP BY status").fetchall())
            calls = conn.execute("SELECT count(*) FROM catalog_vendorcall").fetchone()[0]
            durations = [float(r[0]) for r in conn.execute("SELECT duration_ms FROM catalog_vendorcall").fetchall()]
        # The workers wait for their clusters, which wait for their processes: the whole tree's CPU time, the
        # start included (about the same in every run).
        worker_cpu = _children_cpu() - children_before
        orders, duplicates = self.new_orders(before)
        return VendorRun(name, jobs, last, statistics.median(lateness), percentile(lateness, 99), statuses, calls, orders,
                         duplicates, statistics.median(durations) if durations else 0.0,
                         percentile(durations, 99) if durations else 0.0, worker_cpu, sandbox_cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sandbox_customer_creator(url: str):
    """For vendor_jobs_create in the seeding process: a sandbox customer per domain, its id."""
    client = httpx.Client(base_url=url, timeout=30)
    token = client.post("/sandbox/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "https://api.partnercenter.microsoft.com/.default",
    }).json()["access_token"]

    def create(domain: str) -> str:
        answer = client.post("/v1/customers", headers={
            "Authorization": f"Bearer {token}", "MS-RequestId": str(uuid.uuid4()), "MS-CorrelationId": str(uuid.uuid4()),
        }, json={"companyProfile": {"domain": domain}, "billingProfile": {
            "companyName": domain.split(".")[0].upper(), "email": f"it@{domain}", "culture": "es-PE", "language": "es",
            "defaultAddress": {"country": "PE", "city": "Lima"}}})
        answer.raise_for_status()
        return answer.json()["id"]

    return create
