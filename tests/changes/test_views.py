"""The subscription page's change wizard (issue 27, point 4): choose → review (price effect, when) →
schedule; the rules' refusal on the page; the replace confirmation; cancel from the page."""

import datetime as dt

import pytest

from accounts.models import AuditLogEntry
from catalog.models import TermsAcceptance
from imports.models import ImportJob
from orders.models import SubscriptionChange
from tests.changes.helpers import BASIC, basic_subscription, now_minute

pytestmark = pytest.mark.django_db


def page(subscription) -> str:
    return f"/orders/subscriptions/{subscription.account_id}/"


def wizard(subscription) -> str:
    return f"/imports/changes/{subscription.account_id}/"


def choose(**values) -> dict:
    data = {"kind": "quantity", "when": "at", "schedule_at": "", "schedule_at_tz": "UTC", "quantity": "",
            "billing_frequency": "", "term": "", "service": "", "auto_renew": "", "step": "review"}
    data.update({key: str(value) for key, value in values.items()})
    return data


def test_the_page_shows_the_section_and_the_wizard_opens(abbie_client, demo):
    subscription = basic_subscription(demo)
    html = abbie_client.get(page(subscription)).content.decode()
    assert "SCHEDULED CHANGES" in html and wizard(subscription) in html
    response = abbie_client.get(wizard(subscription))
    assert response.status_code == 200
    assert 'name="quantity"' in response.content.decode()


def test_review_then_schedule_quantity_up(abbie_client, demo):
    subscription = basic_subscription(demo, quantity=1)
    due = (now_minute() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    review = abbie_client.post(wizard(subscription), choose(quantity=3, schedule_at=due))
    html = review.content.decode()
    assert review.status_code == 200
    assert f"Quantity 1 → 3 on {due} UTC" in html
    assert "Price effect" in html and "12.0435" in html  # 2 seats more × 6.02175
    assert not SubscriptionChange.objects.exists()
    done = abbie_client.post(wizard(subscription), choose(quantity=3, schedule_at=due, step="schedule"), follow=True)
    html = done.content.decode()
    assert f"Change scheduled: Quantity 1 → 3 on {due} UTC." in html
    change = SubscriptionChange.objects.get()
    assert change.status == "pending" and f"Quantity 1 → 3 on {due} UTC" in html
    assert ImportJob.objects.get(rows__change=change).source == "change"


def test_a_mid_term_reduction_is_refused_on_the_page_with_the_reason(abbie_client, demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=30)
    response = abbie_client.post(wizard(subscription), choose(quantity=8))
    assert response.status_code == 400
    assert "Seats can be reduced only at renewal or in the 7 days after purchase or renewal (until" in response.content.decode()
    assert not SubscriptionChange.objects.exists()


def test_terms_not_accepted_yet_are_shown_on_the_review_and_accepted_with_the_change(abbie_client, demo):
    """ERITECH's Business Basic in the demo: ABBIE BOX never accepted its terms. The review shows them; scheduling
    asks to accept them, then accepts them for the price list and schedules the change, in one go."""
    subscription = basic_subscription(demo, quantity=1)
    demo.abbie_price_list.acceptances.filter(service__code=BASIC).delete()
    review = abbie_client.post(wizard(subscription), choose(quantity=3))
    html = review.content.decode()
    assert review.status_code == 200
    assert "The terms and conditions of (NCE) Microsoft 365 Business Basic are not yet accepted for your price list." in html
    assert "SPECIAL PRODUCT TERMS" in html and 'name="accept_terms"' in html
    refused = abbie_client.post(wizard(subscription), choose(quantity=3, step="schedule"))
    assert refused.status_code == 400
    assert "Accept the terms and conditions above to schedule the change." in refused.content.decode()
    assert not SubscriptionChange.objects.exists()
    assert not TermsAcceptance.objects.filter(service__code=BASIC).exists()

    done = abbie_client.post(wizard(subscription), choose(quantity=3, step="schedule", accept_terms="on"), follow=True)
    assert "Change scheduled: Quantity 1 → 3 on" in done.content.decode()
    assert SubscriptionChange.objects.get().quantity == 3
    acceptance = TermsAcceptance.objects.get(price_list=demo.abbie_price_list, service__code=BASIC)
    assert acceptance.accepted_by == demo.admin_abbie
    assert AuditLogEntry.objects.filter(action="terms.accepted", company=demo.eritech).exists()
    # Accepted now: the next change's review asks nothing.
    assert 'name="accept_terms"' not in abbie_client.post(wizard(subscription), choose(kind="auto_renew", auto_renew="off")).content.decode()


def test_the_terms_to_accept_read_in_spanish(abbie_client, demo):
    subscription = basic_subscription(demo, quantity=1)
    demo.abbie_price_list.acceptances.filter(service__code=BASIC).delete()
    abbie_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    html = abbie_client.post(wizard(subscription), choose(quantity=3)).content.decode()
    assert "Los términos y condiciones de (NCE) Microsoft 365 Business Basic aún no se han aceptado" in html
    assert "Acepto estos términos y condiciones" in html
    refused = abbie_client.post(wizard(subscription), choose(quantity=3, step="schedule")).content.decode()
    assert "Acepte los términos y condiciones indicados arriba para programar el cambio." in refused


def test_the_replace_confirmation_shows_both(abbie_client, demo):
    subscription = basic_subscription(demo, quantity=10)
    abbie_client.post(wizard(subscription), choose(quantity=8, when="renewal", step="schedule"))
    first = SubscriptionChange.objects.get()
    review = abbie_client.post(wizard(subscription), choose(quantity=6, when="renewal", step="schedule"))
    html = review.content.decode()
    assert "Replace it?" in html and "Quantity 10 → 8 at renewal" in html and "Quantity 10 → 6 at renewal" in html
    assert SubscriptionChange.objects.count() == 1
    abbie_client.post(wizard(subscription), choose(quantity=6, when="renewal", step="schedule", replace="on"))
    first.refresh_from_db()
    assert first.status == "replaced"
    assert SubscriptionChange.objects.get(status="pending").quantity == 6


def test_cancel_from_the_page(abbie_client, demo):
    subscription = basic_subscription(demo, quantity=1)
    due = (now_minute() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    abbie_client.post(wizard(subscription), choose(quantity=3, schedule_at=due, step="schedule"))
    change = SubscriptionChange.objects.get()
    response = abbie_client.post(f"/imports/changes/{subscription.account_id}/{change.pk}/cancel/", follow=True)
    assert "Change cancelled" in response.content.decode()
    change.refresh_from_db()
    assert change.status == "cancelled"


def test_another_resellers_subscription_is_404(client, demo):
    subscription = basic_subscription(demo)
    client.force_login(demo.admin_andes)
    assert client.get(wizard(subscription)).status_code == 404
    assert client.post(wizard(subscription), choose(quantity=3)).status_code == 404


def test_my_imports_lists_the_change_described_cancellable_and_reschedulable(abbie_client, demo):
    subscription = basic_subscription(demo, quantity=1)
    due = (now_minute() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    abbie_client.post(wizard(subscription), choose(quantity=3, schedule_at=due, step="schedule"))
    job = ImportJob.objects.get(source="change")
    html = abbie_client.get("/imports/?source=change").content.decode()
    assert f"Quantity 1 → 3 on {due} UTC" in html and "Scheduled change" in html
    assert f"/imports/{job.pk}/cancel/" in html and f"/imports/{job.pk}/reschedule/" in html
    later = (now_minute() + dt.timedelta(hours=2))
    response = abbie_client.post(f"/imports/{job.pk}/reschedule/", {"due_at": later.strftime("%Y-%m-%d %H:%M"), "due_at_tz": "UTC"})
    assert response.status_code in (200, 302)
    change = SubscriptionChange.objects.get()
    job.refresh_from_db()
    assert job.due_at == change.due_at == later
