"""The NEW SERVICE wizard step by step through the test client, as admin@abbiebox.com on ERITECH PERU S.A."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import AuditLogEntry
from catalog.models import TermsAcceptance
from catalog.services import terms_accept
from devtools.demo import AZURE, ERITECH_TENANT_ID, STANDARD
from imports.models import ImportJob
from orders.models import Order
from django.utils import timezone

from orders.wizard import Wizard
from orders.services import TERMS_NOT_ACCEPTED_YET
from orders.views import INVOICE_NOTE

from .conftest import MANUAL_NOW, config_data, schedule_url, step_url

pytestmark = pytest.mark.django_db

STEP_LABELS = ["Select service", "Terms and Conditions", "Configuration", "Order review"]


def first_unfinished(order):
    order = type(order).objects.select_related("company", "service__vendor").get(pk=order.pk)
    return Wizard(order, now=timezone.now()).first_unfinished


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    """The flash messages a response queued (read without rendering the page they are shown on)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_new_service_creates_a_draft_and_opens_select_service(abbie_client, demo):
    response = abbie_client.post(reverse("orders:new", kwargs={"account_id": 466158}))
    order = Order.objects.get(created_by=demo.admin_abbie)
    assert order.status == Order.Status.DRAFT
    assert order.company == demo.eritech
    assert order.service is None
    assert response["Location"] == step_url(order, "select")


def test_new_service_is_post_only(abbie_client):
    response = abbie_client.get(reverse("orders:new", kwargs={"account_id": 466158}))
    assert response.status_code == 405
    assert not Order.objects.exists()


def test_new_service_needs_login(client, demo):
    response = client.post(reverse("orders:new", kwargs={"account_id": 466158}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Order.objects.exists()


def test_select_service_page_lists_the_price_list_with_a_detail_panel(abbie_client, new_draft, basic):
    order = new_draft()
    response = abbie_client.get(step_url(order, "select"))
    page = text(response)
    assert response.status_code == 200
    assert "<h1>Order service</h1>" in page
    assert 'class="wizard-steps"' in page
    for label in STEP_LABELS:
        assert label in page
    for name in ("(NCE) Microsoft 365 Business Basic", "(NCE) Exchange Online Kiosk", "Azure Plan",
                 "Microsoft Organization tenant"):
        assert name in page

    response = abbie_client.get(step_url(order, "select"), {"highlight": basic.pk})
    panel = text(response).split('class="card wz-detail"')[1]
    assert "(NCE) Microsoft 365 Business Basic" in panel
    assert "Microsoft" in panel
    assert "Communication &amp; Office" in panel
    for tag in ("Base subscription", "NCE", "PROMO", "E-Mail", "Cloud Storage", "File Management",
                "Audio-Video Conferencing"):
        assert f'<span class="tag">{tag}</span>' in panel
    assert "1 TB of cloud storage" in panel
    # Highlighting a service also selects its radio button.
    assert f'value="{basic.pk}" checked' in text(response)


def test_select_service_search_is_server_side(abbie_client, new_draft):
    order = new_draft()
    page = text(abbie_client.get(step_url(order, "select"), {"q": "kiosk"}))
    assert "(NCE) Exchange Online Kiosk" in page
    assert "(NCE) Microsoft 365 Business Basic" not in page.split('class="card wz-detail"')[0]
    # Tags, vendor and category are searched too.
    assert "Business Basic" in text(abbie_client.get(step_url(order, "select"), {"q": "promo"}))
    assert "Azure Plan" in text(abbie_client.get(step_url(order, "select"), {"q": "infrastructure"}))


@freeze_time(MANUAL_NOW)
def test_walk_the_whole_wizard_as_in_the_manual(abbie_client, new_draft, basic, demo):
    order = new_draft()

    # 1. Select service → Terms and Conditions (not yet accepted for ABBIE BOX's price list).
    response = abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    assert response["Location"] == step_url(order, "terms")
    order.refresh_from_db()
    assert order.service == basic

    # 2. Terms: the text, Accept, then the yellow bar.
    page = text(abbie_client.get(step_url(order, "terms")))
    assert "SPECIAL PRODUCT TERMS" in page
    assert "Microsoft New Commerce Experience" in page
    assert 'value="accept"' in page
    assert "You have accepted these Terms and Conditions." not in page
    response = abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    assert response["Location"] == step_url(order, "terms")
    page = text(abbie_client.get(step_url(order, "terms")))
    assert "You have accepted these Terms and Conditions." in page
    assert 'value="accept"' not in page
    response = abbie_client.post(step_url(order, "terms"), {"action": "next"})
    assert response["Location"] == step_url(order, "configure")

    # 3. Configuration: the manual's defaults.
    response = abbie_client.get(step_url(order, "configure"))
    form = response.context["form"]
    assert form["subscription_name"].value() == "(NCE) Microsoft 365 Business Basic"
    assert form["quantity"].value() == 1
    assert form["billing_type"].value() == "monthly:P1Y"
    assert dict(form.fields["billing_type"].choices) == {
        "monthly:P1M": "Monthly (with 1-month commitment) - P1M",
        "monthly:P1Y": "Monthly (with 1-year commitment) - P1Y",
    }
    assert form["microsoft_tenant_id"].value() == ERITECH_TENANT_ID
    assert form["send_to_backend"].value() is True
    assert form["notify_me"].value() is False
    assert form["is_billable"].value() is True
    # Now, rounded to the minute, in UTC (the reseller has no zone of its own yet).
    assert form["billing_start_date"].value() == dt.datetime(2024, 7, 18, 22, 1, tzinfo=dt.timezone.utc)
    page = text(response)
    for label in ("Order details", "Technical details", "Billing", "Subscription Name", "Quantity", "Billing Type",
                  "Subscription end date alignment", "Microsoft Tenant Id", "MPN ID (Reseller)", "Send to backend",
                  "Notify me", "Billing start date", "Is billable", "Contract ID", "QuoteId"):
        assert label in page
    assert 'value="2024-07-18 22:01"' in page and "<option selected>UTC</option>" in page
    assert f'value="{order.uuid}" readonly' in page

    response = abbie_client.post(step_url(order, "configure"), config_data())
    assert response["Location"] == step_url(order, "review")
    order.refresh_from_db()
    assert order.configured_at is not None
    assert (order.quantity, order.term, order.billing_frequency) == (1, "P1Y", "monthly")
    assert order.vendor_config == {"end_date_alignment": "", "microsoft_tenant_id": ERITECH_TENANT_ID, "mpn_id": ""}
    assert order.billing_start_date.isoformat() == "2024-07-18T22:01:00+00:00"

    # 4. Order review: the manual's figures.
    response = abbie_client.get(step_url(order, "review"))
    page = text(response)
    # The manual's boxes in cents, its table at the price list's precision (core.amounts' one rule).
    assert "4.82 $" in page and "57.81 $" in page and "6.02 $" in page and "72.26 $" in page
    assert "6.02175 $" in page and "72.261 $" in page
    assert "Monthly (with 1-year commitment) - P1Y" in page
    assert "1 (Quantity)" in page
    assert "Monthly fee" in page
    assert "Total (Monthly)" in page and "Total (12 month commitment)" in page
    assert "You will have 7 day cancellation window from the time of provisioning (with pro-rated credit)." in page
    assert "Price is protected for 1 year." in page
    assert str(INVOICE_NOTE) in page
    assert "Schedule provisioning" in page and 'name="scheduled_for_tz"' in page
    assert response.context["warnings"] == []

    response = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 10:00"})
    assert response["Location"] == reverse("imports:my_imports")
    order.refresh_from_db()
    assert order.status == Order.Status.SUBMITTED
    assert order.scheduled_for.isoformat() == "2024-08-01T10:00:00+00:00"
    job = ImportJob.objects.get()
    assert job.name == "(NCE) Microsoft 365 Business Basic(Microsoft)"
    assert job.status == ImportJob.Status.PENDING
    assert job.source == ImportJob.Source.SCHEDULED
    assert job.account_type == ImportJob.AccountType.PRODUCTS
    assert job.due_at == order.scheduled_for
    assert job.created_by == demo.admin_abbie
    row = job.rows.get()
    assert (row.order, row.parent_company) == (order, demo.eritech)

    assert messages_of(response) == ["Provisioning of (NCE) Microsoft 365 Business Basic scheduled for 2024-08-01 10:00 UTC."]


def test_terms_acceptance_is_recorded_at_price_list_level_and_audited(abbie_client, new_draft, basic, demo):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    acceptance = TermsAcceptance.objects.get(price_list=demo.abbie_price_list, service=basic)
    assert acceptance.accepted_by == demo.admin_abbie
    assert acceptance.terms == basic.terms
    entry = AuditLogEntry.objects.get(action="terms.accepted")
    assert entry.company == demo.eritech
    assert entry.actor == demo.admin_abbie
    assert "(NCE) Microsoft 365 Business Basic" in entry.message

    # The next order on the same price list skips the step: Select service leads straight to Configuration.
    other = new_draft()
    response = abbie_client.post(step_url(other, "select"), {"service": basic.pk})
    assert response["Location"] == step_url(other, "configure")


def test_next_is_refused_until_the_terms_are_accepted(abbie_client, new_draft, basic):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    response = abbie_client.post(step_url(order, "terms"), {"action": "next"}, follow=True)
    assert response.redirect_chain[-1][0] == step_url(order, "terms")
    assert str(TERMS_NOT_ACCEPTED_YET) in text(response)
    assert abbie_client.get(step_url(order, "configure"))["Location"] == step_url(order, "terms")


def test_terms_already_accepted_are_skipped_and_shown_done(abbie_client, new_draft, demo):
    standard = demo.service(STANDARD)  # ABBIE BOX accepted its terms in the seed
    order = new_draft()
    response = abbie_client.post(step_url(order, "select"), {"service": standard.pk})
    assert response["Location"] == step_url(order, "configure")
    response = abbie_client.get(step_url(order, "configure"))
    steps = {s["key"]: s for s in response.context["steps"]}
    assert steps["terms"]["done"] and steps["select"]["done"]
    assert steps["configure"]["current"]
    assert '<li class="done">' in text(response)
    # Coming back to the terms page shows them as accepted, with Next.
    page = text(abbie_client.get(step_url(order, "terms")))
    assert "You have accepted these Terms and Conditions." in page


def test_a_service_without_terms_skips_the_terms_step(abbie_client, new_draft, demo):
    order = new_draft()
    response = abbie_client.post(step_url(order, "select"), {"service": demo.service(AZURE).pk})
    assert response["Location"] == step_url(order, "configure")
    page = text(abbie_client.get(step_url(order, "configure")))
    assert "Microsoft Tenant Id" in page  # Microsoft vendor fields
    assert 'value="monthly:P1M"' in page  # its only billing type


@pytest.mark.parametrize("step", ["terms", "configure", "review"])
def test_later_steps_redirect_to_the_first_unfinished_one(abbie_client, new_draft, step):
    order = new_draft()
    response = abbie_client.get(step_url(order, step))
    assert response["Location"] == step_url(order, "select")


def test_first_unfinished_step_follows_the_draft(abbie_client, new_draft, basic, demo):
    order = new_draft()
    assert first_unfinished(order) == "select"
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    order.refresh_from_db()
    assert first_unfinished(order) == "terms"
    assert abbie_client.get(step_url(order, "review"))["Location"] == step_url(order, "terms")
    abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    assert first_unfinished(order) == "configure"
    assert abbie_client.get(step_url(order, "review"))["Location"] == step_url(order, "configure")
    abbie_client.post(step_url(order, "configure"), config_data())
    order.refresh_from_db()
    assert first_unfinished(order) == "review"
    assert abbie_client.get(step_url(order, "review")).status_code == 200


def test_back_and_resume_keep_what_was_entered(abbie_client, configured_draft, basic):
    order = configured_draft(quantity="3", contract_id="CT-77", mpn_id="123456", notify_me="on",
                             billing_type="monthly:P1M", subscription_name="Oficina Lima")
    # Back from the review to the configuration: the saved values, not the defaults.
    form = abbie_client.get(step_url(order, "configure")).context["form"]
    assert form["quantity"].value() == "3"
    assert form["contract_id"].value() == "CT-77"
    assert form["mpn_id"].value() == "123456"
    assert form["notify_me"].value() is True
    assert form["billing_type"].value() == "monthly:P1M"
    assert form["subscription_name"].value() == "Oficina Lima"
    # Back to Select service: the chosen service is still checked.
    page = text(abbie_client.get(step_url(order, "select")))
    assert f'value="{basic.pk}" checked' in page
    # Re-submitting the same service keeps the configuration.
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    order.refresh_from_db()
    assert order.configured_at is not None and order.quantity == 3
    # Resume later (a new session of the same user) right where it stands.
    abbie_client.logout()
    abbie_client.force_login(order.created_by)
    response = abbie_client.get(step_url(order, "review"))
    assert response.status_code == 200
    assert "Oficina Lima" in text(response)


def test_changing_the_service_resets_the_configuration(abbie_client, configured_draft, kiosk):
    order = configured_draft(quantity="4", contract_id="CT-1")
    response = abbie_client.post(step_url(order, "select"), {"service": kiosk.pk})
    assert response["Location"] == step_url(order, "configure")  # Kiosk terms accepted in the seed
    order.refresh_from_db()
    assert order.service == kiosk
    assert order.configured_at is None
    assert (order.quantity, order.contract_id, order.vendor_config, order.term) == (None, "", {}, "")
    assert abbie_client.get(step_url(order, "review"))["Location"] == step_url(order, "configure")
    form = abbie_client.get(step_url(order, "configure")).context["form"]
    assert form["subscription_name"].value() == "(NCE) Exchange Online Kiosk"
    assert form["quantity"].value() == 1


def test_unfinished_drafts_are_offered_for_resuming(abbie_client, new_draft, basic):
    first = new_draft()
    abbie_client.post(step_url(first, "select"), {"service": basic.pk})
    second = new_draft()
    page = text(abbie_client.get(step_url(second, "select")))
    assert "Your unfinished orders for this company" in page
    assert step_url(first, "select") in page


@freeze_time(MANUAL_NOW)
def test_review_lists_failing_due_time_checks_as_warnings_but_allows_scheduling(abbie_client, configured_draft, demo):
    order = configured_draft(microsoft_tenant_id="11111111-2222-3333-4444-555555555555")
    response = abbie_client.get(step_url(order, "review"))
    warnings = response.context["warnings"]
    assert warnings == ["Microsoft Tenant Id does not belong to a Microsoft Organization tenant of this company."]
    assert warnings[0] in text(response)
    # The first click asks for a confirmation naming the reasons (tests/orders/test_review_confirm.py);
    # "Schedule anyway" schedules it.
    response = abbie_client.post(schedule_url(order), {"scheduled_for": ""})
    assert response.status_code == 200 and ImportJob.objects.count() == 0
    response = abbie_client.post(
        schedule_url(order), {"scheduled_for": "", "confirm_failing": response.context["precheck_fingerprint"]}
    )
    assert response["Location"] == reverse("imports:my_imports")
    assert ImportJob.objects.count() == 1


@freeze_time(MANUAL_NOW)
def test_empty_schedule_time_means_as_soon_as_possible(abbie_client, configured_draft):
    order = configured_draft()
    abbie_client.post(schedule_url(order), {"scheduled_for": ""})
    job = ImportJob.objects.get()
    assert job.due_at.isoformat() == "2024-07-18T22:01:30+00:00"


def test_review_shows_the_price_in_force_today(abbie_client, configured_draft, basic, demo):
    from decimal import Decimal

    from catalog.models import PriceListItem

    order = configured_draft()
    with freeze_time("2024-09-15 08:00"):
        PriceListItem.objects.create(
            price_list=demo.abbie_price_list, service=basic, term="P1Y", billing_frequency="monthly",
            effective_from="2024-09-01", cost=Decimal("5"), selling_price=Decimal("6.5"),
        )
        page = text(abbie_client.get(step_url(order, "review")))
        assert "6.50 $" in page and "78.00 $" in page
    with freeze_time("2024-08-31 23:59"):
        page = text(abbie_client.get(step_url(order, "review")))
        assert "6.02175 $" in page


def test_terms_accepted_elsewhere_counts(abbie_client, new_draft, basic, demo):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    terms_accept(price_list=demo.abbie_price_list, service=basic, user=demo.admin_abbie, company=demo.eritech)
    assert abbie_client.get(step_url(order, "configure")).status_code == 200


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_the_review_page_reads_at_most_twelve_queries(abbie_client, configured_draft, django_assert_max_num_queries):
    """Session, user, the draft, the Wizard's facts (price list, items, acceptance, subscriptions,
    dependencies) and the page: the saved configuration is validated once, not once per question."""
    order = configured_draft()
    with django_assert_max_num_queries(12) as queries:
        response = abbie_client.get(step_url(order, "review"))
    assert response.status_code == 200
    print(f"review GET: {len(queries)} queries")
