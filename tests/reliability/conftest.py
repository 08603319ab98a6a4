"""The reliability suite: real `imports_worker` processes (each one qcluster plus its dispatcher)
on the PostgreSQL test database, bursts of due jobs written by this process, and faults
injected as an operator meets them (SIGKILL, SIGTERM, a stalled mail server).

Every wait is for a condition in the database or the mailbox, with a deadline; the suite runs
in the PostgreSQL pass of `make test`.
"""

import datetime as dt
import os
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.processes import Started, alive, kill_with_environment, wait_for

MESSAGE_ID = re.compile(r"^Message-ID:\s+(<[^>]+>)", re.MULTILINE)  # long ones are folded


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Engine:
    """Clusters started against the test database, and what they did."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.queue = f"rel{uuid.uuid4().hex[:8]}"  # one queue shared by this test's clusters only
        self.started: list[Started] = []
        self.redis_url = ""  # the ORM broker on the test database, unless a test sets it

    def env(self, name: str, **extra) -> dict:
        mail_dir = self.tmp_path / "mail" / name
        mail_dir.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            # Its sessions carry its name (pg_stat_activity, and what a test records per writer).
            "DATABASE_URL": f"{database_url()}?application_name=rel-{name}",
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": self.redis_url,
            "Q_CLUSTER_NAME": self.queue,
            "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
            "LOG_LEVEL": "INFO",
            # Batches of 50, not the default 100: the few hundred jobs of a test make ten batches or more,
            # so that faults land between batches and inside them, and both clusters get some.
            "IMPORT_DISPATCH_BATCH_SIZE": "50",
            **{key: str(value) for key, value in extra.items()},
        }

    def start(self, name: str, *, workers: int = 2, clock: str | None = None, **extra) -> Started:
        """An `imports_worker` named `name`; `clock` ("+300s", "-300s") runs it under libfaketime,
        its whole process tree that far off the real (and the database's) time."""
        cluster = Started.manage(
            "imports_worker", env=self.env(name, Q_WORKERS=workers, **extra), log=self.tmp_path / f"{name}.log",
            prefix=("faketime", "-f", clock) if clock else (),
        )
        cluster.engine_name = name
        self.started.append(cluster)
        cluster.wait_until_running(workers=workers)
        return cluster

    def kill(self, cluster: Started) -> None:
        """SIGKILL the worker and its whole cluster at once: a machine that lost power. Every process of
        it, found by its environment too: one its lane cluster forked while the tree was being killed is
        not in the tree, and would go on working after the "power loss"."""
        for pid in alive(cluster.tree()):
            os.kill(pid, 9)
        kill_with_environment(Q_CLUSTER_NAME=self.queue, DATABASE_URL=self.env(cluster.engine_name)["DATABASE_URL"])
        cluster.process.wait(timeout=10)

    # --- what happened ------------------------------------------------------------------------

    def emails(self, name: str | None = None) -> Counter:
        """Message-ID → how many times it reached the (file) mail server, of one cluster or all."""
        root = self.tmp_path / "mail"
        files = (root / name).glob("*") if name else root.glob("*/*")
        counts: Counter = Counter()
        for path in files:
            counts.update(MESSAGE_ID.findall(path.read_text(errors="replace")))
        return counts

    def batches(self, name: str) -> int:
        """Batch tasks the cluster `name` ran (django-q2 logs each task it processed)."""
        log = (self.tmp_path / f"{name}.log").read_text(errors="replace")
        return log.count("Processed 'imports.tasks.run_batch_task'")

    def stop_all(self) -> None:
        for cluster in self.started:
            cluster.kill_everything()
        # And whatever of this test's clusters is left outside those trees (a lane cluster whose
        # imports_worker was killed first is re-parented to init): every process of them has this queue.
        kill_with_environment(Q_CLUSTER_NAME=self.queue)


@pytest.fixture
def engine(transactional_db, demo, tmp_path, settings):
    """Clusters on the test database; the demo data committed (the workers read it)."""
    engine = Engine(tmp_path)
    yield engine
    engine.stop_all()


def burst(n: int, *, due_at=None, companies: int = 50) -> list[int]:
    """`n` jobs due at `due_at` (default: now), committed; their ids in due order."""
    from devtools.benchmarking import due_jobs_create

    now = timezone.now()
    return due_jobs_create(n, companies=companies, now=now, due_at=due_at or now)


def final(job_ids) -> int:
    from imports.models import ImportJob

    return ImportJob.objects.filter(pk__in=job_ids, status__in=ImportJob.FINAL_STATUSES).count()


def wait_all_final(job_ids, *, seconds: float) -> None:
    wait_for(lambda: final(job_ids) == len(job_ids), seconds=seconds, interval=0.5,
             what=f"all {len(job_ids)} jobs to finish ({final(job_ids)} final)")


def wait_all_sent(job_ids, *, seconds: float) -> None:
    from imports.models import Notification

    def sent():
        return Notification.objects.filter(job_id__in=job_ids, status=Notification.Status.SENT).count() == len(job_ids)

    wait_for(sent, seconds=seconds, interval=0.5, what="every notification to be sent")


def assert_provisioned_once(job_ids) -> None:
    """Each completed job has exactly one subscription, every other job none; no row has two."""
    from imports.models import ImportJob, ImportRow
    from orders.models import Subscription

    rows = ImportRow.objects.filter(job_id__in=job_ids)
    keys = [row.provisioning_key for row in rows]
    per_key = Counter(Subscription.objects.filter(provisioning_key__in=keys).values_list("provisioning_key", flat=True))
    assert max(per_key.values(), default=0) <= 1  # the unique key holds, whatever happened
    completed = set(ImportJob.objects.filter(pk__in=job_ids, status=ImportJob.Status.COMPLETED).values_list("pk", flat=True))
    for row in rows:
        assert per_key[row.provisioning_key] == (1 if row.job_id in completed else 0), row


def message_ids(job_ids) -> dict[str, int]:
    """Message-ID → job, for the notifications of `job_ids`."""
    from imports.models import Notification

    return dict(Notification.objects.filter(job_id__in=job_ids).values_list("message_id", "job_id"))


def ago(seconds: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


# --- The vendor path (issue 25): workers placing orders with the Partner Center sandbox ------------------


@pytest.fixture
def partner_center(tmp_path):
    """A Partner Center sandbox process of this test's own (its own storage: the ledger is this test's),
    orders active at once."""
    from tests.vendor_sandbox import Sandbox

    sandbox = Sandbox(tmp_path, "sandbox", SANDBOX_PROVISIONING_SECONDS=0)
    yield sandbox
    sandbox.stop()


def vendor_env(sandbox, **extra) -> dict:
    """What a worker needs to place orders with `sandbox`: Microsoft on, pointed at it, with its client's
    credentials; short timeouts (an unanswered call is an unknown outcome in 2 s), a vendor lease that
    still covers a whole try (imports.E008: 4 calls x (1 + 2) s), a short backoff and quick probes of the
    circuit, so that a fault and its recovery fit in seconds."""
    from tests.vendor_sandbox import CLIENT_ID, CLIENT_SECRET

    url = f"http://127.0.0.1:{sandbox.port}"
    return {
        "MICROSOFT_ENABLED": "true",
        "MICROSOFT_API_URL": url,
        "MICROSOFT_TOKEN_URL": f"{url}/sandbox/oauth2/v2.0/token",
        "MICROSOFT_CLIENT_ID": CLIENT_ID,
        "MICROSOFT_CLIENT_SECRET": CLIENT_SECRET,
        "MICROSOFT_CONNECT_TIMEOUT": 1,
        "MICROSOFT_READ_TIMEOUT": 2,
        "IMPORT_VENDOR_LEASE_SECONDS": 12,
        "IMPORT_VENDOR_BACKOFF_SECONDS": 1,
        # The vendor's circuit (catalog.integrations.circuit): probes after 2 s (doubling to 12 s), parked
        # orders released over 5 s, so an outage's end drains in seconds.
        "VENDOR_CIRCUIT_PROBE_SECONDS": 2,
        "VENDOR_CIRCUIT_RELEASE_SECONDS": 5,
        **extra,
    }


def vendor_burst(sandbox, n: int, *, companies: int, due_at=None) -> list[int]:
    """`n` jobs due at `due_at` (default: now) for Microsoft services with Send to backend on, over
    `companies` customer tenants created in `sandbox` (devtools.benchmarking.vendor_jobs_create)."""
    from devtools.benchmarking import vendor_jobs_create

    now = timezone.now()

    def customer_for(domain: str) -> str:
        return sandbox.customer(domain.removesuffix(".onmicrosoft.com"))["id"]

    return vendor_jobs_create(n, companies=companies, now=now, due_at=due_at or now, customer_for=customer_for)


def vendor_orders_of(job_ids):
    from imports.models import VendorOrder

    return list(VendorOrder.objects.filter(job_id__in=job_ids).order_by("job_id"))


def assert_one_vendor_order_per_job(sandbox, job_ids) -> dict:
    """Every job Completed, each with one vendor order, done; the ledger holds exactly one order (and one
    cart) per job, found by the job's cart id and by its checkout's MS-RequestId, and nothing else at
    these tenants; the subscriptions carry the ledger's order ids. Returns the ledger's counts."""
    from imports.models import ImportJob, VendorOrder
    from orders.models import Subscription

    ledger = sandbox.ledger()
    statuses = Counter(ImportJob.objects.filter(pk__in=job_ids).values_list("status", flat=True))
    assert statuses == {ImportJob.Status.COMPLETED: len(job_ids)}, statuses
    vendor_orders = vendor_orders_of(job_ids)
    assert sorted(vo.job_id for vo in vendor_orders) == sorted(job_ids)  # one intent per job (one row each)
    assert {vo.outcome for vo in vendor_orders} == {VendorOrder.Outcome.DONE}
    orders_by_cart = Counter(o["cart_id"] for o in ledger["orders"])
    orders_by_request = Counter(o["request_id"] for o in ledger["orders"])
    carts_by_request = Counter(c["request_id"] for c in ledger["carts"])
    order_ids = {o["cart_id"]: o["id"] for o in ledger["orders"]}
    for vo in vendor_orders:
        assert orders_by_cart[vo.cart_id] == 1, (vo.job_id, vo.cart_id, orders_by_cart[vo.cart_id])
        assert orders_by_request[str(vo.checkout_request_id)] == 1, vo.job_id
        assert carts_by_request[str(vo.create_request_id)] == 1, vo.job_id
        assert vo.vendor_order_id == order_ids[vo.cart_id], vo.job_id
    tenants = {vo.customer_id for vo in vendor_orders}
    at_tenants = [o for o in ledger["orders"] if o["customer_id"] in tenants]
    assert len(at_tenants) == len(job_ids), f"{len(at_tenants)} vendor orders for {len(job_ids)} jobs"
    subscriptions = dict(
        Subscription.objects.filter(import_row__job_id__in=job_ids).values_list("import_row__job_id", "vendor_order_id")
    )
    assert subscriptions == {vo.job_id: vo.vendor_order_id for vo in vendor_orders}
    return {
        "jobs": len(job_ids),
        "ledger_orders": len(at_tenants),
        "duplicate_orders": sum(count - 1 for count in orders_by_cart.values() if count > 1),
        "ledger_carts": sum(1 for c in ledger["carts"] if c["customer_id"] in tenants),
        "vendor_tries": sum(vo.attempts for vo in vendor_orders),
    }
