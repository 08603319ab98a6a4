"""POST/GET /api/v1/subscriptions/{account_id}/changes/, and cancel/reschedule (issue 27, point 5)."""

import datetime as dt
import uuid

import pytest

from catalog.models import TermsAcceptance
from devtools.demo import BASIC
from imports.models import ImportJob
from orders.models import SubscriptionChange
from tests.changes.helpers import basic_subscription, now_minute

from .conftest import client_for, token_for

pytestmark = pytest.mark.django_db


def url(subscription, *rest) -> str:
    tail = "".join(f"{part}/" for part in rest)
    return f"/api/v1/subscriptions/{subscription.account_id}/changes/{tail}"


def post(client, address, body=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(address, body or {}, format="json", **headers)


def iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_schedule_a_quantity_change_returns_the_change_and_its_job(abbie, demo):
    subscription = basic_subscription(demo, quantity=1)
    due = now_minute() + dt.timedelta(hours=1)
    key = str(uuid.uuid4())
    response = post(abbie, url(subscription), {"kind": "quantity", "quantity": 3, "when": "at", "schedule_at": iso(due)}, key)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["change"]["kind"] == "quantity" and body["change"]["status"] == "pending"
    assert body["change"]["description"].startswith("Quantity 1 → 3 on ")
    assert body["job"]["source"] == "change" and body["job"]["status"] == "pending"
    assert body["change"]["job_id"] == body["job"]["id"]
    again = post(abbie, url(subscription), {"kind": "quantity", "quantity": 3, "when": "at", "schedule_at": iso(due)}, key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert SubscriptionChange.objects.count() == 1
    listed = abbie.get(url(subscription)).json()
    assert [change["id"] for change in listed["results"]] == [body["change"]["id"]]


def test_a_second_change_of_the_kind_is_409_with_both_then_replaced(abbie, demo):
    subscription = basic_subscription(demo, quantity=1)
    first = post(abbie, url(subscription), {"kind": "quantity", "quantity": 3})
    assert first.status_code == 201, first.json()
    later = iso(now_minute() + dt.timedelta(hours=2))
    conflict = post(abbie, url(subscription), {"kind": "quantity", "quantity": 5, "schedule_at": later})
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["open_change"]["id"] == first.json()["change"]["id"]
    assert body["requested"]["description"].startswith("Quantity 1 → 5")
    assert "Replace it?" in body["detail"]
    replaced = post(abbie, url(subscription), {"kind": "quantity", "quantity": 5, "schedule_at": later, "replace": True})
    assert replaced.status_code == 201
    assert SubscriptionChange.objects.get(pk=first.json()["change"]["id"]).status == "replaced"


def test_a_mid_term_reduction_is_400_with_the_rule(abbie, demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=30)
    response = post(abbie, url(subscription), {"kind": "quantity", "quantity": 8})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Seats can be reduced only at renewal or in the 7 days after purchase or renewal")
    assert not SubscriptionChange.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "seats", "quantity": 3}, "kind"),
        ({"kind": "quantity", "quantity": "three"}, "quantity"),
        ({"kind": "quantity", "quantity": 3, "schedule_at": "tomorrow"}, "schedule_at"),
        ({"kind": "quantity", "quantity": 3, "colour": "red"}, "colour"),
        ({"kind": "upgrade", "when": "renewal", "product_code": "nope"}, "product_code"),
    ],
)
def test_bad_input_is_400_naming_the_field(abbie, demo, body, field):
    subscription = basic_subscription(demo)
    response = post(abbie, url(subscription), body)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_another_resellers_subscription_is_404(demo):
    subscription = basic_subscription(demo)
    andes = client_for(token_for(demo.admin_andes))
    assert post(andes, url(subscription), {"kind": "quantity", "quantity": 3}).status_code == 404
    assert andes.get(url(subscription)).status_code == 404


def test_cancel_and_reschedule_here_and_through_the_job(abbie, demo):
    subscription = basic_subscription(demo)
    soon = now_minute() + dt.timedelta(hours=1)
    change = post(abbie, url(subscription), {"kind": "quantity", "quantity": 3, "schedule_at": iso(soon)}).json()["change"]
    later = now_minute() + dt.timedelta(hours=3)
    moved = post(abbie, url(subscription, change["id"], "reschedule"), {"schedule_at": iso(later)})
    assert moved.status_code == 200, moved.json()
    assert SubscriptionChange.objects.get(pk=change["id"]).due_at == later
    cancelled = post(abbie, url(subscription, change["id"], "cancel"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert post(abbie, url(subscription, change["id"], "cancel")).status_code == 409
    other = post(abbie, url(subscription), {"kind": "auto_renew", "auto_renew": False, "schedule_at": iso(soon)}).json()
    assert post(abbie, f"/api/v1/imports/{other['job']['id']}/cancel/").status_code == 200
    assert SubscriptionChange.objects.get(pk=other["change"]["id"]).status == "cancelled"
    assert ImportJob.objects.get(pk=other["job"]["id"]).status == "cancelled"


def test_a_change_at_renewal_cannot_be_rescheduled(abbie, demo):
    subscription = basic_subscription(demo, quantity=5)
    change = post(abbie, url(subscription), {"kind": "quantity", "quantity": 4, "when": "renewal"}).json()["change"]
    response = post(abbie, url(subscription, change["id"], "reschedule"), {"schedule_at": iso(now_minute() + dt.timedelta(hours=1))})
    assert response.status_code == 409


def test_the_schema_describes_the_changes(abbie):
    schema = abbie.get("/api/schema/?format=json").json()
    assert "/api/v1/subscriptions/{account_id}/changes/" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/subscriptions/{account_id}/changes/"]


def test_terms_not_accepted_yet_refuse_the_change_unless_accept_terms(abbie, demo):
    """As the subscription page's review: ERITECH's Business Basic with its terms not accepted at ABBIE BOX's price
    list. Without accept_terms the change is refused with the terms' reason and nothing is written; with it, the
    terms are accepted for the price list (audited) and the change scheduled, in one transaction."""
    subscription = basic_subscription(demo, quantity=1)
    demo.abbie_price_list.acceptances.filter(service__code=BASIC).delete()
    refused = post(abbie, url(subscription), {"kind": "quantity", "quantity": 3})
    assert refused.status_code == 400, refused.json()
    assert "terms" in refused.json()["detail"].lower()
    assert not SubscriptionChange.objects.exists()
    assert not TermsAcceptance.objects.filter(service__code=BASIC).exists()
    done = post(abbie, url(subscription), {"kind": "quantity", "quantity": 3, "accept_terms": True})
    assert done.status_code == 201, done.json()
    assert TermsAcceptance.objects.get(price_list=demo.abbie_price_list, service__code=BASIC).accepted_by == demo.admin_abbie
    assert SubscriptionChange.objects.get().quantity == 3
    bad = post(abbie, url(subscription), {"kind": "auto_renew", "auto_renew": False, "accept_terms": "yes"})
    assert bad.status_code == 400 and "accept_terms" in bad.json()["errors"]
