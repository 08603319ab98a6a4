"""A scheduled change the sync found wiped at the vendor (or not applied by the renewal) is reported, never
silently lost: an email to its creator, in the creator's language, and the webhook event "change.wiped" with the
change and its reason, both through the outbox in the sync's transaction (imports.engine.change_notices)."""

import datetime as dt
import json

import pytest
from django.core import mail

from accounts.models import WebhookEndpoint
from catalog.integrations import get_integration
from catalog.integrations.partner_center import Done, Subscription as VendorSubscription
from devtools.demo import BASIC
from imports.models import ImportJob, ImportRow, Notification, WebhookDelivery
from imports.notify.send import emails_send
from orders.models import SubscriptionChange
from orders.sync import subscription_sync
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 10, tzinfo=UTC)
Status = SubscriptionChange.Status


@pytest.fixture
def answer(monkeypatch, settings):
    """The vendor's answer to the sync (a stand-in connector): no next-term instructions, no renewal."""
    settings.MICROSOFT_ENABLED = True
    holder = {"answer": Done(VendorSubscription(
        id="sub-1", offer_id="ICP-" + BASIC, quantity=6, status="active", auto_renew_enabled=True, billing_cycle="monthly",
        term_duration="P1Y", effective_start_date="2026-03-10T00:00:00Z", commitment_end_date="2027-03-09T00:00:00Z",
    ))}

    class Connector:
        def subscription_get(self, *args, **kwargs):
            return holder["answer"]

    monkeypatch.setattr(type(get_integration("microsoft")), "connector", lambda self: Connector())
    return holder


def sent_change_with_job(demo) -> SubscriptionChange:
    subscription = SubscriptionFactory(
        company=demo.eritech, service=demo.service(BASIC), quantity=5, term="P1Y", billing_frequency="monthly",
        term_start=START, term_end=START.replace(year=2027), vendor_subscription_id="sub-1",
        attributes={"tenant_id": "tenant-1"},
    )
    change = SubscriptionChange.objects.create(
        subscription=subscription, kind=SubscriptionChange.Kind.QUANTITY, when=SubscriptionChange.When.RENEWAL,
        due_at=subscription.term_end, quantity=2, before={"quantity": 5}, status=Status.SENT,
        created_by=demo.admin_abbie,
    )
    job = ImportJob.objects.create(
        name="(NCE) Microsoft 365 Business Basic", account_type=ImportJob.AccountType.PRODUCTS,
        source=ImportJob.Source.CHANGE, status=ImportJob.Status.COMPLETED, due_at=START, created_by=demo.admin_abbie,
        company=demo.eritech, finished_at=START,
    )
    ImportRow.objects.create(job=job, import_type=ImportRow.ImportType.CHANGE, parent_company=demo.eritech,
                             change=change, status=ImportRow.Status.COMPLETED)
    return change


def test_a_wiped_change_sends_an_email_and_a_webhook(demo, answer):
    endpoint = WebhookEndpoint.objects.create(company=demo.abbiebox, url="https://hooks.example/icp", secret="s")
    change = sent_change_with_job(demo)
    assert subscription_sync(change.subscription_id).moved == {Status.WIPED: [change.pk]}
    notification = Notification.objects.get(kind=Notification.Kind.CHANGE_WIPED)
    assert notification.job == change.import_row.job
    delivery = WebhookDelivery.objects.get(event="change.wiped")
    assert delivery.endpoint == endpoint
    data = delivery.payload["data"]["change"]
    assert (data["id"], data["status"], data["kind"]) == (change.pk, "wiped", "quantity")
    assert data["text"] == "Quantity 5 → 2 at renewal on 2027-03-10"
    assert "no longer holds this change" in data["reason"]
    json.dumps(delivery.payload)  # the body sent as is

    mail.outbox.clear()
    emails_send()
    [email] = mail.outbox
    assert email.to == [demo.admin_abbie.email]
    assert "wiped at the vendor" in email.subject and "Business Basic" in email.subject
    assert "Quantity 5 → 2 at renewal on 2027-03-10" in email.body and "no longer holds this change" in email.body
    # Once: a second sync finds nothing Sent any more.
    subscription_sync(change.subscription_id)
    assert Notification.objects.filter(kind=Notification.Kind.CHANGE_WIPED).count() == 1


def test_a_renewal_without_the_change_is_reported_in_the_creator_s_language(demo, answer):
    demo.admin_abbie.email_language = "es"
    demo.admin_abbie.save(update_fields=["email_language"])
    change = sent_change_with_job(demo)
    answer["answer"] = Done(VendorSubscription(
        id="sub-1", offer_id="ICP-" + BASIC, quantity=5, status="active", auto_renew_enabled=True, billing_cycle="monthly",
        term_duration="P1Y", effective_start_date="2027-03-10T00:00:00Z", commitment_end_date="2028-03-09T00:00:00Z",
    ))
    assert subscription_sync(change.subscription_id).moved == {Status.FAILED: [change.pk]}
    assert Notification.objects.filter(kind=Notification.Kind.CHANGE_RENEWAL_FAILED).count() == 1
    mail.outbox.clear()
    emails_send()
    [email] = mail.outbox
    assert "no se aplicó en la renovación" in email.subject
    assert "sin este cambio" in email.body
