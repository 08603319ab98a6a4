"""Staff's view of the vendor (issue 25, point 5): VendorCall read-only with its filters and search,
VendorOrder read-only with "Retry now", and a job's vendor orders on its admin page."""

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from catalog.models import VendorCall
from imports.engine.outbox_lane import outbox_senders_enqueue
from imports.models import VendorOrder
from tests.vendor.ui_helpers import failed_job, vendor_call, waiting_job

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)


def test_vendor_calls_list_filters_and_search(staff_client, demo):
    vendor_call(demo.eritech, at=T0, operation="cart_create", correlation_id="corr-eritech")
    vendor_call(demo.norte, at=T0, operation="order_get", outcome=VendorCall.Outcome.TRANSIENT, status_code=503,
                correlation_id="corr-norte")
    url = reverse("admin:catalog_vendorcall_changelist")
    html = staff_client.get(url).content.decode()
    assert "corr-eritech" in html and "corr-norte" in html
    for filter_ in ("outcome__exact", "integration", "operation", "company__id__exact"):
        assert f"?{filter_}=" in html or f"&amp;{filter_}=" in html, filter_
    only = staff_client.get(url, {"outcome__exact": "transient"}).content.decode()
    assert "corr-norte" in only and "corr-eritech" not in only
    found = staff_client.get(url, {"q": "corr-eritech"}).content.decode()
    assert "corr-eritech" in found and "corr-norte" not in found
    request_id = VendorCall.objects.get(correlation_id="corr-norte").request_id
    assert "corr-norte" in staff_client.get(url, {"q": request_id}).content.decode()
    assert staff_client.get(f"{url}?company__id__exact={demo.eritech.pk}").status_code == 200


def test_vendor_calls_are_read_only(staff_client, demo):
    call = vendor_call(demo.eritech, at=T0)
    assert staff_client.get(reverse("admin:catalog_vendorcall_add")).status_code == 403
    change = staff_client.get(reverse("admin:catalog_vendorcall_change", args=[call.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert staff_client.post(reverse("admin:catalog_vendorcall_delete", args=[call.pk]), {"post": "yes"}).status_code == 403
    assert VendorCall.objects.filter(pk=call.pk).exists()


@freeze_time("2024-07-22 15:10:00")
def test_vendor_order_retry_now_sends_a_waiting_one_again_at_once(staff_client, demo, django_capture_on_commit_callbacks):
    job, order = waiting_job(demo, due_at=T0, next_try=T0 + dt.timedelta(hours=2))
    refused = failed_job(demo, due_at=T0)[1]
    url = reverse("admin:imports_vendororder_changelist")
    assert staff_client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(url, {"action": "retry_now", "_selected_action": [order.pk, refused.pk]}, follow=True)
    assert "1 vendor order waiting for the vendor will be sent again with the next pass." in response.content.decode()
    order.refresh_from_db()
    refused.refresh_from_db()
    assert order.next_attempt_at <= dt.datetime(2024, 7, 22, 15, 10, 1, tzinfo=UTC) and order.outcome == ""
    # A refusal stays what it was: it is scheduled again with a new order, never re-opened.
    assert (refused.status, refused.outcome) == ("sent", "refused")
    assert outbox_senders_enqueue in callbacks
    # Read-only: no add, no delete.
    assert staff_client.get(reverse("admin:imports_vendororder_add")).status_code == 403
    assert staff_client.post(reverse("admin:imports_vendororder_delete", args=[order.pk]), {"post": "yes"}).status_code == 403


@freeze_time("2024-07-22 15:10:00")
def test_the_job_admin_shows_its_vendor_orders_and_retries_a_waiting_job(staff_client, demo):
    job, order = waiting_job(demo, due_at=T0, next_try=T0 + dt.timedelta(hours=2), last_error="HTTP 503 from Microsoft")
    VendorOrder.objects.filter(pk=order.pk).update(vendor_order_id="ord-xyz")
    html = staff_client.get(reverse("admin:imports_importjob_change", args=[job.pk])).content.decode()
    assert "ord-xyz" in html and "HTTP 503 from Microsoft" in html
    url = reverse("admin:imports_importjob_changelist")
    response = staff_client.post(url, {"action": "retry_vendor_now", "_selected_action": [job.pk]}, follow=True)
    assert "1 vendor order waiting for the vendor will be sent again" in response.content.decode()
    order.refresh_from_db()
    assert order.next_attempt_at <= dt.datetime(2024, 7, 22, 15, 10, 1, tzinfo=UTC)
