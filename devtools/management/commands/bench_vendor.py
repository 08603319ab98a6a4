"""Benchmark of the vendor path (issue 25, "Speed"): `make bench-vendor`. See devtools/bench_vendor.py.

Needs PostgreSQL (BENCH_POSTGRES_URL or --postgres: a user with CREATEDB; temporary databases are created
and dropped there) and starts its own Partner Center sandbox (`python -m sandbox`) on a free port."""

import logging
import os
import socket
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devtools.bench_vendor import SandboxProcess, VendorBench

FAULTS = {"error_rate": 0.2, "lost_response_rate": 0.1, "rate_limit_rate": 0.1}


class Command(BaseCommand):
    help = "Benchmark the engine's vendor path: a burst of due jobs placed with the Partner Center sandbox, on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--jobs", type=int, default=1000, help="jobs due at once (default %(default)s)")
        parser.add_argument("--companies", type=int, default=100,
                            help="customer tenants they are spread over (default %(default)s: under 500 requests a minute each)")
        parser.add_argument("--latency-ms", type=int, default=100, help="the sandbox's latency per call (default %(default)s)")
        parser.add_argument("--layout", default="1x2", help="clusters x workers (default %(default)s)")
        parser.add_argument("--fault-jobs", type=int, default=500,
                            help="jobs of the fault burst (20%% 5xx, 10%% lost responses, 10%% 429; 0: skip)")
        parser.add_argument("--concurrency", type=int, nargs="+", default=[],
                            help="IMPORT_VENDOR_CONCURRENCY values to run the vendor burst with, one run each "
                            "(default: the setting); MICROSOFT_MAX_CONNECTIONS is raised to match")
        parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""), metavar="URL",
                            help="PostgreSQL server for the temporary databases (default $BENCH_POSTGRES_URL)")

    def handle(self, *args, jobs, companies, latency_ms, layout, fault_jobs, concurrency, postgres, **options):
        if not postgres:
            raise CommandError("Set BENCH_POSTGRES_URL (or --postgres), e.g. postgres://icp:icp@127.0.0.1:5432/icp (a user with CREATEDB).")
        if jobs < 1 or companies < 1 or fault_jobs < 0 or latency_ms < 0:
            raise CommandError("--jobs and --companies must be positive, --fault-jobs and --latency-ms not negative.")
        try:
            clusters, workers = (int(x) for x in layout.lower().split("x"))
        except ValueError:
            raise CommandError("--layout takes CLUSTERSxWORKERS, e.g. 1x2.") from None
        out = self.stdout
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call otherwise
        with tempfile.TemporaryDirectory(prefix="icp-bench-vendor-") as tmp:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            sandbox = SandboxProcess(Path(tmp), port)
            bench = VendorBench(postgres, tmp=Path(tmp), log=out, sandbox=sandbox)
            try:
                out.write(f"Seeding {max(jobs, fault_jobs)} jobs over {companies} sandbox tenants ...")
                bench.seed_template(max(jobs, fault_jobs), companies)
                from imports.engine.config import engine_config

                runs = []
                for value in concurrency or [engine_config().vendor_concurrency]:
                    knobs = {"IMPORT_VENDOR_CONCURRENCY": value, "MICROSOFT_MAX_CONNECTIONS": max(value, 20)} if concurrency else {}
                    vendor = bench.run(f"vendor{value}" if concurrency else "vendor", clusters=clusters, workers=workers,
                                       jobs=jobs, faults={"latency_ms": latency_ms}, **knobs)
                    runs.append(vendor)
                threads = clusters * workers * (concurrency[-1] if concurrency else engine_config().vendor_concurrency)
                runs.append(bench.run("local", clusters=clusters, workers=workers, jobs=jobs, send_to_backend=False,
                                      faults={"latency_ms": latency_ms}))
                customers = [c["id"] for c in sandbox.ledger()["customers"]]
                sandbox.faults(latency_ms=latency_ms)
                floor = sandbox.floor(vendor.vendor_calls, threads, customers)
                sandbox.faults(latency_ms=0)
                if fault_jobs:
                    runs.append(bench.run("faults", clusters=clusters, workers=workers, jobs=fault_jobs,
                                          faults=FAULTS, IMPORT_VENDOR_BACKOFF_SECONDS=0.25))
            finally:
                bench.drop_all()
                sandbox.stop()
        out.write(f"\n{jobs} jobs due at once, {clusters} cluster(s) x {workers} workers, PostgreSQL, sandbox latency {latency_ms} ms")
        out.write(f"{'run':<9} {'jobs':>5} {'all final s':>11} {'p50 s':>6} {'p99 s':>6} {'calls/job':>9} {'call ms p50/p99':>15} "
                  f"{'ledger':>6} {'dup':>4} {'cpu workers/sandbox s':>21}  statuses")
        for run in runs:
            out.write(f"{run.name:<9} {run.jobs:>5} {run.seconds:>11.1f} {run.lateness_p50:>6.1f} {run.lateness_p99:>6.1f} "
                      f"{run.calls_per_job:>9.2f} {run.call_ms_p50:>7.0f}/{run.call_ms_p99:<7.0f} "
                      f"{run.ledger_orders:>6} {run.duplicate_orders:>4} {run.worker_cpu:>12.1f}/{run.sandbox_cpu:<8.1f}  {run.statuses}")
        out.write(f"reference: the vendor alone, {vendor.vendor_calls} calls {threads} at a time at {latency_ms} ms: {floor:.1f} s")
        goal = "met" if min(run.seconds for run in runs if run.name.startswith("vendor")) < 20 else "MISSED"
        out.write(f"this machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end "
                  "(the figures move with what else runs)")
        out.write(f"goal (< 20 s to all final with Send to backend on): {goal}")
