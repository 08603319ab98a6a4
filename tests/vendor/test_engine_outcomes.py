"""The engine provisions through the vendor, exactly once (issue 25, point 3): each outcome of a vendor
order through the Partner Center sandbox over real HTTP, with the job's statuses, emails and webhooks."""

import datetime as dt
import uuid

import pytest
from django.utils import translation

from accounts.models import AuditLogEntry
from catalog.integrations.partner_center import REFUSED_TENANT_NOT_FOUND
from catalog.models import VendorCall
from core.stored_messages import rendered
from imports.models import ImportJob, ImportRow, Notification, VendorOrder, WebhookDelivery
from imports.vendor import recorder as vendor_recorder
from imports.vendor import send as vendor_send
from imports.vendor.outbox import VENDOR_ORDERS
from orders.models import Subscription
from tests.imports.helpers import ERITECH_TENANT_ID

from .engine_helpers import (
    due_soon, eritech_tenant_at_vendor, orders_of, run_batch, schedule_for, send, vendor_order, warm_token,
)

pytestmark = pytest.mark.django_db
Status = ImportJob.Status
LEASE = dt.timedelta(seconds=180)


@pytest.fixture
def tenant(vendor, demo):
    return eritech_tenant_at_vendor(vendor, demo)


@pytest.fixture
def endpoint(demo):
    from accounts.webhooks import webhook_endpoint_save

    return webhook_endpoint_save(actor=demo.admin_abbie, company=demo.abbiebox, url="https://hooks.abbiebox.example/icp")


def test_the_batch_records_the_vendor_order_and_the_job_waits_with_nothing_created(vendor, demo, tenant):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due, quantity=3)
    run_batch(due)
    job.refresh_from_db()
    row = job.rows.get()
    order = vendor_order(job)
    assert job.status == Status.WAITING and job.finished_at is None and job.lease_expires_at is None
    assert row.status == ImportRow.Status.PENDING and row.subscription is None
    assert not Subscription.objects.filter(provisioning_key=row.provisioning_key).exists()
    assert (order.operation, order.customer_id, order.integration, order.company_id) == ("cart", tenant, "microsoft", demo.eritech.pk)
    assert order.deadline_at == due + dt.timedelta(hours=6) and order.next_attempt_at == due
    assert order.subscription["quantity"] == 3 and order.subscription["unit_price"] == "2.00000"
    assert order.subscription["provisioning_key"] == row.provisioning_key and order.account_id == order.subscription["account_id"]
    assert len({order.create_request_id, order.checkout_request_id, order.correlation_id}) == 3
    # No final email, audit entry or webhook while it waits.
    assert not Notification.objects.filter(job=job, kind=Notification.Kind.IMPORT_FINISHED).exists()
    assert not AuditLogEntry.objects.filter(action__startswith="import.", company=demo.eritech).exists()
    assert orders_of(vendor.ledger(), tenant) == []


def test_done_creates_the_subscription_with_the_vendors_ids_and_exactly_one_order(
    vendor, demo, tenant, endpoint, mailoutbox, django_capture_on_commit_callbacks
):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due, quantity=2)
    run_batch(due)
    with django_capture_on_commit_callbacks(execute=True):
        assert send(due) == 1
    job.refresh_from_db()
    row = job.rows.select_related("subscription").get()
    order = vendor_order(job)
    subscription = row.subscription
    ledger = orders_of(vendor.ledger(), tenant)
    assert job.status == Status.COMPLETED and (job.imported_count, job.error_count) == (1, 0) and job.finished_at == due
    assert row.status == ImportRow.Status.COMPLETED and row.result_account_id == subscription.account_id == order.account_id
    assert len(ledger) == 1
    assert (ledger[0]["id"], ledger[0]["cart_id"], ledger[0]["request_id"]) == (
        subscription.vendor_order_id, order.cart_id, str(order.checkout_request_id)
    )
    assert subscription.vendor_subscription_id == ledger[0]["subscription_ids"][0]
    assert subscription.vendor_status == "pending" and subscription.quantity == 2
    assert subscription.attributes == {"tenant_id": tenant}
    assert (order.status, order.outcome, order.vendor_order_id, order.checked_at) == ("sent", "done", subscription.vendor_order_id, due)
    # Finished as the batch finishes a job: audit entry, final email, webhook event.
    assert AuditLogEntry.objects.filter(company=demo.eritech, action="import.completed").count() == 1
    assert [m.subject for m in mailoutbox] == ["Your import is completed"]
    assert list(WebhookDelivery.objects.filter(job=job).values_list("event", flat=True)) == ["import.completed"]
    # Every call recorded as the company's, with the vendor order's correlation id.
    calls = VendorCall.objects.filter(company=demo.eritech, correlation_id=str(order.correlation_id))
    assert list(calls.order_by("id").values_list("operation", "outcome")) == [("cart_create", "done"), ("cart_checkout", "done")]


def test_a_refusal_fails_the_job_at_once_with_the_vendors_reason_in_the_readers_language(vendor, demo, endpoint):
    # A tenant id ERITECH holds that the sandbox does not know (its seed has the demo's own tenant):
    # Partner Center answers 404, code 60003, at the due time's vendor check.
    unknown = str(uuid.uuid4())
    tenant = Subscription.objects.get(company=demo.eritech, attributes__tenant_id=ERITECH_TENANT_ID, tenant_domain__isnull=False)
    tenant.attributes = {**tenant.attributes, "tenant_id": unknown}
    tenant.save(update_fields=["attributes"])
    due = due_soon()
    job = schedule_for(demo, unknown, due_at=due)
    run_batch(due)
    assert send(due) == 0
    job.refresh_from_db()
    row = job.rows.get()
    order = vendor_order(job)
    assert job.status == Status.FAILED and (job.imported_count, job.error_count) == (0, 1)
    assert (order.status, order.outcome) == ("sent", "refused") and order.reason == row.error
    assert row.failure_reason == str(REFUSED_TENANT_NOT_FOUND)
    with translation.override("es"):
        spanish = row.failure_reason
    assert spanish and spanish != row.failure_reason
    assert job.is_retryable  # "Schedule again"
    assert Notification.objects.filter(job=job, kind=Notification.Kind.IMPORT_FINISHED).count() == 1
    assert WebhookDelivery.objects.get(job=job).event == "import.failed"
    assert not Subscription.objects.filter(provisioning_key=row.provisioning_key).exists()


@pytest.mark.parametrize("faults, retry_after", [({"error_rate": 1.0}, None), ({"rate_limit_rate": 1.0}, 1), ({"down": True}, 5)])
def test_transient_trouble_keeps_the_job_waiting_until_it_passes(vendor, demo, tenant, endpoint, monkeypatch, faults, retry_after):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due)
    run_batch(due)
    warm_token()
    vendor.faults(**faults)
    assert send(due) == 0
    order = vendor_order(job)
    job.refresh_from_db()
    assert job.status == Status.WAITING and order.status == "pending" and order.outcome == ""
    assert order.attempts == 1 and "Microsoft" in rendered(order.last_error)
    assert order.next_attempt_at == due + dt.timedelta(seconds=15)  # the backoff's base (longer than any Retry-After here)
    # Announced once: the waiting email and webhook event, with the next try and the reason.
    waiting = Notification.objects.get(job=job, kind=Notification.Kind.IMPORT_WAITING)
    assert waiting.status == "sent"  # sent at once (the test's mail backend)
    event = WebhookDelivery.objects.get(job=job, event="import.waiting")
    assert event.payload["data"]["next_try_at"] == order.next_attempt_at.isoformat().replace("+00:00", "Z")
    assert event.payload["data"]["reason"] == rendered(order.last_error) and event.payload["data"]["status"] == "waiting"
    # Not due before its next try; a second failure doubles the wait and announces nothing more.
    assert send(due + dt.timedelta(seconds=14)) == 0 and vendor_order(job).attempts == 1
    assert send(due + dt.timedelta(seconds=15)) == 0
    assert vendor_order(job).next_attempt_at == due + dt.timedelta(seconds=15 + 30)
    assert Notification.objects.filter(job=job).exclude(kind=Notification.Kind.IMPORT_SCHEDULED).count() == 1
    # Retry-After is a floor under the backoff.
    if retry_after is not None:
        monkeypatch.setattr(VENDOR_ORDERS, "backoff", lambda attempts: dt.timedelta(0))
        assert send(due + dt.timedelta(seconds=45)) == 0
        assert vendor_order(job).next_attempt_at == due + dt.timedelta(seconds=45 + retry_after)
        monkeypatch.undo()
    vendor.faults(error_rate=0, rate_limit_rate=0, down=False)
    assert send(due + dt.timedelta(minutes=5)) == 1
    job.refresh_from_db()
    assert job.status == Status.COMPLETED
    assert len(orders_of(vendor.ledger(), tenant)) == 1
    assert sorted(WebhookDelivery.objects.filter(job=job).values_list("event", flat=True)) == ["import.completed", "import.waiting"]


def test_a_lost_response_is_asked_again_with_the_same_request_id_and_makes_one_order(vendor, demo, tenant):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due)
    run_batch(due)
    warm_token()
    # The vendor check passed at an earlier try (a lost answer to its GET would be trouble of its own).
    VendorOrder.objects.filter(job=job).update(checked_at=due)
    vendor.faults(lost_response_rate=1.0)
    assert send(due) == 0
    order = vendor_order(job)
    assert order.outcome == "" and order.cart_id == "" and "did not answer" in rendered(order.last_error)
    vendor.faults(lost_response_rate=0.0)
    assert send(order.next_attempt_at) == 1
    order.refresh_from_db()
    creates = VendorCall.objects.filter(operation="cart_create", correlation_id=str(order.correlation_id))
    assert list(creates.order_by("id").values_list("outcome", "request_id")) == [
        ("unknown", str(order.create_request_id)), ("done", str(order.create_request_id)),
    ]
    ledger = vendor.ledger()
    assert len(orders_of(ledger, tenant)) == 1
    assert [cart["id"] for cart in ledger["carts"] if cart["customer_id"] == tenant] == [order.cart_id]


def test_a_sender_killed_after_the_checkout_answer_leaves_the_cart_checked_out_once(vendor, demo, tenant, monkeypatch):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due)
    run_batch(due)

    class Killed(BaseException):
        """The process dies between the vendor's answer and the commit."""

    def killed(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(vendor_recorder, "finish_done", killed)  # looked up by the recorder's flush
    with pytest.raises(Killed):
        send(due)
    order = vendor_order(job)
    assert order.cart_id and order.outcome == "" and order.next_attempt_at == due + LEASE  # still under the dead sender's lease
    assert len(orders_of(vendor.ledger(), tenant)) == 1  # the vendor placed it
    monkeypatch.undo()
    assert send(due + LEASE - dt.timedelta(seconds=1)) == 0  # nobody takes it while the lease lasts
    assert send(due + LEASE) == 1  # the next sender: the same cart, checked out again → the first order
    job.refresh_from_db()
    order.refresh_from_db()
    ledger = orders_of(vendor.ledger(), tenant)
    assert job.status == Status.COMPLETED and len(ledger) == 1 and order.vendor_order_id == ledger[0]["id"]
    checkouts = VendorCall.objects.filter(operation="cart_checkout", correlation_id=str(order.correlation_id))
    assert checkouts.count() == 2 and set(checkouts.values_list("request_id", flat=True)) == {str(order.checkout_request_id)}


def test_a_sender_killed_before_its_first_call_leaves_the_order_to_the_next_sender(vendor, demo, tenant, monkeypatch):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due)
    run_batch(due)

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(vendor_send, "place", killed)  # looked up by the sender's _attempt
    with pytest.raises(Killed):
        send(due)
    monkeypatch.undo()
    order = vendor_order(job)
    assert order.outcome == "" and order.cart_id == "" and order.attempts == 0 and order.next_attempt_at == due + LEASE
    assert send(due + LEASE) == 1
    job.refresh_from_db()
    assert job.status == Status.COMPLETED and len(orders_of(vendor.ledger(), tenant)) == 1


def test_the_deadline_fails_the_job_with_the_last_trouble(vendor, demo, tenant, mailoutbox, django_capture_on_commit_callbacks):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due)
    run_batch(due)
    vendor.faults(down=True)
    assert send(due) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert send(due + dt.timedelta(hours=6, minutes=1)) == 0
    job.refresh_from_db()
    row = job.rows.get()
    order = vendor_order(job)
    assert job.status == Status.FAILED and (order.status, order.outcome) == ("sent", "expired")
    assert "Microsoft could not take the order before the deadline" in row.failure_reason
    assert "503" in row.failure_reason and row.error == order.reason
    with translation.override("es"):
        assert "Microsoft" in row.failure_reason and "could not take" not in row.failure_reason  # the reader's language
    assert [m.subject for m in mailoutbox] == ["Your import is waiting for Microsoft", "Your import failed"]
    assert orders_of(vendor.ledger(), tenant) == []


def test_send_to_backend_off_provisions_locally_as_today(vendor, demo, tenant):
    due = due_soon()
    job = schedule_for(demo, tenant, due_at=due)
    order = job.rows.get().order
    order.send_to_backend = False
    order.save(update_fields=["send_to_backend"])
    run_batch(due)
    job.refresh_from_db()
    subscription = job.rows.get().subscription
    assert job.status == Status.COMPLETED and not VendorOrder.objects.exists()
    assert subscription.vendor_subscription_id == "" and subscription.vendor_order_id == ""
    assert orders_of(vendor.ledger(), tenant) == [] and not VendorCall.objects.exists()


def test_a_new_tenant_is_created_at_the_vendor_and_its_id_is_the_subscriptions_tenant_id(vendor, demo):
    from tests.imports.helpers import TENANT
    from catalog.models import Term

    due = due_soon()
    domain = f"norte{due.strftime('%H%M%S')}{demo.norte.pk}"
    job = schedule_for(demo, "", due_at=due, company=demo.norte, code=TENANT, term=Term.P1M,
                       name="Microsoft Organization tenant", vendor_config={"tenant_domain": domain})
    run_batch(due)
    order = vendor_order(job)
    assert (order.operation, order.customer_id) == ("customer", "")
    assert send(due) == 1
    job.refresh_from_db()
    subscription = job.rows.get().subscription
    customers = [c for c in vendor.ledger()["customers"] if c["domain"] == f"{domain}.onmicrosoft.com"]
    assert job.status == Status.COMPLETED and len(customers) == 1
    assert customers[0]["request_id"] == str(order.create_request_id)
    assert subscription.attributes == {"tenant_id": customers[0]["id"], "domain": f"{domain}.onmicrosoft.com"}
    assert subscription.tenant_domain == f"{domain}.onmicrosoft.com"
    order.refresh_from_db()
    assert order.customer_id == customers[0]["id"]


def test_a_429_pauses_its_tenant_for_every_sender_until_retry_after(vendor, demo, tenant):
    from catalog.integrations.pauses import tenant_paused_until

    due = due_soon()
    jobs = [schedule_for(demo, tenant, due_at=due, quantity=quantity) for quantity in (1, 2)]
    run_batch(due)
    warm_token()
    VendorOrder.objects.filter(job__in=jobs).update(checked_at=due)  # the vendor check passed at an earlier try
    vendor.faults(rate_limit_rate=1.0)
    assert send(due) == 0
    # The first order met the limit and paused the tenant; the second waited with it without calling.
    creates = VendorCall.objects.filter(company=demo.eritech, operation="cart_create")
    assert creates.count() == 1 and creates.get().status_code == 429
    until = tenant_paused_until("microsoft", tenant, now=due)
    assert until == due + dt.timedelta(seconds=1)  # the sandbox's Retry-After
    first, second = (vendor_order(job) for job in jobs)
    assert (first.attempts, second.attempts) == (1, 1)
    assert "slow down" in rendered(second.last_error) and second.cart_id == ""
    assert tenant_paused_until("microsoft", tenant, now=until) is None  # over at its end
    vendor.faults(rate_limit_rate=0)
    assert send(due + dt.timedelta(minutes=5)) == 2
    assert len(orders_of(vendor.ledger(), tenant)) == 2
