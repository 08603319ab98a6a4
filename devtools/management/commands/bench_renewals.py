"""The renewal day's benchmark (issue 27, "Speed"): `make bench-renewals`. See devtools/bench_renewals.py.

Needs PostgreSQL (BENCH_POSTGRES_URL or --postgres: a user with CREATEDB; temporary databases are created and
dropped there) and starts its own Partner Center sandbox (`python -m sandbox`) on a free port, seeded with the
day's tenants and subscriptions."""

import logging
import os
import socket
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devtools.bench_renewals import RenewalBench, report, sandbox_seed
from devtools.bench_vendor import SandboxProcess


class Command(BaseCommand):
    help = "Benchmark the renewal day: subscriptions renewing at 00:00 UTC synced and their changes verified, on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--subscriptions", type=int, default=10_000, help="renewing at 00:00 UTC (default %(default)s)")
        parser.add_argument("--changes", type=int, default=2_000, help="of them with a change at renewal (default %(default)s)")
        parser.add_argument("--tenants", type=int, default=20, help="customer tenants they are spread over (default %(default)s)")
        parser.add_argument("--latency-ms", type=int, default=100, help="the sandbox's latency per call (default %(default)s)")
        parser.add_argument("--layout", default="2x2", help="clusters x workers (default %(default)s)")
        parser.add_argument("--timeout", type=int, default=900, help="seconds to wait for the day's work (default %(default)s)")
        parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""), metavar="URL",
                            help="PostgreSQL server for the temporary databases (default $BENCH_POSTGRES_URL)")

    def handle(self, *args, subscriptions, changes, tenants, latency_ms, layout, timeout, postgres, **options):
        if not postgres:
            raise CommandError("Set BENCH_POSTGRES_URL (or --postgres), e.g. postgres://icp:icp@127.0.0.1:5432/icp (a user with CREATEDB).")
        if subscriptions < 1 or tenants < 1 or not 0 <= changes <= subscriptions or latency_ms < 0 or timeout < 1:
            raise CommandError("--subscriptions, --tenants and --timeout must be positive, --changes from 0 to --subscriptions, "
                               "--latency-ms not negative.")
        try:
            clusters, workers = (int(x) for x in layout.lower().split("x"))
        except ValueError:
            raise CommandError("--layout takes CLUSTERSxWORKERS, e.g. 2x2.") from None
        if clusters < 1 or workers < 1:
            raise CommandError("--layout takes CLUSTERSxWORKERS, each at least 1, e.g. 2x2.")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call otherwise
        out = self.stdout
        with tempfile.TemporaryDirectory(prefix="icp-bench-renewals-") as tmp:
            seed = Path(tmp) / "seed.json"
            sandbox_seed(seed, subscriptions=subscriptions, tenants=tenants)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            sandbox = SandboxProcess(Path(tmp), port, seed=seed)
            bench = RenewalBench(postgres, tmp=Path(tmp), log=out, sandbox=sandbox)
            try:
                out.write(f"Seeding {subscriptions} subscriptions ({changes} with a change) over {tenants} sandbox tenants ...")
                bench.seed_template_renewals(subscriptions=subscriptions, changes=changes, tenants=tenants)
                run = bench.renewal_day(subscriptions=subscriptions, changes=changes, tenants=tenants, clusters=clusters,
                                        workers=workers, latency_ms=latency_ms, timeout=timeout)
            finally:
                bench.drop_all()
                sandbox.stop()
        for line in report(run, clusters=clusters, workers=workers, latency_ms=latency_ms):
            out.write(line)
