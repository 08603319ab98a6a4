"""Benchmark of the dispatch: N import jobs due at once, run by one pass.

Never touches the developer's database: the command re-runs itself in a child process whose
DATABASE_URL points at a SQLite file in a fresh temporary directory, migrates it, seeds a
scenario (the demo data plus `--companies` customers with a Microsoft tenant), creates the
jobs, then measures, in that one run:
- the dispatch pass: seconds, jobs per second, SQL queries per job (every statement counted
  with connection.execute_wrapper), the emails included (built as for SMTP, then dropped);
- the floor: the same number of subscriptions written with one plain bulk_create.
"""

import argparse
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from devtools.benchmarking import QueryCounter, due_jobs_create

BENCH_DB_ENV = "ICP_BENCH_DATABASE_FILE"


class CountingEmailBackend(BaseEmailBackend):
    """Builds every message exactly as an SMTP backend would (MIME, bytes), counts it and
    drops it: keeping ten thousand messages in memory (locmem) would measure the garbage
    collector, not the dispatch."""

    sent = 0

    def send_messages(self, email_messages):
        for message in email_messages:
            message.message().as_bytes()
        CountingEmailBackend.sent += len(email_messages)
        return len(email_messages)


class Command(BaseCommand):
    help = "Benchmark the import dispatch on a temporary SQLite database (never the configured one)."

    def add_arguments(self, parser):
        parser.add_argument("--jobs", type=int, nargs="+", default=[10000], help="Number of due jobs; several values run one after the other.")
        parser.add_argument(
            "--companies", type=int, default=None,
            help="Customer companies the jobs are spread over (default: one per 10 jobs, at least 100). "
            "Every company holds a tenant and receives its jobs' subscriptions, which the checks read.",
        )
        parser.add_argument(
            "--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""), metavar="URL",
            help="Also run the engine (real imports_worker processes) on PostgreSQL, in temporary databases "
            "created on this server (e.g. postgres://icp:icp@127.0.0.1:5432/icp; the user needs CREATEDB).",
        )
        parser.add_argument("--layouts", nargs="+", default=["1x1", "1x2", "2x2"], help="clusters x workers (default %(default)s)")
        parser.add_argument("--steady", type=int, default=60, help="jobs of the steady (no burst) lateness run, one every 0.5 s")
        parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, jobs, companies, child, postgres, layouts, steady, **options):
        if any(n < 1 for n in jobs) or (companies is not None and companies < 1):
            raise CommandError("--jobs and --companies must be positive.")
        try:
            shapes = [tuple(int(x) for x in layout.lower().split("x")) for layout in layouts]
        except ValueError:
            raise CommandError("--layouts takes CLUSTERSxWORKERS values, e.g. 2x2.") from None
        if child:
            return self.run_child(jobs[0], companies or max(100, jobs[0] // 10))
        manage_py = Path(settings.BASE_DIR) / "manage.py"
        for n in jobs:
            with tempfile.TemporaryDirectory(prefix="icp-bench-") as tmp:
                db_file = Path(tmp) / "bench.sqlite3"
                env = {
                    **os.environ,
                    "DATABASE_URL": f"sqlite:///{db_file}",
                    BENCH_DB_ENV: str(db_file),
                    "EMAIL_URL": "dummymail://",  # the child counts them with CountingEmailBackend
                    "REDIS_URL": "",
                    "LOG_LEVEL": "WARNING",
                    # The engine on its own: orders provisioned locally (bench_vendor measures the vendor path).
                    "MICROSOFT_ENABLED": "false",
                }
                self.stdout.write(f"--- {n} due jobs (temporary database {db_file})")
                self.stdout.flush()
                child = subprocess.Popen(
                    [sys.executable, str(manage_py), "bench_dispatch", "--child", "--jobs", str(n),
                     "--companies", str(companies or max(100, n // 10))],
                    env=env,
                    cwd=settings.BASE_DIR,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                sqlite_lines = []
                for line in child.stdout:  # relayed as it comes: seeding 10,000 jobs takes a while
                    self.stdout.write(line.rstrip("\n"))
                    self.stdout.flush()
                    sqlite_lines.append(line)
                if child.wait():
                    raise CommandError(f"The benchmark run for {n} jobs failed.")
            if postgres:
                self.engine_on_postgres(postgres, n, companies or max(100, n // 10), shapes, steady, sqlite_lines)

    def engine_on_postgres(self, url, n, companies, shapes, steady, sqlite_lines):
        """Real clusters on PostgreSQL, printed side by side with the SQLite pass and the floor."""
        from devtools.bench_engine import PostgresBench

        figures = {}
        for line in sqlite_lines:  # "dispatch: 8.91 s  ->  1,122 jobs/s, ..." and "floor (...): 0.61 s  ->  ..."
            for key, prefix in (("dispatch", "dispatch:"), ("floor", "floor (")):
                if line.startswith(prefix):
                    figures[key] = float(line.split(":", 1)[1].split(" s", 1)[0])
        from devtools.management.commands.bench_emails import Sink

        with tempfile.TemporaryDirectory(prefix="icp-bench-pg-") as tmp:
            bench = PostgresBench(url, tmp=Path(tmp), log=self.stdout)
            # Every email accepted by a local SMTP server in a process of its own (devtools.smtp_sink).
            sink = Sink()
            bench.email_url = f"smtp://127.0.0.1:{sink.port}"
            try:
                self.stdout.write(f"--- PostgreSQL: seeding a template database with {n} jobs ...")
                self.stdout.flush()
                bench.seed_template(n, companies)
                results = []
                for clusters, workers in shapes:
                    self.stdout.write(f"running {clusters} cluster(s) x {workers} worker(s) ...")
                    self.stdout.flush()
                    results.append(bench.run_layout(clusters, workers, n))
                if steady:
                    self.stdout.write(f"steady: {steady} jobs falling due one every 0.5 s on 1 x 1 ...")
                    self.stdout.flush()
                    results.append(bench.steady_lateness(1, 1, steady, 0.5))
                self.print_table(n, figures, results)
                stats = sink.stats()
                self.stdout.write(
                    f"emails accepted by the local SMTP server: {stats['messages']:,} over {stats['connections']:,} connections"
                )
            finally:
                sink.stop()
                bench.drop_all()

    def print_table(self, n, figures, results):
        rows = [
            ("SQLite, one pass in-process", n, figures.get("dispatch"), None),
            ("SQLite, bulk_create floor", n, figures.get("floor"), None),
        ] + [(f"PostgreSQL {r.layout}", r.jobs, r.seconds, r) for r in results]
        self.stdout.write(
            f"\n{'run':34} {'jobs':>6} {'seconds':>8} {'jobs/s':>8} {'late p50':>9} {'late p99':>9} {'email p99':>10} {'email max':>10}"
        )
        for name, jobs, seconds, r in rows:
            rate = f"{jobs / seconds:8,.0f}" if seconds else f"{'-':>8}"
            late = (
                f"{r.lateness_p50:9.2f} {r.lateness_p99:9.2f} {r.email_p99:10.2f} {r.email_last:10.2f}" if r
                else f"{'-':>9} {'-':>9} {'-':>10} {'-':>10}"
            )
            self.stdout.write(f"{name:34} {jobs:6} {seconds or 0:8.2f} {rate} {late}")
        by_layout = {r.layout: r for r in results}
        if "1 x 1" in by_layout and "2 x 2" in by_layout:
            self.stdout.write(
                f"2 x 2 / 1 x 1 throughput: {by_layout['2 x 2'].throughput / by_layout['1 x 1'].throughput:.2f}x"
            )

    # --- the child: runs against the temporary database only -----------------------------------

    def run_child(self, n: int, companies: int):
        expected = os.environ.get(BENCH_DB_ENV, "")
        db = settings.DATABASES["default"]
        if not expected or db["ENGINE"] != "django.db.backends.sqlite3" or str(db["NAME"]) != expected:
            raise CommandError("Refusing to run: the database is not the benchmark's temporary SQLite file.")
        call_command("migrate", verbosity=0, interactive=False)
        now = timezone.now().replace(microsecond=0)
        self.stdout.write(f"seeding {n} jobs over {companies} companies ...")
        self.stdout.flush()
        started = time.perf_counter()
        self.seed(n, companies, now=now)
        self.stdout.write(f"seeded in {time.perf_counter() - started:.1f} s")
        self.measure(n, now=now)

    def seed(self, n: int, companies: int, *, now: dt.datetime):
        call_command("seed_demo", verbosity=0, stdout=io.StringIO())
        due_jobs_create(n, companies=companies, now=now, due_at=now - dt.timedelta(minutes=1))

    def measure(self, n: int, *, now: dt.datetime):
        from accounts.services import account_ids_allocate
        from imports.models import ImportJob
        from imports.engine.dispatch import dispatch_due_imports
        from imports.notify.send import emails_send
        from orders.models import Subscription

        before = Subscription.objects.count()
        counter = QueryCounter()
        settings.EMAIL_BACKEND = f"{__name__}.CountingEmailBackend"
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            summary = dispatch_due_imports(now=now)
            elapsed = time.perf_counter() - started
            # The emails the pass left in the outbox while due jobs waited (imports.notify.priority);
            # a cluster's sender tasks would send them: here, this process, timed on its own.
            started = time.perf_counter()
            emails_send(now=timezone.now())
            mailing = time.perf_counter() - started
        created = Subscription.objects.count() - before
        left = ImportJob.objects.exclude(status__in=[ImportJob.Status.COMPLETED, ImportJob.Status.FAILED]).count()
        if summary.claimed != n or left or created != summary.completed:
            raise CommandError(f"Inconsistent run: {summary}, {left} jobs unfinished, {created} subscriptions created.")

        # The floor: the same number of subscriptions, written with one plain bulk_create.
        template = Subscription.objects.exclude(provisioning_key=None).select_related("service").first()
        account_ids = account_ids_allocate(count=n)
        floor_rows = [
            Subscription(
                company_id=template.company_id, service_id=template.service_id, order_id=template.order_id,
                name=template.name, account_id=account_id, quantity=template.quantity, term=template.term,
                billing_frequency=template.billing_frequency, unit_cost=template.unit_cost, unit_price=template.unit_price,
                currency=template.currency, attributes=template.attributes, provisioning_key=f"bench-floor:{account_id}",
            )
            for account_id in account_ids
        ]
        floor_counter = QueryCounter()
        with connection.execute_wrapper(floor_counter):
            started = time.perf_counter()
            with transaction.atomic():
                Subscription.objects.bulk_create(floor_rows)
            floor = time.perf_counter() - started

        self.stdout.write(
            f"jobs: {n}  completed: {summary.completed}  failed: {summary.failed}  "
            f"emails sent: {CountingEmailBackend.sent} (those left for later: {mailing:.2f} s after the pass)\n"
            f"dispatch: {elapsed:.2f} s  ->  {n / elapsed:,.0f} jobs/s, "
            f"{counter.count} queries = {counter.count / n:.2f} queries/job\n"
            f"floor (bulk_create of {n} subscriptions): {floor:.2f} s  ->  {n / floor:,.0f} rows/s, "
            f"{floor_counter.count} queries\n"
            f"dispatch / floor: {elapsed / floor:.1f}x"
        )
