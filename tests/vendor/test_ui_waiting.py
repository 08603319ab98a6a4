"""A job waiting for the vendor, as people see it (issue 25, point 5): My imports (list, details, the
live refresh), the API's imports resource and its status filter, and the subscription page and API."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from freezegun import freeze_time

from core.stored_messages import stored
from imports.jobs.waiting import NEXT_TRY, WAITING_FOR, WAITING_NEXT_TRY
from imports.models import ImportJob, VendorOrder
from orders.models import Subscription
from tests.accounts.test_company_page import text_of
from tests.api.conftest import client_for, token_for
from tests.vendor.ui_helpers import failed_job, vendor_order_for, waiting_job

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
DUE = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)
NEXT = dt.datetime(2024, 7, 22, 15, 42, tzinfo=UTC)
MY_IMPORTS = "/imports/"
# The vendor's transient trouble as the engine stores it (core.stored_messages): shown in the reader's language.
THROTTLED = stored("Microsoft is busy right now (too many requests); the order is sent again later.")


@pytest.fixture
def waiting(demo):
    with freeze_time(DUE - dt.timedelta(hours=1)):
        job, order = waiting_job(demo, due_at=DUE, next_try=NEXT, last_error=stored(WAITING_FOR, vendor="Microsoft"))
    return job


def main_row(html: str, job) -> str:
    return re.search(rf'<tr class="imports-main" id="import-main-{job.pk}".*?</tr>', html, flags=re.S).group(0)


# --- My imports ------------------------------------------------------------------------------------


def test_my_imports_shows_waiting_for_microsoft_and_the_next_try(abbie_client, demo, waiting):
    html = abbie_client.get(MY_IMPORTS).content.decode()
    row = main_row(html, waiting)
    assert 'data-status="waiting"' in row
    assert '<span class="status waiting" title="Waiting for Microsoft, next try at 2024-07-22 15:42 UTC">Waiting for Microsoft</span>' in row
    assert '<small class="imports-next-try">next try at 2024-07-22 15:42 UTC</small>' in row
    # Not cancellable, not reschedulable (the model says so), so no X, no clock, no checkbox.
    assert "imports-cancel" not in row and "imports-reschedule" not in row and 'name="jobs"' not in row
    # The details say it in full, with the vendor's last reason.
    details = text_of(abbie_client.get(MY_IMPORTS))
    assert "Waiting for Microsoft, next try at 2024-07-22 15:42 UTC Last reason: Waiting for Microsoft" in details
    # It keeps refreshing (it can still change by itself).
    assert str(waiting.pk) in re.search(r'data-ids="([^"]*)"|ids=([0-9,]+)', html).group(0)


def test_the_status_filter_finds_waiting_jobs(abbie_client, demo, waiting):
    with freeze_time(DUE - dt.timedelta(hours=1)):
        other = failed_job(demo, due_at=DUE)[0]
    html = abbie_client.get(MY_IMPORTS, {"status": "waiting"}).content.decode()
    assert f'id="import-main-{waiting.pk}"' in html and f'id="import-main-{other.pk}"' not in html
    assert '<input type="checkbox" name="status" value="waiting">' in abbie_client.get(MY_IMPORTS).content.decode()


def test_the_reason_is_shown_in_spanish(abbie_client, demo, waiting):
    text = text_of(abbie_client.get(MY_IMPORTS, HTTP_ACCEPT_LANGUAGE="es"))
    assert "Esperando a Microsoft, próximo intento a las 2024-07-22 15:42 UTC" in text
    assert "Último motivo: Esperando a Microsoft" in text


def test_the_live_refresh_shows_the_waiting_state(abbie_client, demo, waiting):
    html = abbie_client.get(reverse("imports:live"), {"ids": str(waiting.pk)}).content.decode()
    assert "Waiting for Microsoft" in main_row(html, waiting)


def test_a_waiting_job_keeps_the_list_at_the_same_queries(abbie_client, demo, django_assert_max_num_queries):
    from tests.imports.helpers import schedule

    with freeze_time(DUE - dt.timedelta(hours=1)):
        schedule(demo, due_at=DUE)
        with django_assert_max_num_queries(16) as one:
            abbie_client.get(MY_IMPORTS)
        for _ in range(5):
            waiting_job(demo, due_at=DUE, next_try=NEXT)
        with django_assert_max_num_queries(len(one.captured_queries)):
            abbie_client.get(MY_IMPORTS)


# --- The API ---------------------------------------------------------------------------------------


def test_the_api_shows_status_waiting_and_the_vendor_object(demo, waiting):
    api = client_for(token_for(demo.admin_abbie))
    body = api.get("/api/v1/imports/", {"status": "waiting"}).json()
    assert [job["id"] for job in body["results"]] == [waiting.pk]
    job = body["results"][0]
    assert job["status"] == "waiting"
    assert job["vendor"] == {
        "status": "waiting", "vendor_name": "Microsoft", "next_try_at": "2024-07-22T15:42:00Z",
        "reason": "Waiting for Microsoft", "message": "Waiting for Microsoft, next try at 2024-07-22 15:42 UTC",
        "vendor_order_id": "", "vendor_subscription_id": "",
    }
    detail = api.get(f"/api/v1/imports/{waiting.pk}/").json()
    assert detail["vendor"]["status"] == "waiting"
    # A waiting job cannot be cancelled or rescheduled.
    assert api.post(f"/api/v1/imports/{waiting.pk}/cancel/").status_code == 409
    later = (dt.datetime.now(UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:00Z")
    assert api.post(f"/api/v1/imports/{waiting.pk}/reschedule/", {"schedule_at": later}, format="json").status_code == 409


def test_the_api_vendor_object_of_a_refused_and_a_done_job(demo):
    api = client_for(token_for(demo.admin_abbie))
    refused = failed_job(demo, due_at=DUE, reason=stored("The vendor refused: %(code)s", code="800002"))[0]
    body = api.get(f"/api/v1/imports/{refused.pk}/").json()
    assert body["vendor"]["status"] == "refused" and body["vendor"]["reason"] == "The vendor refused: 800002"
    assert body["vendor"]["next_try_at"] is None and body["vendor"]["message"] == ""
    from tests.imports.helpers import schedule

    done = schedule(demo, due_at=DUE)
    vendor_order_for(done, now=DUE, outcome=VendorOrder.Outcome.DONE, vendor_order_id="ord-1", vendor_subscription_id="sub-1")
    vendor = api.get(f"/api/v1/imports/{done.pk}/").json()["vendor"]
    assert (vendor["status"], vendor["vendor_order_id"], vendor["vendor_subscription_id"]) == ("done", "ord-1", "sub-1")
    # A job nothing sent to a vendor: null.
    local = schedule(demo, due_at=DUE)
    assert api.get(f"/api/v1/imports/{local.pk}/").json()["vendor"] is None


def test_the_api_schema_documents_waiting_and_the_vendor_object(db):
    import yaml
    from django.test import Client

    schema = yaml.safe_load(Client().get("/api/schema/").content)
    components = schema["components"]["schemas"]
    assert "vendor" in components["ImportJob"]["properties"]
    assert set(components["VendorState"]["properties"]) >= {"status", "next_try_at", "reason", "vendor_order_id", "vendor_subscription_id"}
    assert "waiting" in str(schema["paths"]["/api/v1/imports/"]["get"]["parameters"])
    assert {"vendor_subscription_id", "vendor_order_id", "vendor_status"} <= set(components["Subscription"]["properties"])


# --- The subscription page and resource ------------------------------------------------------------


def test_the_subscription_page_and_resource_show_the_vendors_ids(abbie_client, demo):
    Subscription.objects.filter(account_id=493796).update(
        vendor_subscription_id="a1b2-sub", vendor_order_id="ord-77", vendor_status="active"
    )
    text = text_of(abbie_client.get(reverse("orders:subscription_detail", kwargs={"account_id": 493796})))
    assert "Vendor subscription ID a1b2-sub Vendor order ID ord-77 Vendor status active" in text
    spanish = text_of(abbie_client.get(reverse("orders:subscription_detail", kwargs={"account_id": 493796}), HTTP_ACCEPT_LANGUAGE="es"))
    assert "ID de suscripción del proveedor a1b2-sub" in spanish
    body = client_for(token_for(demo.admin_abbie)).get("/api/v1/subscriptions/493796/").json()
    assert (body["vendor_subscription_id"], body["vendor_order_id"], body["vendor_status"]) == ("a1b2-sub", "ord-77", "active")
    # A subscription provisioned locally: empty strings, and the page a dash.
    local = client_for(token_for(demo.admin_abbie)).get("/api/v1/subscriptions/466160/").json()
    assert (local["vendor_subscription_id"], local["vendor_order_id"], local["vendor_status"]) == ("", "", "")
