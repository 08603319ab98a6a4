"""Set-up for the PROVISIONING UI's tests (tests/vendor/test_ui_*.py): jobs in the vendor's hands and
vendor calls written straight through the ORM, as the engine and the connector would leave them (these
tests are about what people see, not about the engine)."""

import datetime as dt
import uuid

from catalog.models import VendorCall
from imports.models import ImportJob, VendorOrder
from orders.models import Order
from tests.imports.helpers import schedule

UTC = dt.timezone.utc


def vendor_order_for(job: ImportJob, *, now: dt.datetime, next_try: dt.datetime | None = None, outcome: str = "",
                     last_error: str = "", reason: str = "", vendor_order_id: str = "", vendor_subscription_id: str = "",
                     **fields) -> VendorOrder:
    row = job.rows.get()
    final = bool(outcome)
    return VendorOrder.objects.create(
        row=row, job=job, company=job.company, integration="microsoft", operation="cart",
        customer_id="e0d72b05-fb92-4d65-9424-7b58ea99d5d3", create_request_id=uuid.uuid4(),
        checkout_request_id=uuid.uuid4(), correlation_id=uuid.uuid4(), account_id=900000 + row.pk,
        deadline_at=now + dt.timedelta(hours=4), next_attempt_at=next_try or now, created_at=now,
        status=VendorOrder.Status.SENT if final else VendorOrder.Status.PENDING, sent_at=now if final else None,
        outcome=outcome, last_error=last_error, reason=reason, vendor_order_id=vendor_order_id,
        vendor_subscription_id=vendor_subscription_id, **fields,
    )


def waiting_job(demo, *, due_at: dt.datetime, next_try: dt.datetime, last_error: str = "", **order_fields):
    """A scheduled provisioning whose vendor order is backing off: the job Waiting for vendor."""
    job = schedule(demo, due_at=due_at, **order_fields)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.WAITING, claimed_at=due_at)
    order = vendor_order_for(job, now=due_at, next_try=next_try, last_error=last_error, attempts=2)
    job.refresh_from_db()
    return job, order


def failed_job(demo, *, due_at: dt.datetime, outcome=VendorOrder.Outcome.REFUSED, reason: str = "Refused.", **order_fields):
    """A scheduled provisioning the vendor refused (or that expired): the job Failed, its row failed."""
    job = schedule(demo, due_at=due_at, **order_fields)
    # As the wizard leaves it: the helper's order has no billing start date, which Configuration requires
    # (RECREATE PROVISIONING copies the order through "Schedule again").
    Order.objects.filter(import_row__job=job).update(billing_start_date=due_at)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, finished_at=due_at, error_count=1)
    job.rows.update(status="failed", error=reason)
    order = vendor_order_for(job, now=due_at, outcome=outcome, reason=reason)
    job.refresh_from_db()
    return job, order


def vendor_call(company, *, at: dt.datetime, operation="cart_create", outcome=VendorCall.Outcome.DONE, status_code=201,
                correlation_id=None, path="/v1/customers/x/carts") -> VendorCall:
    return VendorCall.objects.create(
        at=at, company=company, integration="microsoft", operation=operation, method="POST",
        path=path, status_code=status_code, outcome=outcome,
        request_id=str(uuid.uuid4()), correlation_id=correlation_id or str(uuid.uuid4()), duration_ms=120,
    )
