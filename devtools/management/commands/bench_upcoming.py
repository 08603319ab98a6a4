"""Benchmark of Orders > Upcoming and GET /api/v1/upcoming/: a reseller with `--items` scheduled
items (default 100,000) over `--companies` customers, beside another reseller's `--others` items.

Never touches the developer's database: the command re-runs itself in a child process whose
DATABASE_URL points at a temporary database (PostgreSQL with --postgres or BENCH_POSTGRES_URL, the
figure the issue asks for; otherwise a SQLite file), migrates it, seeds the demo data and the items
(a fifth each: pending provisionings, changes at a chosen time, renewals without changes, renewals
with an at-renewal change, cancellation windows closing; spread over the next 90 days, windows over
the next 7), then measures whole requests through the test client (view, queries, template or JSON):
the median of `--repeat` requests for the first page (30 and 90 days), a deep page (a keyset cursor
in the middle of the 90 days), one company, one kind, the API, and staff's page; and Django admin's
change list of subscriptions as the reference, in the same run.

Seeding takes minutes; while iterating on the view, `--keep` leaves the PostgreSQL database in place
(its name is printed) and `--reuse NAME` measures again on it (migrated, not seeded again; kept).
"""

import argparse
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from devtools.benchmarking import page_figures_write, page_timing

BENCH_DB_ENV = "ICP_BENCH_DATABASE_FILE"
DB_PREFIX = "icp_bench_upcoming_"
GOAL_MS = 50.0
BENCH_CUSTOMER_BASE = 5_000_000  # the seeded customers' account ids
ACCOUNT_BASE = 20_000_000  # the seeded subscriptions' account ids, clear of the demo's and the factories'


class Command(BaseCommand):
    help = "Benchmark the Upcoming view on a temporary database (never the configured one)."

    def add_arguments(self, parser):
        parser.add_argument("--items", type=int, default=100_000, help="The reseller's scheduled items (default 100,000).")
        parser.add_argument("--others", type=int, default=20_000, help="Another reseller's items (default 20,000).")
        parser.add_argument("--companies", type=int, default=1000, help="Customer companies the items are spread over.")
        parser.add_argument("--repeat", type=int, default=15, help="Requests per figure (the median is printed).")
        parser.add_argument(
            "--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""), metavar="URL",
            help="Run on PostgreSQL, in a temporary database created on this server and dropped after "
            "(e.g. postgres://icp:icp@127.0.0.1:5432/icp; the user needs CREATEDB). Default: a SQLite file.",
        )
        parser.add_argument(
            "--keep", action="store_true",
            help="PostgreSQL: leave the seeded database in place (its name is printed) for --reuse.",
        )
        parser.add_argument(
            "--reuse", default="", metavar="NAME",
            help=f"PostgreSQL: measure on a database a --keep run left ({DB_PREFIX}...), without seeding; it is kept. "
            "Give the same --items, --others and --companies it was seeded with.",
        )
        parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--seeded", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, items, others, companies, repeat, postgres, keep, reuse, child, seeded, **options):
        if items < 1 or others < 0 or companies < 1 or repeat < 1:
            raise CommandError("--items, --companies and --repeat must be positive, --others at least 0.")
        if reuse and not reuse.startswith(DB_PREFIX):
            raise CommandError(f"--reuse takes the name of a database a --keep run left ({DB_PREFIX}...).")
        if (keep or reuse) and not postgres:
            raise CommandError("--keep and --reuse need PostgreSQL (--postgres or BENCH_POSTGRES_URL).")
        self.sizes = {"items": items, "others": others, "companies": companies, "repeat": repeat}
        if child:
            return self.run_child(seeded=seeded)
        if postgres:
            return self.run_on_postgres(postgres, keep=keep, reuse=reuse)
        with tempfile.TemporaryDirectory(prefix="icp-bench-") as tmp:
            db_file = Path(tmp) / "bench.sqlite3"
            self.run_in_child(f"sqlite:///{db_file}", str(db_file))

    def run_on_postgres(self, url: str, *, keep: bool = False, reuse: str = ""):
        import uuid
        from urllib.parse import urlparse, urlunparse

        import psycopg

        name = reuse or f"{DB_PREFIX}{uuid.uuid4().hex[:8]}"
        target = urlunparse(urlparse(url)._replace(path=f"/{name}"))
        admin = urlunparse(urlparse(url)._replace(path="/postgres"))
        if reuse:
            try:
                psycopg.connect(target).close()
            except psycopg.Error as exc:
                raise CommandError(f"Cannot open the kept database {name}: {exc}") from None
            return self.run_in_child(target, name, seeded=True)
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            raise CommandError(f"Cannot create the benchmark's database on {urlparse(url).hostname}: {exc}") from None
        try:
            self.run_in_child(target, name)
        finally:
            if keep:
                self.stdout.write(f"kept {name}: measure again with --reuse {name}; drop it with DROP DATABASE \"{name}\"")
            else:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def run_in_child(self, database_url: str, database_name: str, *, seeded: bool = False):
        manage_py = Path(settings.BASE_DIR) / "manage.py"
        env = {
            **os.environ, "DATABASE_URL": database_url, BENCH_DB_ENV: database_name,
            "EMAIL_URL": "dummymail://", "REDIS_URL": "", "LOG_LEVEL": "WARNING",
        }
        s = self.sizes
        self.stdout.write(
            f"--- Upcoming: {s['items']} items of one reseller over {s['companies']} companies, {s['others']} of another "
            f"({database_url.split(':', 1)[0]}, temporary database {database_name})"
        )
        self.stdout.flush()
        process = subprocess.Popen(
            [sys.executable, str(manage_py), "bench_upcoming", "--child", "--items", str(s["items"]), "--others",
             str(s["others"]), "--companies", str(s["companies"]), "--repeat", str(s["repeat"]),
             *(["--seeded"] if seeded else [])],
            env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for line in process.stdout:
            self.stdout.write(line.rstrip("\n"))
            self.stdout.flush()
        if process.wait():
            raise CommandError("The Upcoming benchmark run failed.")

    # --- the child: runs against the temporary database only -----------------------------------

    def run_child(self, *, seeded: bool = False):
        expected = os.environ.get(BENCH_DB_ENV, "")
        db = settings.DATABASES["default"]
        if not expected or db["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql") or str(db["NAME"]) != expected:
            raise CommandError("Refusing to run: the database is not the benchmark's temporary one.")
        call_command("migrate", verbosity=0, interactive=False)
        if seeded:  # a kept database: the items were seeded relative to that run's now, which is close enough
            return self.measure_seeded()
        call_command("seed_demo", verbosity=0, stdout=io.StringIO())
        started = time.perf_counter()
        now = timezone.now().replace(microsecond=0)
        from devtools.demo import DemoRefs

        demo = DemoRefs.load()
        s = self.sizes
        target = self.seed(demo.abbiebox, s["items"], s["companies"], now=now, prefix="BENCH", offset=0)
        if s["others"]:
            self.seed(demo.andes, s["others"], max(1, s["companies"] // 5), now=now, prefix="OTHER", offset=s["items"] * 2)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE accounts_company, orders_subscription, orders_subscriptionchange, "
                               "orders_order, imports_importjob, imports_importrow")
        self.stdout.write(f"seeded in {time.perf_counter() - started:.1f} s")
        self.measure(demo, target, now=now)

    def measure_seeded(self):
        from accounts.models import Company
        from devtools.demo import DemoRefs

        target = Company.objects.filter(account_id=BENCH_CUSTOMER_BASE + self.sizes["companies"] // 2).first()
        if target is None:
            raise CommandError("This database was not seeded with these --companies.")
        self.measure(DemoRefs.load(), target, now=timezone.now().replace(microsecond=0))

    def seed(self, reseller, n: int, companies: int, *, now, prefix: str, offset: int):
        """`n` items of `reseller`'s subtree, a fifth of each kind; returns a customer in the middle."""
        from accounts.models import Company
        from catalog.models import BillingFrequency, PriceListAssignment, Term
        from devtools.demo import BASIC, DemoRefs
        from imports.models import ImportJob, ImportRow
        from orders.models import Order, Subscription, SubscriptionChange
        from orders.terms import months_add, term_fields

        demo = DemoRefs.load()
        basic = demo.service(BASIC)
        base = BENCH_CUSTOMER_BASE + (0 if prefix == "BENCH" else 500_000)
        with transaction.atomic():
            customers = []
            for i in range(companies):
                company = Company(
                    name=f"{prefix} CUSTOMER {i:04d} S.A.C.", parent=reseller, kind=Company.Kind.CUSTOMER,
                    account_id=base + i, numeric_id=base + 1_000_000 + i,
                )
                company.save()  # the tree's path fields are computed there
                customers.append(company)
            PriceListAssignment.objects.bulk_create(
                [PriceListAssignment(company=c, price_list=demo.abbie_price_list) for c in customers]
            )
            horizon = dt.timedelta(days=90).total_seconds()
            subscriptions, changes_at, renewal_changes, jobs_due = [], [], [], []
            for i in range(n):
                company = customers[i % companies]
                spread = dt.timedelta(seconds=int(horizon * ((i * 7919) % n) / n)) + dt.timedelta(minutes=1)
                kind = i % 5
                if kind == 0:
                    jobs_due.append((company, now + spread))
                    continue
                if kind == 1:  # a change at a chosen time, on a subscription renewing after the horizon
                    fields = term_fields(now - dt.timedelta(days=100), Term.P1Y)
                elif kind in (2, 3):  # a renewal within the horizon (3: with an at-renewal change)
                    fields = term_fields(months_add(now + spread, -12), Term.P1Y)
                else:  # a cancellation window closing within 7 days
                    fields = term_fields(now - dt.timedelta(days=7) + spread / 13, Term.P1Y)
                subscriptions.append((kind, spread, Subscription(
                    company=company, service=basic, name=basic.name, account_id=ACCOUNT_BASE + offset + i, quantity=10,
                    term=Term.P1Y, billing_frequency=BillingFrequency.MONTHLY, unit_cost=Decimal("4.8"),
                    unit_price=Decimal("6.0"), **fields,
                )))
            Subscription.objects.bulk_create([s for _k, _s, s in subscriptions], batch_size=2000)
            before = {"quantity": 10, "billing_frequency": "monthly", "term": "P1Y", "service_name": basic.name}
            for kind, spread, sub in subscriptions:
                if kind == 1:
                    changes_at.append(SubscriptionChange(
                        subscription=sub, kind="quantity", when="at", due_at=now + spread, quantity=12, before=before,
                    ))
                elif kind == 3:
                    renewal_changes.append(SubscriptionChange(
                        subscription=sub, kind="quantity", when="renewal", due_at=sub.term_end, quantity=8, before=before,
                        status="sent",
                    ))
            SubscriptionChange.objects.bulk_create(changes_at + renewal_changes, batch_size=2000)
            orders = Order.objects.bulk_create([
                Order(company=company, created_by=demo.admin_abbie, status=Order.Status.SUBMITTED, service=basic,
                      configured_at=now, subscription_name=basic.name, quantity=1, term=Term.P1Y,
                      billing_frequency=BillingFrequency.MONTHLY, scheduled_for=due, submitted_at=now)
                for company, due in jobs_due
            ], batch_size=2000)
            jobs = ImportJob.objects.bulk_create([
                ImportJob(name=f"{basic.name}(Microsoft)", due_at=due, created_by=demo.admin_abbie, company=company)
                for company, due in jobs_due
            ], batch_size=2000)
            ImportRow.objects.bulk_create([
                ImportRow(job=job, position=1, parent_company=order.company, order=order) for job, order in zip(jobs, orders)
            ], batch_size=2000)
        return customers[len(customers) // 2]

    def measure(self, demo, target, *, now):
        from django.test import Client

        from accounts.users.api_tokens import api_token_create
        from imports.upcoming.listing import Cursor, UpcomingQuery

        repeat = self.sizes["repeat"]
        reseller = Client(SERVER_NAME="localhost")
        reseller.force_login(demo.admin_abbie)
        staff = Client(SERVER_NAME="localhost")
        staff.force_login(demo.staff)
        token = api_token_create(actor=demo.admin_abbie, user=demo.admin_abbie, name="bench")[1]
        api = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
        middle = UpcomingQuery(days=90, cursor=Cursor(at=now + dt.timedelta(days=45), rank=2, id=0)).urlencode()
        cases = [
            ("reseller page 1 (30 days)", reseller, "/orders/upcoming/"),
            ("reseller page 1 (90 days)", reseller, "/orders/upcoming/?days=90"),
            ("reseller deep page (keyset cursor at day 45 of 90)", reseller, f"/orders/upcoming/?{middle}"),
            ("reseller one company (90 days)", reseller, f"/orders/upcoming/?days=90&company={target.account_id}"),
            ("reseller renewals with changes (90 days)", reseller, "/orders/upcoming/?days=90&kind=renewal_changes"),
            ("reseller windows closing", reseller, "/orders/upcoming/?kind=window"),
            ("reseller 100 a page (90 days)", reseller, "/orders/upcoming/?days=90&per_page=100"),
            ("API GET /api/v1/upcoming/ (90 days)", api, "/api/v1/upcoming/?days=90"),
            ("API deep page (cursor)", api, f"/api/v1/upcoming/?{middle}"),
            ("staff page 1 (30 days)", staff, "/orders/upcoming/"),
        ]
        self.stdout.write(f"median of {repeat} requests each (ms; SQL statements per request)")
        results = [(label, *self.time(client, url, repeat)) for label, client, url in cases]
        results.append(("staff admin change list of Subscription (reference)",
                        *self.time(staff, "/admin/orders/subscription/", repeat)))
        page_figures_write(self.stdout, results)
        worst = max(r[1] for r in results[:-1])
        admin_ms = results[-1][1]
        self.stdout.write(
            f"worst Upcoming figure: {worst:.1f} ms (goal < {GOAL_MS:.0f} ms); admin change list of subscriptions: "
            f"{admin_ms:.1f} ms ({connection.vendor})"
        )

    def time(self, client, url: str, repeat: int) -> tuple[float, int, int, int]:
        return page_timing(client, url, repeat)
