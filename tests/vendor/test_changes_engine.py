"""Scheduled changes through the Partner Center sandbox over real HTTP (issue 27, point 3): the batch
records the change's vendor order and the job waits; the sender makes exactly ONE PATCH per change with
the order's MS-RequestId (a retry: the same id, applied once); done → applied here; refused → failed
with the vendor's reason."""

import datetime as dt

import pytest

from catalog.models import VendorCall
from core.stored_messages import rendered
from imports.changes.services import change_schedule
from imports.models import ImportJob, ImportRow, VendorOrder
from orders.models import SubscriptionChange
from tests.changes.helpers import Kind, When, basic_subscription, now_minute, spec

from .engine_helpers import run_batch, send, warm_token

pytestmark = pytest.mark.django_db
Status = SubscriptionChange.Status


def at_the_vendor(vendor, demo, *, quantity=1, **fields):
    """ERITECH's Business Basic as a sandbox subscription of a new customer, active."""
    customer = vendor.customer()["id"]
    cart = vendor.cart(customer, quantity=quantity).json()
    checkout = vendor.request("POST", f"/v1/customers/{customer}/carts/{cart['id']}/checkout", {})
    assert checkout.status == 201, checkout.body
    vendor_id = checkout.json()["orders"][0]["lineItems"][0]["subscriptionId"]
    return basic_subscription(
        demo, quantity=quantity, vendor_subscription_id=vendor_id, attributes={"tenant_id": customer}, **fields
    ), customer


def vendor_doc(vendor, customer, subscription):
    response = vendor.request("GET", f"/v1/customers/{customer}/subscriptions/{subscription.vendor_subscription_id}")
    assert response.status == 200, response.body
    return response.json()


def patches(order: VendorOrder):
    return list(
        VendorCall.objects.filter(operation="subscription_patch", correlation_id=str(order.correlation_id))
        .order_by("id").values_list("outcome", "request_id")
    )


def test_quantity_up_is_one_patch_then_applied(vendor, demo):
    subscription, customer = at_the_vendor(vendor, demo, quantity=1)
    due = now_minute() + dt.timedelta(minutes=2)
    scheduled = change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, spec=spec(quantity=3, at=due))
    run_batch(due)
    job = ImportJob.objects.get(pk=scheduled.job.pk)
    order = VendorOrder.objects.get(job=job)
    assert job.status == ImportJob.Status.WAITING
    assert (order.operation, order.customer_id, order.subscription["patch"]) == ("change", customer, {"quantity": 3})
    assert send(due) == 1
    subscription.refresh_from_db()
    scheduled.change.refresh_from_db()
    job.refresh_from_db()
    assert subscription.quantity == 3 and scheduled.change.status == Status.APPLIED
    assert job.status == ImportJob.Status.COMPLETED
    assert vendor_doc(vendor, customer, subscription)["quantity"] == 3
    assert patches(order) == [("done", str(order.create_request_id))]


def test_a_lost_answer_is_asked_again_with_the_same_request_id(vendor, demo):
    subscription, customer = at_the_vendor(vendor, demo, quantity=1)
    due = now_minute() + dt.timedelta(minutes=2)
    scheduled = change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, spec=spec(quantity=4, at=due))
    run_batch(due)
    warm_token()
    vendor.faults(lost_response_rate=1.0)
    assert send(due) == 0
    order = VendorOrder.objects.get(job=scheduled.job)
    assert order.outcome == "" and "did not answer" in rendered(order.last_error)
    vendor.faults(lost_response_rate=0.0)
    assert send(order.next_attempt_at) == 1
    assert patches(order) == [("unknown", str(order.create_request_id)), ("done", str(order.create_request_id))]
    scheduled.change.refresh_from_db()
    assert scheduled.change.status == Status.APPLIED
    assert vendor_doc(vendor, customer, subscription)["quantity"] == 4


def test_a_change_at_renewal_becomes_next_term_instructions(vendor, demo):
    subscription, customer = at_the_vendor(vendor, demo, quantity=3)
    now = now_minute()
    scheduled = change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, spec=spec(quantity=2, when=When.RENEWAL), now=now)
    run_batch(now)
    assert send(now) == 1
    scheduled.change.refresh_from_db()
    assert scheduled.change.status == Status.SENT
    instructions = vendor_doc(vendor, customer, subscription)["scheduledNextTermInstructions"]
    assert instructions["quantity"] == 2 and instructions["billingCycle"] == "monthly" and instructions["termDuration"] == "P1Y"
    assert vendor_doc(vendor, customer, subscription)["quantity"] == 3


def test_a_refusal_fails_the_change_with_the_vendors_reason(vendor, demo):
    subscription, _customer = at_the_vendor(vendor, demo, quantity=1)
    subscription.vendor_subscription_id = "00000000-0000-0000-0000-000000000000"
    subscription.save(update_fields=["vendor_subscription_id"])
    now = now_minute()
    scheduled = change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, spec=spec(Kind.AUTO_RENEW, auto_renew=False), now=now)
    run_batch(now)
    send(now)
    scheduled.change.refresh_from_db()
    row = ImportRow.objects.get(job=scheduled.job)
    assert scheduled.change.status == Status.FAILED and scheduled.change.reason
    assert row.status == ImportRow.Status.FAILED and row.failure_reason == rendered(scheduled.change.reason)
    assert ImportJob.objects.get(pk=scheduled.job.pk).status == ImportJob.Status.FAILED


def test_cancel_now_inside_the_window_deletes_it_at_the_vendor(vendor, demo):
    subscription, customer = at_the_vendor(vendor, demo, quantity=2, days_into_term=1)
    now = now_minute()
    scheduled = change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, spec=spec(Kind.CANCEL), now=now)
    run_batch(now)
    assert send(now) == 1
    subscription.refresh_from_db()
    assert subscription.status == "terminated"
    assert vendor_doc(vendor, customer, subscription)["status"] == "deleted"
    scheduled.change.refresh_from_db()
    assert scheduled.change.status == Status.APPLIED
