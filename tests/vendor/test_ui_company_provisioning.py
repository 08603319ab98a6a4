"""The company page's PROVISIONING tab (the vendor link, the vendor requests) and RECREATE PROVISIONING
(issue 25, point 5): what a reseller sees of a company's vendor provisioning and the button that re-sends it."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import AuditLogEntry
from catalog.models import VendorCall
from imports.company_provisioning.recreate import provisioning_recreate
from imports.company_provisioning.tab import CALLS_PAGE_SIZE, LINK_CONFIRMED, LINK_LOCAL, LINK_NOT_FOUND
from imports.company_provisioning.views import NOTHING_TO_RECREATE
from imports.engine.outbox_lane import outbox_senders_enqueue
from imports.models import ImportJob, VendorOrder
from orders.models import Subscription
from tests.accounts.test_company_page import text_of
from tests.vendor.ui_helpers import failed_job, vendor_call, waiting_job

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
ERITECH = 466158
TAB = f"/companies/{ERITECH}/?tab=provisioning"
T0 = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)


def recreate_url(account_id=ERITECH):
    return reverse("imports:recreate_provisioning", kwargs={"account_id": account_id})


# --- The tab ------------------------------------------------------------------------------------


def test_the_tab_shows_one_vendor_link_per_tenant_and_what_the_vendor_said_of_it(abbie_client, demo):
    text = text_of(abbie_client.get(TAB))
    assert "VENDOR LINK" in text
    # Every Microsoft subscription of ERITECH names the tenant: one link, its domain from the tenant subscription.
    assert text.count("e0d72b05-fb92-4d65-9424-7b58ea99d5d3") == 1
    assert f"Microsoft e0d72b05-fb92-4d65-9424-7b58ea99d5d3 eritechperu.onmicrosoft.com {LINK_LOCAL}" in text
    # The demo holds subscriptions the vendor provisioned (their term and changes: issue 27).
    assert "SUBSCRIPTIONS AT THE VENDOR" in text
    # The vendor check's last answer about the tenant gives the status (trouble says nothing about it).
    path = "/v1/customers/e0d72b05-fb92-4d65-9424-7b58ea99d5d3"
    vendor_call(demo.eritech, at=T0, operation="customer_get", path=path)
    vendor_call(demo.eritech, at=T0 + dt.timedelta(minutes=1), operation="customer_get", path=path,
                outcome=VendorCall.Outcome.TRANSIENT, status_code=503)
    assert f"eritechperu.onmicrosoft.com {LINK_CONFIRMED}" in text_of(abbie_client.get(TAB))
    vendor_call(demo.eritech, at=T0 + dt.timedelta(minutes=2), operation="customer_get", path=path,
                outcome=VendorCall.Outcome.REFUSED, status_code=404)
    assert f"eritechperu.onmicrosoft.com {LINK_NOT_FOUND}" in text_of(abbie_client.get(TAB))


def test_the_subscriptions_the_vendor_provisioned_show_its_ids_and_status(abbie_client, demo):
    Subscription.objects.filter(account_id=466159).update(
        vendor_subscription_id="sub-123", vendor_order_id="ord-9", vendor_status="active"
    )
    text = text_of(abbie_client.get(TAB))
    name = Subscription.objects.get(account_id=466159).display_name
    assert f"SUBSCRIPTIONS AT THE VENDOR Subscription Vendor subscription ID Vendor order ID Status {name} sub-123 ord-9 active" in text


def test_a_company_without_a_tenant_says_so(abbie_client, demo):
    text = text_of(abbie_client.get(f"/companies/{demo.norte.account_id}/?tab=provisioning"))
    assert "no Microsoft tenant yet" in text
    assert "No vendor requests for this company yet." in text


def test_the_vendor_requests_newest_first_with_time_operation_result_status_and_correlation_id(abbie_client, demo):
    vendor_call(demo.eritech, at=T0, operation="cart_create", correlation_id="corr-old")
    vendor_call(demo.eritech, at=T0 + dt.timedelta(minutes=5), operation="cart_checkout",
                outcome=VendorCall.Outcome.TRANSIENT, status_code=503, correlation_id="corr-new")
    vendor_call(demo.norte, at=T0, operation="other_company", correlation_id="corr-norte")
    html = abbie_client.get(TAB).content.decode()
    text = text_of(abbie_client.get(TAB))
    assert "2024-07-22 15:05 UTC cart_checkout Try again later 503 corr-new" in text
    assert "2024-07-22 15:00 UTC cart_create Done 201 corr-old" in text
    assert text.index("corr-new") < text.index("corr-old")
    assert "corr-norte" not in text and "other_company" not in text
    # The portal's date-time cell (UTC, the local line under it).
    assert '<td class="dt-cell"><time datetime="2024-07-22T15:05:00+00:00">2024-07-22 15:05 UTC</time>' in html


def test_the_vendor_requests_are_paged_with_the_portals_pager(abbie_client, demo):
    for minute in range(CALLS_PAGE_SIZE + 3):
        vendor_call(demo.eritech, at=T0 + dt.timedelta(minutes=minute), correlation_id=f"corr-{minute:02d}")
    first = text_of(abbie_client.get(TAB))
    assert f"corr-{CALLS_PAGE_SIZE + 2:02d}" in first and "corr-02" not in first
    assert "Page 1 of 2" in first
    html = abbie_client.get(TAB).content.decode()
    assert re.search(r'<a href="\?tab=provisioning&amp;page=2">Next', html)
    second = text_of(abbie_client.get(TAB + "&page=2"))
    assert "corr-00" in second and "corr-02" in second and "corr-03" not in second
    # A page number that is not one still answers a page.
    assert abbie_client.get(TAB + "&page=x'--").status_code == 200


def test_the_tab_reads_the_same_few_queries_for_one_call_or_many(abbie_client, demo, django_assert_max_num_queries):
    vendor_call(demo.eritech, at=T0)
    # The company page's reads (tests/accounts/test_company_page.py) + the tenants, the count, the page,
    # the vendors marked down (catalog.integrations.circuit).
    with django_assert_max_num_queries(17) as one:
        abbie_client.get(TAB)
    for minute in range(40):
        vendor_call(demo.eritech, at=T0 + dt.timedelta(minutes=minute))
    with django_assert_max_num_queries(len(one.captured_queries)):
        abbie_client.get(TAB)


def test_the_tab_of_a_company_outside_the_subtree_is_404(client, demo):
    client.force_login(demo.admin_andes)
    assert client.get(TAB).status_code == 404


def test_the_tab_says_when_a_vendor_is_marked_down_and_its_orders_parked(abbie_client, demo, settings):
    from catalog.integrations.circuit import circuit_answered, circuit_failed

    assert "unavailable" not in text_of(abbie_client.get(TAB))
    settings.VENDOR_CIRCUIT_FAILURES = 2
    circuit_failed("microsoft", now=T0, failures=2)
    assert "Microsoft is unavailable since 2024-07-22 15:00 UTC" in text_of(abbie_client.get(TAB))
    assert "Microsoft no está disponible desde" in text_of(abbie_client.get(TAB, HTTP_ACCEPT_LANGUAGE="es"))
    circuit_answered("microsoft", now=T0)
    assert "unavailable" not in text_of(abbie_client.get(TAB))


def test_the_tab_in_spanish(abbie_client, demo):
    vendor_call(demo.eritech, at=T0, outcome=VendorCall.Outcome.REFUSED, status_code=400)
    text = text_of(abbie_client.get(TAB, HTTP_ACCEPT_LANGUAGE="es"))
    for spanish in ("VÍNCULO CON EL PROVEEDOR", "SOLICITUDES AL PROVEEDOR", "Rechazado", "Id de correlación"):
        assert spanish in text, spanish


# --- RECREATE PROVISIONING ------------------------------------------------------------------------


def test_the_button_opens_a_confirm_dialog_and_a_confirm_page_without_javascript(abbie_client, demo):
    html = abbie_client.get(f"/companies/{ERITECH}/").content.decode()
    assert f'<a class="btn" href="{recreate_url()}" data-confirm-dialog="company-recreate-dialog">RECREATE PROVISIONING</a>' in html
    dialog = re.search(r'<dialog id="company-recreate-dialog".*?</dialog>', html, flags=re.S).group(0)
    assert f'action="{recreate_url()}"' in dialog and "csrfmiddlewaretoken" in dialog
    assert "Are you sure you want to recreate the provisioning of ERITECH PERU S.A.?" in dialog
    page = abbie_client.get(recreate_url())
    assert page.status_code == 200
    assert "Are you sure you want to recreate the provisioning of ERITECH PERU S.A.?" in text_of(page)


def test_nothing_to_re_send_is_a_clear_message(abbie_client, demo):
    response = abbie_client.post(recreate_url(), follow=True)
    assert response.redirect_chain[-1][0] == f"/companies/{ERITECH}/?tab=provisioning"
    assert str(NOTHING_TO_RECREATE % {"company": "ERITECH PERU S.A."}) in text_of(response)
    assert not AuditLogEntry.objects.filter(action="company.provisioning_recreated").exists()


@freeze_time("2024-07-22 15:10:00")
def test_waiting_vendor_orders_become_due_now_and_a_sender_is_enqueued(abbie_client, demo, django_capture_on_commit_callbacks):
    job, order = waiting_job(demo, due_at=T0, next_try=T0 + dt.timedelta(hours=1), last_error="503")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = abbie_client.post(recreate_url(), follow=True)
    order.refresh_from_db()
    assert order.next_attempt_at <= dt.datetime(2024, 7, 22, 15, 10, 1, tzinfo=UTC)  # the database's clock: now
    assert (order.status, order.outcome, order.attempts) == ("pending", "", 2)
    assert outbox_senders_enqueue in callbacks
    assert "1 order waiting for the vendor was sent again now." in text_of(response)
    entry = AuditLogEntry.objects.get(action="company.provisioning_recreated")
    assert (entry.company, entry.actor) == (demo.eritech, demo.admin_abbie)


def test_a_failed_vendor_provisioning_is_scheduled_again_as_soon_as_possible(abbie_client, demo):
    job, _order = failed_job(demo, due_at=T0, reason="The vendor refused the order.")
    # A job that failed our own checks (no vendor order) is the reseller's to fix: left alone.
    own_failure = failed_job(demo, due_at=T0)[0]
    VendorOrder.objects.filter(job=own_failure).delete()
    response = abbie_client.post(recreate_url(), follow=True)
    retry = ImportJob.objects.get(retry_of=job)
    assert (retry.status, retry.company, retry.created_by) == ("pending", demo.eritech, demo.admin_abbie)
    assert retry.rows.get().order.service == job.rows.get().order.service
    assert not ImportJob.objects.filter(retry_of=own_failure).exists()
    assert f"1 import that failed at the vendor was scheduled again as soon as possible: #{retry.pk}." in text_of(response)
    # Scheduled again once: a second click finds nothing left.
    again = abbie_client.post(recreate_url(), follow=True)
    assert str(NOTHING_TO_RECREATE % {"company": "ERITECH PERU S.A."}) in text_of(again)
    assert ImportJob.objects.filter(retry_of=job).count() == 1


def test_an_expired_one_too_and_the_audit_entry_names_both(demo):
    refused = failed_job(demo, due_at=T0)[0]
    expired = failed_job(demo, due_at=T0, outcome=VendorOrder.Outcome.EXPIRED, reason="Vendor unavailable.")[0]
    waiting_job(demo, due_at=T0, next_try=T0 + dt.timedelta(hours=1))
    result = provisioning_recreate(actor=demo.admin_abbie, company=demo.eritech)
    assert result.resent == 1
    assert sorted(job.retry_of_id for job in result.rescheduled) == [refused.pk, expired.pk]
    entry = AuditLogEntry.objects.get(action="company.provisioning_recreated")
    from core.stored_messages import rendered
    assert "1 vendor order(s) waiting for the vendor sent again now, 2 failed import(s) scheduled again" in rendered(entry.message)


def test_recreate_is_post_with_csrf_and_404_outside_the_subtree(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.admin_abbie)
    assert client.post(recreate_url()).status_code == 403
    other = Client()
    other.force_login(demo.admin_andes)
    failed_job(demo, due_at=T0)
    assert other.get(recreate_url()).status_code == 404
    assert other.post(recreate_url()).status_code == 404
    assert not ImportJob.objects.filter(retry_of__isnull=False).exists()
    assert other.put(recreate_url()).status_code in (404, 405)
