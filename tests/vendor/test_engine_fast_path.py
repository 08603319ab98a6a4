"""The batch's fast path (issue 25, point 3): right after the batch commits, its task places the vendor
orders it just wrote, several at once (threads, each with its own database connection), and the jobs
finish without waiting for the outbox lane. Transactional: the batch really commits, the threads see it."""

import pytest
from imports.models import ImportJob, VendorOrder
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
