"""The midnight benchmark (issue 26, point 3): `make bench-midnight`. See devtools/bench_midnight.py.

Needs PostgreSQL (BENCH_POSTGRES_URL or --postgres: a user with CREATEDB; temporary databases named
icp_midnight_* are created and dropped there); starts its own Partner Center sandbox and SMTP server."""

import logging
import os
import socket
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devtools.bench_midnight import TENANT_LIMIT_PER_MINUTE, MidnightBench
from devtools.bench_vendor import SandboxProcess
from devtools.smtp_sink import SinkProcess

# Issue 26's goals for the same burst with Send to backend off (no vendor in the path).
LOCAL_GOAL_JOBS_SECONDS = 8
LOCAL_GOAL_EMAILS_SECONDS = 15


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        raise CommandError(f"{name} must be a whole number.") from None


class Command(BaseCommand):
    help = ("Benchmark a 00:00 burst: jobs over customer tenants due at one instant, placed with the Partner Center "
            "sandbox and emailed to a local SMTP server, beside the same burst with Send to backend off (PostgreSQL).")

    def add_arguments(self, parser):
        parser.add_argument("--jobs", type=int, default=_env_int("MIDNIGHT_JOBS", 10000),
                            help="jobs due at once (default %(default)s, $MIDNIGHT_JOBS)")
        parser.add_argument("--tenants", type=int, default=_env_int("MIDNIGHT_TENANTS", 1000),
                            help="customer tenants they are spread over (default %(default)s, $MIDNIGHT_TENANTS)")
        parser.add_argument("--latency-ms", type=int, default=_env_int("MIDNIGHT_LATENCY_MS", 100),
                            help="the sandbox's latency per call (default %(default)s)")
        parser.add_argument("--jitter-ms", type=int, default=_env_int("MIDNIGHT_JITTER_MS", 50),
                            help="the sandbox's jitter, plus or minus (default %(default)s)")
        parser.add_argument("--layout", default=os.environ.get("MIDNIGHT_LAYOUT", "2x2"),
                            help="imports_worker processes x workers each (default %(default)s)")
        parser.add_argument("--no-local", action="store_true", help="skip the run with Send to backend off")
        parser.add_argument("--timeout", type=float, default=900, help="seconds a run may take (default %(default)s)")
        parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", ""), metavar="URL",
                            help="Redis broker for the workers (default $BENCH_REDIS_URL; empty: the ORM broker on PostgreSQL)")
        parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""), metavar="URL",
                            help="PostgreSQL server for the temporary databases (default $BENCH_POSTGRES_URL)")

    def handle(self, *args, jobs, tenants, latency_ms, jitter_ms, layout, no_local, timeout, redis, postgres, **options):
        if not postgres:
            raise CommandError("Set BENCH_POSTGRES_URL (or --postgres), e.g. postgres://icp:icp@127.0.0.1:5432/icp (a user with CREATEDB).")
        if jobs < 1 or tenants < 1 or latency_ms < 0 or jitter_ms < 0 or timeout <= 0:
            raise CommandError("--jobs, --tenants and --timeout must be positive, --latency-ms and --jitter-ms not negative.")
        try:
            clusters, workers = (int(x) for x in layout.lower().split("x"))
        except ValueError:
            raise CommandError("--layout takes PROCESSESxWORKERS, e.g. 2x2.") from None
        if clusters < 1 or workers < 1:
            raise CommandError("--layout takes PROCESSESxWORKERS, each 1 or more, e.g. 2x2.")
        out = self.stdout
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call otherwise
        knobs = dict(clusters=clusters, workers=workers, jobs=jobs, latency_ms=latency_ms, jitter_ms=jitter_ms, timeout=timeout)
        with tempfile.TemporaryDirectory(prefix="icp-bench-midnight-") as tmp:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            sandbox = SandboxProcess(Path(tmp), port)
            try:
                sink = SinkProcess()
            except RuntimeError as error:
                sandbox.stop()
                raise CommandError(str(error)) from None
            bench = MidnightBench(postgres, tmp=Path(tmp), log=out, sandbox=sandbox, sink=sink, redis_url=redis)
            try:
                out.write(f"Seeding {jobs} jobs over {tenants} sandbox tenants ...")
                bench.seed_template(jobs, tenants)
                vendor = bench.midnight("vendor", **knobs)
                load_vendor = os.getloadavg()
                local = None if no_local else bench.midnight("local", send_to_backend=False, **knobs)
            finally:
                bench.drop_all()
                sink.stop()
                sandbox.stop()
        load = os.getloadavg()
        out.write(f"\n{jobs} jobs over {tenants} customer tenants due at one instant, {clusters} imports_worker x {workers} "
                  f"workers, PostgreSQL ({'Redis' if redis else 'ORM'} broker), sandbox {latency_ms} ms ± {jitter_ms} ms a call; {os.cpu_count()} CPUs, load average "
                  f"{load_vendor[0]:.1f} after the vendor run, {load[0]:.1f} at the end")
        out.write(f"{'Send to backend':<16} {'jobs':>6} {'all final s':>11} {'late p50':>8} {'late p99':>8} {'emails':>6} "
                  f"{'last email s':>12} {'email p99':>9} {'calls/job':>9} {'CPU ms/job':>10} {'CPU ms/email':>12}  CPU s jobs/outbox/dispatch")
        for run in (vendor, local):
            if run is None:
                continue
            out.write(
                f"{'on' if run is vendor else 'off':<16} {run.jobs:>6} {run.seconds:>11.1f} {run.lateness_p50:>8.1f} "
                f"{run.lateness_p99:>8.1f} {run.emails:>6} {run.emails_seconds:>12.1f} {run.email_p99:>9.1f} "
                f"{run.calls_per_job:>9.2f} {1000 * run.cpu_total / run.jobs:>10.2f} "
                f"{1000 * run.cpu_total / max(run.emails, 1):>12.2f}  "
                f"{run.cpu.get('jobs', 0):.1f}/{run.cpu.get('outbox', 0):.1f}/{run.cpu.get('dispatcher', 0):.1f}"
            )
            out.write(f"{'':<16} statuses {run.statuses}; sandbox ledger: {run.ledger_orders} orders, "
                      f"{run.duplicate_orders} duplicates; SMTP server accepted {run.sink_messages} messages; "
                      f"CPU s sandbox {run.sandbox_cpu:.1f}, PostgreSQL {run.postgres_cpu:.1f} (every database of the server)")
        out.write("CPU: every process of the workers (dispatchers, both lanes' clusters) from the due instant to the last "
                  "email, per job and per email (each job's CPU includes its email's).")
        met = (vendor.seconds <= 60 and vendor.emails_seconds <= 75 and vendor.duplicate_orders == 0
               and vendor.tenant_minutes_over == 0 and vendor.emails == jobs)
        out.write(f"goals (all final <= 60 s, every email <= 75 s, 0 duplicates, 0 tenant-minutes over "
                  f"{TENANT_LIMIT_PER_MINUTE}): {'met' if met else 'MISSED'}")
        if local is not None:
            local_met = local.seconds <= LOCAL_GOAL_JOBS_SECONDS and local.emails_seconds <= LOCAL_GOAL_EMAILS_SECONDS \
                and local.emails == jobs
            out.write(f"goals with Send to backend off (all final <= {LOCAL_GOAL_JOBS_SECONDS} s, every email <= "
                      f"{LOCAL_GOAL_EMAILS_SECONDS} s): {'met' if local_met else 'MISSED'}")
        out.write(vendor.line())

