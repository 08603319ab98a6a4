"""The renewal day's benchmark (issue 27, "Speed"): `make bench-renewals`.

`--subscriptions` (10,000) Microsoft subscriptions over `--tenants` customer tenants renew at 00:00 UTC, `--changes`
(2,000) of them with a scheduled change at renewal (quantity 10 → 8, already Sent: the sandbox holds it as
next-term instructions). Real `imports_worker` clusters (`--layout`, 2 x 2) on PostgreSQL, the Partner Center
sandbox (a real process) at `--latency-ms` (100) a call.

Seeding (before the clock starts): the sandbox's seed file holds the tenants and their subscriptions, whose terms
end at the sandbox's next 00:00 UTC; the portal's template database holds the same subscriptions (their vendor
ids) and the Sent changes, and the sandbox is told each change's next-term instructions (one PATCH each, before
the measured minutes). The run, on a fresh copy: the clusters start; the sandbox's clock is moved past that
00:00 (Partner Center renews them, applying the instructions); the portal's subscriptions are made due (their
term ends now); then the engine alone: its housekeeping pass starts sync rounds (imports.engine.term_sync) on
the outbox lane, each sync one GET, verifying the Sent changes (Applied when the renewal carried them).

Figures: seconds from the renewal to every subscription synced (renewed at the vendor, as the portal shows it)
and to every change Applied, against the goal (10 minutes); the changes not Applied (Failed, Wiped), and the
busiest tenant-minute of the sandbox's ledger during the run against Partner Center's limit (500 a minute):
what the engine sent, 429s included (a request over the limit counts, so a count above 500 is a breach).
"""

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.bench_vendor import MANAGE, VendorBench

GOAL_SECONDS = 600
TENANT_LIMIT = 500
ACCOUNT_BASE = 30_000_000  # the seeded subscriptions' account ids
COMPANY_BASE = 8_000_000
NAMESPACE = uuid.UUID("6f1c3b0e-27a1-4d8e-9a52-2b0c7e5d4a10")


def customer_id(index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"tenant-{index}"))


def subscription_id(index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"subscription-{index}"))


def sandbox_seed(path: Path, *, subscriptions: int, tenants: int) -> None:
    """The sandbox's seed file: the tenants, and the subscriptions renewing at its next 00:00 UTC."""
    seed = {
        "customers": [
            {"id": customer_id(t), "domain": f"renewal{t}.onmicrosoft.com", "companyName": f"RENEWAL TENANT {t}"}
            for t in range(tenants)
        ],
        "subscriptions": [
            {"id": subscription_id(i), "customerId": customer_id(i % tenants), "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0LDH0",
             "friendlyName": f"Business Basic #{i}", "quantity": 10, "billingCycle": "monthly", "termDuration": "P1Y",
             "renewsInDays": 1}
            for i in range(subscriptions)
        ],
    }
    path.write_text(json.dumps(seed))


def portal_seed(*, subscriptions: int, changes: int, tenants: int) -> None:
    """The portal's side (in the template database; run by the seeding script): a customer company per tenant,
    the subscriptions with their vendor ids, and `changes` Sent quantity changes at renewal."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Company
    from catalog.models import BillingFrequency, PriceListAssignment, Term
    from devtools.demo import BASIC, DemoRefs
    from orders.models import Subscription, SubscriptionChange
    from orders.terms import months_add

    demo = DemoRefs.load()
    basic = demo.service(BASIC)
    now = timezone.now()
    # Made due by the run (term_end set to its start); a year's term until then.
    ends = now + dt.timedelta(days=1)
    with transaction.atomic():
        companies = []
        for t in range(tenants):
            company = Company(name=f"RENEWAL CUSTOMER {t:04d} S.A.C.", parent=demo.abbiebox, kind=Company.Kind.CUSTOMER,
                              account_id=COMPANY_BASE + t, numeric_id=COMPANY_BASE + 1_000_000 + t)
            company.save()  # the tree's path fields are computed there
            companies.append(company)
        PriceListAssignment.objects.bulk_create(
            [PriceListAssignment(company=c, price_list=demo.abbie_price_list) for c in companies]
        )
        subs = Subscription.objects.bulk_create([
            Subscription(
                company=companies[i % tenants], service=basic, name=basic.name, account_id=ACCOUNT_BASE + i, quantity=10,
                term=Term.P1Y, billing_frequency=BillingFrequency.MONTHLY, unit_cost=0, unit_price=0, vendor_subscription_id=subscription_id(i), vendor_status="active",
                attributes={"tenant_id": customer_id(i % tenants)}, term_start=months_add(ends, -12), term_end=ends,
                cancellation_window_ends_at=months_add(ends, -12) + dt.timedelta(hours=168), synced_at=now,
            )
            for i in range(subscriptions)
        ], batch_size=2000)
        before = {"quantity": 10, "billing_frequency": "monthly", "term": "P1Y", "service_name": basic.name,
                  "auto_renew": True}
        SubscriptionChange.objects.bulk_create([
            SubscriptionChange(subscription=sub, kind="quantity", when="renewal", due_at=ends, quantity=8, before=before,
                               status="sent", sent_at=now, created_by=demo.admin_abbie)
            for sub in subs[:changes]
        ], batch_size=2000)


@dataclass
class RenewalRun:
    subscriptions: int
    changes: int
    tenants: int
    synced_seconds: float | None  # renewal → every subscription synced renewed; None: not within the timeout
    applied_seconds: float | None  # renewal → every change Applied
    synced: int
    applied: int
    changes_by_status: dict
    busiest_tenant_minute: int  # requests one tenant got in one minute of the run, at most
    over_limit_minutes: int  # tenant-minutes over Partner Center's limit
    vendor_calls: int

    @property
    def met(self) -> bool:
        return (
            self.synced_seconds is not None and self.applied_seconds is not None
            and max(self.synced_seconds, self.applied_seconds) <= GOAL_SECONDS and self.over_limit_minutes == 0
        )


class RenewalBench(VendorBench):
    def seed_template_renewals(self, *, subscriptions: int, changes: int, tenants: int) -> None:
        """Migrate, seed the demo data and the renewal day's subscriptions and changes; the sandbox is told the
        changes' next-term instructions (before any measured minute)."""
        self._create(self.template)
        env = self.env(self.template)
        subprocess.run([sys.executable, MANAGE, "migrate", "--noinput", "-v0"], env=env, check=True)
        code = (
            "from devtools.demo import seed_demo\nfrom devtools.bench_renewals import portal_seed\nseed_demo()\n"
            f"portal_seed(subscriptions={subscriptions}, changes={changes}, tenants={tenants})\n"
            "from django_q.models import Schedule\nSchedule.objects.all().delete()  # the engine's own passes alone\n"
        )
        subprocess.run([sys.executable, MANAGE, "shell", "-c", code], env=env, check=True, capture_output=True)
        instructions = {"scheduledNextTermInstructions": {"quantity": 8, "billingCycle": "monthly", "termDuration": "P1Y"}}
        with httpx.Client(base_url=self.sandbox.url, timeout=30) as client:
            for i in range(changes):
                answer = client.patch(f"/v1/customers/{customer_id(i % tenants)}/subscriptions/{subscription_id(i)}",
                                      headers=self.sandbox.headers(), json=instructions)
                answer.raise_for_status()

    def renewal_day(self, *, subscriptions: int, changes: int, tenants: int, clusters: int, workers: int,
                    latency_ms: int, timeout: float = 900) -> RenewalRun:
        # What the tenants got before the run (the seeding's PATCHes), taken off the run's counts below.
        before = {(r["tenant"], r["minute"]): r["count"] for r in self.sandbox.ledger()["requests_per_minute"]}
        try:
            with self._running(clusters, workers, "day") as conn:
                self.sandbox.faults(latency_ms=0, jitter_ms=0, error_rate=0, rate_limit_rate=0, lost_response_rate=0,
                                    down=False)
                # The sandbox's clock past its next 00:00 UTC: Partner Center renews them (lazily, on the next read).
                clock = self.sandbox.http.get("/_sandbox/clock").json()
                sandbox_now = dt.datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00"))
                midnight = (sandbox_now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
                self.sandbox.http.post("/_sandbox/clock", json={
                    "advance_seconds": (midnight - sandbox_now).total_seconds() + 60}).raise_for_status()
                self.sandbox.faults(latency_ms=latency_ms)
                started_wall = time.time()
                start = conn.execute(
                    "UPDATE orders_subscription SET term_end = now(), term_start = now() - interval '1 year' "
                    "WHERE account_id >= %s RETURNING now()", (ACCOUNT_BASE,),
                ).fetchone()[0]
                synced_at = applied_at = None
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and (synced_at is None or applied_at is None):
                    synced, applied = self._progress(conn, start)
                    elapsed = time.time() - started_wall
                    if synced_at is None and synced >= subscriptions:
                        synced_at = elapsed
                    if applied_at is None and applied >= changes:
                        applied_at = elapsed
                    time.sleep(0.5)
                synced, applied = self._progress(conn, start)
                by_status = dict(conn.execute(
                    "SELECT c.status, count(*) FROM orders_subscriptionchange c JOIN orders_subscription s "
                    "ON s.id = c.subscription_id WHERE s.account_id >= %s GROUP BY c.status", (ACCOUNT_BASE,)).fetchall())
                calls = conn.execute("SELECT count(*) FROM catalog_vendorcall").fetchone()[0]
        finally:
            self.sandbox.faults(latency_ms=0)
        first_minute = int(started_wall // 60) * 60
        counts = [
            row["count"] - before.get((row["tenant"], row["minute"]), 0) for row in self.sandbox.ledger()["requests_per_minute"]
            if dt.datetime.fromisoformat(row["minute"].replace("Z", "+00:00")).timestamp() >= first_minute
        ]
        return RenewalRun(
            subscriptions, changes, tenants, synced_at, applied_at, synced, applied, by_status,
            max(counts, default=0), sum(1 for count in counts if count > TENANT_LIMIT), calls,
        )

    @staticmethod
    def _progress(conn, start) -> tuple[int, int]:
        """(subscriptions synced since the renewal and renewed as the vendor says, changes Applied)."""
        return conn.execute(
            "SELECT (SELECT count(*) FROM orders_subscription WHERE account_id >= %s AND synced_at >= %s "
            "AND term_start > %s), (SELECT count(*) FROM orders_subscriptionchange WHERE status = 'applied')",
            (ACCOUNT_BASE, start, start - dt.timedelta(days=2)),
        ).fetchone()


def report(run: RenewalRun, *, clusters: int, workers: int, latency_ms: int) -> list[str]:
    def seconds(value):
        return f"{value:.1f} s" if value is not None else "not within the timeout"

    lines = [
        f"renewal day: {run.subscriptions} subscriptions over {run.tenants} tenants renewing at 00:00 UTC, "
        f"{run.changes} with a change at renewal; {clusters} cluster(s) x {workers} workers, PostgreSQL, "
        f"sandbox latency {latency_ms} ms",
        f"synced (renewed as the vendor shows it): {run.synced}/{run.subscriptions} in {seconds(run.synced_seconds)}",
        f"changes applied: {run.applied}/{run.changes} in {seconds(run.applied_seconds)}; changes by status: {run.changes_by_status}",
        f"vendor calls recorded: {run.vendor_calls}; busiest tenant-minute: {run.busiest_tenant_minute} requests "
        f"(limit {TENANT_LIMIT}); tenant-minutes over it: {run.over_limit_minutes}",
        f"this machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
        f"goal (all synced and changes applied within {GOAL_SECONDS} s, the tenant limit never exceeded): "
        f"{'met' if run.met else 'MISSED'}",
    ]
    return lines
