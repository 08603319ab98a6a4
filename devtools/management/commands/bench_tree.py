"""Benchmark of the company tree: how long "which companies may this user see" takes on deep and
wide trees, against the materialized path. Prints figures; asserts nothing.

Never touches the configured database: it re-runs itself with DATABASE_URL pointing at a SQLite
file in a temporary directory, migrates it and builds the trees there.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import Company, User
from accounts.selectors import companies_visible_to
from devtools.benchmarking import QueryCounter

REPEAT = 50


class Command(BaseCommand):
    help = "Benchmark subtree visibility queries on a deep and a wide company tree (temporary SQLite database)."

    def add_arguments(self, parser):
        parser.add_argument("--depth", type=int, default=40, help="Levels of the deep tree.")
        parser.add_argument("--width", type=int, default=20000, help="Customers under one reseller in the wide tree.")
        parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, depth, width, child, **options):
        if depth < 2 or width < 1:
            raise CommandError("--depth must be at least 2 and --width at least 1.")
        if child:
            return self.measure(depth, width)
        with tempfile.TemporaryDirectory(prefix="icp-bench-tree-") as tmp:
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'tree.sqlite3'}"}
            manage_py = str(Path(settings.BASE_DIR) / "manage.py")
            subprocess.run([sys.executable, manage_py, "migrate", "-v0"], env=env, check=True)
            argv = [sys.executable, manage_py, "bench_tree", "--child", f"--depth={depth}", f"--width={width}"]
            if subprocess.run(argv, env=env).returncode:
                raise CommandError("The benchmark run failed.")

    def measure(self, depth, width):
        next_id = iter(range(1, 10**9))

        def company(name, parent):
            n = next(next_id)
            return Company.objects.create(name=name, parent=parent, account_id=n, numeric_id=n)

        root = company("Distributor", None)
        # Deep: a chain of `depth` resellers, each with 5 customers.
        chain = [root]
        for level in range(depth):
            chain.append(company(f"Reseller level {level}", chain[-1]))
            for i in range(5):
                company(f"Customer {level}.{i}", chain[-1])
        # Wide: one reseller with `width` customers (bulk, then paths set in one UPDATE per row batch).
        wide = company("Wide reseller", root)
        start = next(next_id)
        Company.objects.bulk_create(
            Company(name=f"Wide customer {i}", parent=wide, account_id=start + i, numeric_id=start + i) for i in range(width)
        )
        for customer in Company.objects.filter(parent=wide, path=""):
            customer.save(update_fields=None)  # computes its path below the wide reseller
        total = Company.objects.count()
        self.stdout.write(f"companies: {total} (deep chain of {depth} levels, wide reseller with {width} customers)")

        for label, company_of_user in (
            ("whole tree (distributor user)", root),
            (f"deep subtree (level {depth // 2} reseller)", chain[depth // 2]),
            ("wide subtree (wide reseller)", wide),
        ):
            user = User.objects.create_user(email=f"bench{company_of_user.pk}@bench.example", password=None, company=company_of_user)
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                began = time.perf_counter()
                for _ in range(REPEAT):
                    visible = companies_visible_to(user).count()
                elapsed = (time.perf_counter() - began) / REPEAT
            self.stdout.write(
                f"{label}: {visible} visible companies, {elapsed * 1000:.2f} ms per count, "
                f"{counter.count // REPEAT} queries"
            )
            began = time.perf_counter()
            for _ in range(REPEAT):
                companies_visible_to(user).filter(account_id=chain[-1].account_id).exists()
            elapsed = (time.perf_counter() - began) / REPEAT
            self.stdout.write(f"{label}: {elapsed * 1000:.2f} ms per 'may see the deepest company?' check")
        if connection.vendor == "sqlite":
            sql, params = Company.objects.filter(path__under=wide.path).values("id").query.sql_with_params()
            with connection.cursor() as cursor:
                for row in cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall():
                    self.stdout.write(f"query plan: {row[-1]}")
