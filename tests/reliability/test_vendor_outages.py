"""The vendor path under the faults of issue 26, point 4 (short versions; real `imports_worker` processes on
PostgreSQL and the Partner Center sandbox as a real process):

(a) PostgreSQL restarted (-m immediate) mid-burst while vendor calls are in flight, on a server of the test's
    own: no job fails, every job completes with exactly one vendor order (0 duplicates);
(b) the vendor down for a while (the sandbox's `down` fault: every call 503) then back: the circuit opens,
    one probe at a time calls while the others are parked, and once the vendor answers the parked orders
    drain: 0 failed, 0 duplicates, every job completed, and the calls made during the outage bounded by the
    probes;
(c) a burst where every customer tenant wants more than its rate limit (the sandbox at 20 requests a minute,
    the budget set to match): no tenant-minute over the limit in the sandbox's ledger, no 429.

Each prints its figures (`pytest -s`).
"""

import datetime as dt
import time
from collections import Counter

import pytest
from django.utils import timezone

from catalog.models import VendorCall, VendorCircuit
from imports.models import ImportJob, VendorOrder
from tests.processes import wait_for
from tests.vendor_sandbox import Sandbox

from .conftest import (
    assert_one_vendor_order_per_job,
    final,
    vendor_burst,
    vendor_env,
    wait_all_final,
)
from .short import SHORT
from .test_faults import db_now, own_postgres, robust  # noqa: F401  (own_postgres: the fixture)

pytestmark = [pytest.mark.postgres]

LIMITED = ("cart_create", "cart_checkout")


def failed(job_ids) -> int:
    return ImportJob.objects.filter(pk__in=job_ids, status=ImportJob.Status.FAILED).count()


# --- (a) PostgreSQL restarted mid-burst with the vendor in the path -------------------------------------


def calls_in_flight(job_ids) -> bool:
    """Some vendor orders are under way (a cart recorded, not done) and others still wait: a moment when
    senders hold answers they have yet to record."""
    states = Counter(
        ("done" if vo.outcome else "cart" if vo.cart_id else "new") for vo in VendorOrder.objects.filter(job_id__in=job_ids)
    )
    return states["cart"] >= 1 and states["done"] < len(job_ids)


def test_postgresql_restarted_mid_burst_with_the_vendor_in_the_path_fails_none_and_orders_once(
    engine, own_postgres, partner_center  # noqa: F811
):
    for name in ("a", "b"):
        engine.start(name, workers=2, **SHORT, **vendor_env(partner_center))
    # Due in a few seconds (the burst's tenants are made at the vendor after its jobs are written), then
    # calls slow enough to be cut mid-way.
    jobs = vendor_burst(partner_center, 80, companies=16, due_at=timezone.now() + dt.timedelta(seconds=5))
    partner_center.faults(latency_ms=400, jitter_ms=100)
    started = time.monotonic()
    restarts = 0
    while restarts < 2:
        wait_for(robust(lambda: calls_in_flight(jobs) or final(jobs) == len(jobs)), seconds=60, interval=0.05,
                 what="vendor calls in flight")
        if wait_for(robust(lambda: final(jobs)), seconds=30, what="PostgreSQL") == len(jobs):
            break
        own_postgres.restart_immediately()
        restarts += 1
        from django.db import connection

        connection.close()
        wait_for(robust(lambda: db_now()), seconds=30, what="PostgreSQL to be back")
    wait_for(robust(lambda: final(jobs) == len(jobs)), seconds=SHORT["IMPORT_LEASE_SECONDS"] + 60, interval=0.5,
             what="every job to be final")
    counts = assert_one_vendor_order_per_job(partner_center, jobs)
    print(f"PostgreSQL restarted {restarts} times mid-burst of {len(jobs)} vendor jobs: {failed(jobs)} failed, "
          f"all final in {time.monotonic() - started:.0f} s; ledger {counts}")
    assert restarts >= 1
    assert counts["duplicate_orders"] == 0 and counts["ledger_orders"] == len(jobs)


# --- (b) the vendor down for a while, then back --------------------------------------------------------

# (vendor_env: probes after 2, 4, 8, 12, 12 ... s; the parked orders released over 5 s.)
CIRCUIT = {"VENDOR_CIRCUIT_FAILURES": 5, "VENDOR_CIRCUIT_PARK_SECONDS": 60}


def circuit() -> VendorCircuit | None:
    return VendorCircuit.objects.filter(integration="microsoft").first()


def test_the_vendor_down_then_back_parks_the_jobs_probes_one_at_a_time_and_drains_them_once(engine, partner_center):
    jobs = vendor_burst(partner_center, 40, companies=8)
    partner_center.faults(down=True)
    down_at = timezone.now()
    engine.start("a", workers=2, **SHORT, **vendor_env(partner_center, **CIRCUIT))
    wait_for(lambda: circuit() is not None and circuit().opened_at is not None, seconds=60, what="the circuit to open")
    opened = circuit().opened_at
    # Down long enough for two probes to fail: meanwhile every open order waits, parked or for its probe.
    wait_for(lambda: circuit().probe_failures >= 2, seconds=40, interval=0.2, what="two failed probes")
    assert VendorOrder.objects.filter(job_id__in=jobs).count() == len(jobs)
    assert ImportJob.objects.filter(pk__in=jobs, status=ImportJob.Status.WAITING).count() == len(jobs)
    partner_center.faults(down=False)
    back_at = timezone.now()
    state = circuit()
    during = VendorCall.objects.filter(at__gte=down_at, at__lt=back_at)
    # After the circuit opened (plus 3 s for the tries then under way, each answered 503 at once, on a busy
    # machine), only the probes called: one call each (the token request, refused by the vendor that is down).
    after_open = during.filter(at__gt=opened + dt.timedelta(seconds=3)).count()
    drained = time.monotonic()
    wait_all_final(jobs, seconds=60)
    counts = assert_one_vendor_order_per_job(partner_center, jobs)
    print(f"vendor down {(back_at - down_at).total_seconds():.0f} s for {len(jobs)} jobs: {during.count()} calls during the "
          f"outage, {after_open} after the circuit opened ({state.probe_failures} failed probes); all final "
          f"{time.monotonic() - drained:.0f} s after it came back; ledger {counts}")
    assert failed(jobs) == 0 and counts["duplicate_orders"] == 0
    assert after_open <= state.probe_failures + 1
    assert during.count() < len(jobs)  # fewer calls in the whole outage than jobs waiting for it
    assert circuit().opened_at is None


# --- (c) every tenant at its rate limit -----------------------------------------------------------------


def test_a_burst_over_every_tenants_rate_limit_keeps_every_tenant_minute_under_it(engine, tmp_path):
    limit = 20
    sandbox = Sandbox(tmp_path, "limited", SANDBOX_PROVISIONING_SECONDS=0, SANDBOX_RATE_LIMIT_PER_MINUTE=limit)
    try:
        # 12 jobs on each of 3 tenants: 24 rate-limited calls each (a cart and its checkout), more than the
        # limit lets through in a minute.
        jobs = vendor_burst(sandbox, 36, companies=3)
        engine.start("a", workers=2, **SHORT, **vendor_env(sandbox, VENDOR_TENANT_REQUESTS_PER_MINUTE=limit))

        def limited_calls_per_tenant() -> dict[str, int]:
            customers = set(VendorOrder.objects.filter(job_id__in=jobs).values_list("customer_id", flat=True))
            return {c: VendorCall.objects.filter(operation__in=LIMITED, path__contains=c).count() for c in customers}

        # Twenty seconds and more of the budget at work: each tenant has made a few of its calls.
        started = time.monotonic()
        wait_for(lambda: len(c := limited_calls_per_tenant()) == 3 and min(c.values()) >= 4, seconds=60, interval=0.5,
                 what="every tenant to have made 4 rate-limited calls")
        took = time.monotonic() - started
        tenants = {c.lower() for c in limited_calls_per_tenant()}
        ledger = sandbox.ledger()["requests_per_minute"]
        per_minute = [row for row in ledger if row["tenant"] in tenants]
        over = [row for row in per_minute if row["count"] > limit]
        waiting = VendorOrder.objects.filter(job_id__in=jobs, outcome="").values_list("customer_id", flat=True)
        rejected = VendorCall.objects.filter(status_code=429).count()
        print(f"{len(jobs)} jobs over {len(tenants)} tenants at {limit} requests a minute: {limited_calls_per_tenant()} "
              f"rate-limited calls in {took:.0f} s; ledger's busiest tenant-minute {max(r['count'] for r in per_minute)}, "
              f"{len(over)} over the limit; {rejected} answered 429; {len(waiting)} orders still waiting their turn")
        assert over == [] and rejected == 0
        assert {c.lower() for c in waiting} == tenants  # every tenant wanted more than its limit let through
        assert failed(jobs) == 0
    finally:
        engine.stop_all()
        sandbox.stop()
