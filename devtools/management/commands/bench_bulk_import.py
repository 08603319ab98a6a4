"""Benchmark of a bulk import: a 5,000-line Products file, its upload check and its run, beside the
same number of subscriptions scheduled as 5,000 single scheduled-provisioning jobs (the reference).

Like bench_dispatch, it never touches the developer's database: it re-runs itself in a child
process on a SQLite file in a fresh temporary directory, migrated and seeded there.
"""

import argparse
import csv
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from devtools.benchmarking import QueryCounter, due_jobs_create

from devtools.management.commands.bench_dispatch import CountingEmailBackend  # noqa: F401  (named by settings.EMAIL_BACKEND below)

BENCH_DB_ENV = "ICP_BENCH_DATABASE_FILE"


class Command(BaseCommand):
    help = "Benchmark a 5,000-line Products import against 5,000 scheduled provisionings (temporary SQLite database)."

    def add_arguments(self, parser):
        parser.add_argument("--lines", type=int, default=5000, help="lines of the file, and jobs of the reference")
        parser.add_argument("--companies", type=int, default=500, help="customer companies the lines are spread over")
        parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, lines, companies, child, **options):
        if lines < 1 or companies < 1:
            raise CommandError("--lines and --companies must be positive.")
        if child:
            return self.run_child(lines, companies)
        with tempfile.TemporaryDirectory(prefix="icp-bench-bulk-") as tmp:
            db_file = Path(tmp) / "bench.sqlite3"
            env = {
                **os.environ, "DATABASE_URL": f"sqlite:///{db_file}", BENCH_DB_ENV: str(db_file), "MICROSOFT_ENABLED": "false",
                "EMAIL_URL": "dummymail://", "REDIS_URL": "", "LOG_LEVEL": "WARNING",
            }
            result = subprocess.run(
                [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench_bulk_import", "--child",
                 "--lines", str(lines), "--companies", str(companies)],
                env=env, cwd=settings.BASE_DIR, capture_output=True, text=True,
            )
            self.stdout.write(result.stdout.rstrip("\n"))
            if result.returncode:
                self.stderr.write(result.stderr[-3000:])
                raise CommandError("The benchmark run failed.")

    def run_child(self, n: int, companies: int):
        expected = os.environ.get(BENCH_DB_ENV, "")
        db = settings.DATABASES["default"]
        if not expected or db["ENGINE"] != "django.db.backends.sqlite3" or str(db["NAME"]) != expected:
            raise CommandError("Refusing to run: the database is not the benchmark's temporary SQLite file.")
        from devtools.demo import DemoRefs
        from imports.bulk.checks import check_lines
        from imports.bulk.columns import PRODUCT_COLUMNS
        from imports.bulk.files import cells_by_key, read_table
        from imports.bulk.services import imports_bulk_start
        from imports.engine.dispatch import dispatch_due_imports
        from imports.models import ImportJob, ImportRow
        from orders.models import Order

        call_command("migrate", verbosity=0, interactive=False)
        call_command("seed_demo", verbosity=0, stdout=io.StringIO())
        settings.EMAIL_BACKEND = f"{__name__}.CountingEmailBackend"
        now = timezone.now().replace(microsecond=0)
        job_ids = due_jobs_create(n, companies=companies, now=now, due_at=now - dt.timedelta(minutes=1))

        # The file: the reference's lines (same companies, products, quantities, tenants), written as a reseller would.
        orders = list(
            Order.objects.filter(import_row__job_id__in=job_ids).select_related("company", "service").order_by("pk")
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        labels = [c.label for c in PRODUCT_COLUMNS]
        writer.writerow(labels)
        for i, order in enumerate(orders):
            cells = {
                "Parent Account Id": order.company.account_id, "Product code": order.service.code,
                "Subscription Name": f"{order.service.name} bulk #{i}", "Quantity": order.quantity, "Billing Type": order.term,
                "Microsoft Tenant Id": order.vendor_config.get("microsoft_tenant_id", ""),
            }
            writer.writerow([cells.get(label, "") for label in labels])
        content = buffer.getvalue().encode("utf-8")

        # The reference: n single scheduled-provisioning jobs, one dispatch pass.
        reference_counter = QueryCounter()
        with connection.execute_wrapper(reference_counter):
            started = time.perf_counter()
            reference = dispatch_due_imports(now=now)
            reference_seconds = time.perf_counter() - started

        user = DemoRefs.load().admin_abbie
        # The check alone (read the file, check every line), as the page runs it before anything is written.
        started = time.perf_counter()
        lines, problems = cells_by_key(read_table(content), ImportJob.AccountType.PRODUCTS)
        checked = check_lines(user=user, account_type=ImportJob.AccountType.PRODUCTS, lines=lines, due=now, now=now, errors=problems)
        check_only_seconds = time.perf_counter() - started
        if checked.errors:
            raise CommandError(f"The file has errors: {checked.errors[:5]}")
        check_counter = QueryCounter()
        with connection.execute_wrapper(check_counter):
            started = time.perf_counter()
            result = imports_bulk_start(
                user=user, account_type=ImportJob.AccountType.PRODUCTS, file_name="bench.csv", content=content,
                due_at=None, now=now, accept_terms=True, import_again=True,
            )
            check_seconds = time.perf_counter() - started
        if result.job is None:
            raise CommandError(f"The file was not accepted: {result.errors[:5]}")
        run_counter = QueryCounter()
        with connection.execute_wrapper(run_counter):
            started = time.perf_counter()
            dispatch_due_imports(now=now + dt.timedelta(seconds=1))
            run_seconds = time.perf_counter() - started
        job = ImportJob.objects.get(pk=result.job.pk)
        completed = ImportRow.objects.filter(job=job, status=ImportRow.Status.COMPLETED).count()
        self.stdout.write(
            f"lines: {n}  companies: {companies}  file: {len(content) / 1024:,.0f} KB\n"
            f"upload check (read the file, check every line): {check_only_seconds:.2f} s\n"
            f"upload with queueing (the check, then the job, its rows and orders written): {check_seconds:.2f} s, "
            f"{check_counter.count} queries\n"
            f"bulk run: {run_seconds:.2f} s  ->  {n / run_seconds:,.0f} lines/s, {run_counter.count} queries = "
            f"{run_counter.count / n:.2f} queries/line; completed {completed}, failed {job.error_count}\n"
            f"reference ({n} scheduled provisioning jobs, one dispatch pass): {reference_seconds:.2f} s  ->  "
            f"{n / reference_seconds:,.0f} jobs/s, {reference_counter.count / n:.2f} queries/job; "
            f"completed {reference.completed}, failed {reference.failed}\n"
            f"bulk run / reference: {run_seconds / reference_seconds:.2f}x"
        )
