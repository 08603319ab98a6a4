"""The batch's fast path (issue 25, point 3): right after the batch commits, its task places the vendor
orders it just wrote, several at once (threads that only call the vendor; the task's own thread records
the answers in groups, issue 26), and the jobs finish without waiting for the outbox lane. Transactional:
the batch really commits."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import VendorCall
from imports.engine import runner
from imports.models import ImportJob, VendorOrder
from imports.vendor.send import vendor_orders_send
from orders.models import Subscription

from .engine_helpers import due_soon, eritech_tenant_at_vendor, orders_of, run_batch, schedule_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_after_the_batch_commits_its_vendor_orders_are_placed_at_once_in_threads(vendor, demo, settings):
    settings.IMPORT_VENDOR_CONCURRENCY = 4
    vendor.faults(latency_ms=100)
    tenant = eritech_tenant_at_vendor(vendor, demo)
    due = due_soon()
    jobs = [schedule_for(demo, tenant, due_at=due, quantity=n + 1) for n in range(6)]
    run_batch(due)  # the batch commits; its on-commit hand-off places the six orders, four at a time
    statuses = set(ImportJob.objects.filter(pk__in=[job.pk for job in jobs]).values_list("status", flat=True))
    assert statuses == {ImportJob.Status.COMPLETED}
    assert set(VendorOrder.objects.values_list("outcome", flat=True)) == {"done"}
    ledger = orders_of(vendor.ledger(), tenant)
    subscriptions = Subscription.objects.filter(import_row__job__in=jobs)
    assert len(ledger) == 6 and sorted(s.vendor_order_id for s in subscriptions) == sorted(o["id"] for o in ledger)
    assert sorted(s.quantity for s in subscriptions) == [1, 2, 3, 4, 5, 6]


def test_a_chunk_of_vendor_orders_is_recorded_in_a_few_statements_whatever_its_size(vendor, demo, settings, monkeypatch):
    """Threads call the vendor; the sender's own thread records: the cart ids (each committed before its
    checkout), then the answers and every vendor call in groups. On PostgreSQL the statements do not grow
    with the orders placed (one UPDATE per table for a group; SQLite takes one order at a time)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite places one vendor order at a time")
    settings.IMPORT_VENDOR_CONCURRENCY = 12
    tenant = eritech_tenant_at_vendor(vendor, demo)
    due = due_soon()
    jobs = [schedule_for(demo, tenant, due_at=due, quantity=n + 1) for n in range(12)]
    monkeypatch.setattr(runner, "_hand_off_vendor_orders", lambda *args, **kwargs: None)  # left for the sender below
    run_batch(due)
    with CaptureQueriesContext(connection) as queries:
        assert vendor_orders_send(now=due, concurrency=12) == 12
    assert set(ImportJob.objects.filter(pk__in=[job.pk for job in jobs]).values_list("status", flat=True)) == {
        ImportJob.Status.COMPLETED
    }
    assert len(orders_of(vendor.ledger(), tenant)) == 12
    assert VendorCall.objects.filter(operation="cart_checkout", outcome="done").count() == 12
    # Cart ids and the tenant's budget (catalog.integrations.budget: a request before each counted call),
    # each batched as the tries ask: at most one statement per cart id and two reservations per order
    # (7 and 7 on a quiet machine). The rest (claim, load, pauses, the circuit's read, the groups' records,
    # the jobs' finishing and emails) about 50, more when a loaded machine splits the answers into more
    # groups; each answer in its own transactions took several statements per order.
    assert len(queries) <= 12 + 2 * 12 + 60, [q["sql"][:80] for q in queries.captured_queries]
