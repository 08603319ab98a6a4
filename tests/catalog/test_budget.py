"""The per-tenant request budget (catalog.integrations.budget): the window math, the reservation's one
conditional statement, pruning; and two connections racing for a slot's last requests on PostgreSQL."""

import datetime as dt
import random
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.integrations.budget import (
    SLOT_SECONDS,
    SLOTS_PER_WINDOW,
    VENDOR_LIMIT_PER_MINUTE,
    next_slot,
    slot_cap,
    slot_of,
    tenant_budgets_prune,
    tenant_request_reserve,
    window_bound,
)
from catalog.models import VendorTenantBudget

UTC = dt.UTC
T0 = dt.datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)


def test_the_default_cap_keeps_every_window_under_microsofts_limit_with_margin():
    assert slot_cap(450) == 32 and SLOTS_PER_WINDOW == 14
    assert window_bound(slot_cap(450)) == 448 < VENDOR_LIMIT_PER_MINUTE
    for limit in range(SLOTS_PER_WINDOW, VENDOR_LIMIT_PER_MINUTE + 1):
        assert 1 <= slot_cap(limit) and window_bound(slot_cap(limit)) <= limit


def test_slots_are_aligned_on_the_epoch():
    assert slot_of(T0 + dt.timedelta(seconds=7.9)) == T0 + dt.timedelta(seconds=5)
    assert next_slot(T0 + dt.timedelta(seconds=7.9)) == T0 + dt.timedelta(seconds=10)
    assert slot_of(T0) == T0


@pytest.mark.django_db
def test_a_slot_gives_its_cap_then_says_when_the_next_one_starts():
    now = T0 + dt.timedelta(seconds=1)
    assert [tenant_request_reserve("microsoft", "t1", now=now, cap=3) for _ in range(3)] == [None] * 3
    assert tenant_request_reserve("microsoft", "t1", now=now, cap=3) == T0 + dt.timedelta(seconds=5)
    assert tenant_request_reserve("microsoft", "t1", now=now + dt.timedelta(seconds=3.9), cap=3) == T0 + dt.timedelta(seconds=5)
    # Another tenant, another integration, the next slot: their own counts.
    assert tenant_request_reserve("microsoft", "t2", now=now, cap=3) is None
    assert tenant_request_reserve("other", "t1", now=now, cap=3) is None
    assert tenant_request_reserve("microsoft", "t1", now=T0 + dt.timedelta(seconds=5), cap=3) is None
    assert VendorTenantBudget.objects.get(integration="microsoft", customer_id="t1", slot_start=T0).count == 3
    # No tenant (a call that is not a tenant's): nothing to count.
    assert tenant_request_reserve("microsoft", "", now=now, cap=3) is None


@pytest.mark.django_db
def test_a_reservation_is_one_statement_full_or_not():
    tenant_request_reserve("microsoft", "t1", now=T0, cap=1)
    with CaptureQueriesContext(connection) as reserved:
        assert tenant_request_reserve("microsoft", "t1", now=T0, cap=2) is None
    with CaptureQueriesContext(connection) as refused:
        assert tenant_request_reserve("microsoft", "t1", now=T0, cap=2) is not None
    assert len(reserved.captured_queries) == len(refused.captured_queries) == 1


@pytest.mark.django_db
def test_whatever_the_alignment_no_60_s_window_at_the_vendor_exceeds_the_limit(settings):
    """A greedy sender reserves as fast as the budget allows for 5 minutes, each request reaching the
    vendor up to one slot after its reservation; then every 60 s window, at any alignment (every
    millisecond), holds at most the limit."""
    limit = 40
    settings.VENDOR_TENANT_REQUESTS_PER_MINUTE = limit
    rng = random.Random(26)
    arrivals = []
    tick = dt.timedelta(milliseconds=250)
    now = T0 + dt.timedelta(seconds=2.3)
    while now < T0 + dt.timedelta(minutes=5):
        while tenant_request_reserve("microsoft", "greedy", now=now) is None:
            arrivals.append((now - T0).total_seconds() + rng.uniform(0, SLOT_SECONDS))
        now += tick
    arrivals.sort()
    worst, start = 0, 0
    for end, at in enumerate(arrivals):  # the window ending at each arrival holds the most ending there
        while arrivals[start] <= at - 60:
            start += 1
        worst = max(worst, end - start + 1)
    assert worst <= limit
    # And the budget is used: at least the slots of a minute's worth of requests.
    assert len(arrivals) >= 5 * (60 // SLOT_SECONDS) * slot_cap(limit)
    print(f"greedy sender: {len(arrivals)} requests in 5 min, at most {worst} in any 60 s window (limit {limit})")


@pytest.mark.django_db
def test_old_slots_are_pruned():
    tenant_request_reserve("microsoft", "t1", now=T0, cap=5)
    tenant_request_reserve("microsoft", "t1", now=T0 + dt.timedelta(minutes=3), cap=5)
    assert tenant_budgets_prune(now=T0 + dt.timedelta(minutes=3)) == 1
    assert list(VendorTenantBudget.objects.values_list("slot_start", flat=True)) == [T0 + dt.timedelta(minutes=3)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_connections_racing_for_a_slot_never_take_more_than_its_cap():
    cap, per_thread = 25, 40
    barrier = threading.Barrier(2)
    results: list[list] = [[], []]
    errors: list = []

    def racer(index):
        try:
            barrier.wait(timeout=30)
            for _ in range(per_thread):
                results[index].append(tenant_request_reserve("microsoft", "race", now=T0, cap=cap) is None)
        except Exception as error:  # noqa: BLE001  (reported in the test's thread)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(results[0]) + sum(results[1]) == cap
    assert VendorTenantBudget.objects.get(customer_id="race").count == cap
    # Each reservation committed without waiting for the disk, that statement only: the session's setting stays.
    assert not connection.in_atomic_block
    tenant_request_reserve("microsoft", "race", now=T0 + dt.timedelta(seconds=SLOT_SECONDS), cap=cap)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db
def test_the_engines_housekeeping_prunes_them():
    from imports.engine.dispatch import dispatch_housekeeping

    tenant_request_reserve("microsoft", "t1", now=T0, cap=5)
    dispatch_housekeeping(now=T0 + dt.timedelta(minutes=3))
    assert not VendorTenantBudget.objects.exists()
