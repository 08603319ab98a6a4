"""Open vendor orders count as held (issue 25, point 3): while a tenant is with the vendor, a second one
for the same company, or for the same domain, is refused, by the batch and by the wizard's pre-check.
And a bulk job with several vendor orders finishes once, when its last one is final."""

import datetime as dt

import pytest

from catalog.models import Term, VendorCall
from core.stored_messages import rendered
from imports.models import ImportJob, ImportRow, VendorOrder
from orders.facts import OrderFacts
from orders.validation import DUPLICATE_SERVICE, TENANT_DOMAIN_TAKEN, order_problems
from tests.imports.helpers import TENANT, make_order

from .engine_helpers import due_soon, eritech_tenant_at_vendor, orders_of, run_batch, schedule_for, send

pytestmark = pytest.mark.django_db
Status = ImportJob.Status


def _tenant_job(demo, company, domain, due):
    return schedule_for(demo, "", due_at=due, company=company, code=TENANT, term=Term.P1M,
                        name="Microsoft Organization tenant", vendor_config={"tenant_domain": domain})


def test_a_tenant_with_the_vendor_is_held_for_its_company_and_its_domain(vendor, demo):
    due = due_soon()
    first = _tenant_job(demo, demo.norte, "nortewaits", due)
    run_batch(due)
    first.refresh_from_db()
    assert first.status == Status.WAITING
    later = due + dt.timedelta(minutes=1)
    same_company = _tenant_job(demo, demo.norte, "norteother", later)
    demo.pacifico.status = demo.pacifico.Status.ACTIVE  # suspended in the demo
    demo.pacifico.save(update_fields=["status"])
    same_domain = _tenant_job(demo, demo.pacifico, "nortewaits", later)
    run_batch(later)
    for job in (same_company, same_domain):
        job.refresh_from_db()
        assert job.status == Status.FAILED and not VendorOrder.objects.filter(job=job).exists()
    assert same_company.rows.get().failure_reason == str(
        DUPLICATE_SERVICE % {"company": demo.norte.name, "service": "Microsoft Organization tenant"}
    )
    assert same_domain.rows.get().failure_reason == str(TENANT_DOMAIN_TAKEN % {"domain": "nortewaits.onmicrosoft.com"})
    # The wizard's pre-check says the same (one implementation).
    draft = make_order(demo, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "nortethird"})
    day = due.astimezone(dt.timezone.utc).date()
    assert [rendered(r) for r in order_problems(draft, OrderFacts.load([draft], day=day))] == [
        str(DUPLICATE_SERVICE % {"company": demo.norte.name, "service": "Microsoft Organization tenant"})
    ]
    # Once the vendor refused it, the service is free again.
    VendorOrder.objects.filter(job=first).update(status="sent", outcome="refused", reason="no")
    assert order_problems(draft, OrderFacts.load([draft], day=day)) == []


def test_two_tenants_due_together_make_one_vendor_order(vendor, demo):
    due = due_soon()
    first = _tenant_job(demo, demo.norte, "norteuno", due)
    second = _tenant_job(demo, demo.norte, "nortedos", due)
    run_batch(due)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.WAITING, Status.FAILED)
    assert VendorOrder.objects.count() == 1


def test_a_job_with_two_vendor_orders_finishes_once_when_the_last_is_final(vendor, demo, monkeypatch):
    tenant = eritech_tenant_at_vendor(vendor, demo)
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due)
    other = schedule_for(demo, tenant, due_at=due, quantity=2)
    row = other.rows.get()
    row.job, row.position = job, 2
    row.save()
    other.delete()
    run_batch(due)
    job.refresh_from_db()
    orders = list(VendorOrder.objects.filter(job=job).order_by("row__position"))
    assert job.status == Status.WAITING and len(orders) == 2
    # The first is done; the job still waits for the second.
    assert send(due, limit=1) == 1
    job.refresh_from_db()
    assert job.status == Status.WAITING
    assert job.rows.get(position=1).status == ImportRow.Status.COMPLETED
    assert send(due) == 1
    job.refresh_from_db()
    assert job.status == Status.COMPLETED and (job.imported_count, job.error_count) == (2, 0)
    assert job.notifications.filter(kind="import_finished").count() == 1


def test_a_chunk_asks_the_vendor_about_a_tenant_once_for_all_its_orders(vendor, demo):
    """The due time's vendor check of a chunk's orders of one customer tenant: one GET /v1/customers/{id}."""
    tenant = eritech_tenant_at_vendor(vendor, demo)
    due = due_soon()
    jobs = [schedule_for(demo, tenant, due_at=due, quantity=quantity) for quantity in (1, 2, 3)]
    run_batch(due)
    assert send(due) == 3
    assert all(job.status == Status.COMPLETED for job in ImportJob.objects.filter(pk__in=[j.pk for j in jobs]))
    operations = list(VendorCall.objects.filter(company=demo.eritech).values_list("operation", flat=True))
    assert operations.count("customer_get") == 1 and operations.count("cart_checkout") == 3
    assert len(orders_of(vendor.ledger(), tenant)) == 3
