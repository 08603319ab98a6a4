"""POST /companies/{account_id}/scheduled-provisionings/: the wizard in one request, idempotent,
and every bad input answered with the right status, a clear message, and nothing written."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from catalog.models import TermsAcceptance
from core.api.idempotency import KEY_REUSED
from devtools.demo import BASIC, KIOSK, STANDARD
from imports.models import ImportJob, Notification
from orders.models import Order
from orders.validation import SCHEDULE_IN_PAST, SCHEDULE_TOO_FAR

URL = "/api/v1/companies/466158/scheduled-provisionings/"


def _in(minutes: int) -> str:
    return (timezone.now() + dt.timedelta(minutes=minutes)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _basic(**extra) -> dict:
    return {"product_code": BASIC, "quantity": 3, "accept_terms": True, "schedule_at": _in(120), **extra}


def _counts() -> tuple:
    return (Order.objects.count(), ImportJob.objects.count(), TermsAcceptance.objects.count(), Notification.objects.count())


def test_schedules_a_business_basic_for_eritech(demo, abbie):
    schedule_at = _in(120)
    response = abbie.post(URL, _basic(schedule_at=schedule_at, subscription_name="Sales team"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    job = ImportJob.objects.get()
    assert (body["id"], body["status"], body["source"]) == (job.pk, "pending", "scheduled")
    assert body["name"] == "(NCE) Microsoft 365 Business Basic(Microsoft)"
    assert body["schedule_at"] == schedule_at
    assert body["warnings"] == []
    assert body["rows"][0]["product_code"] == BASIC
    order = Order.objects.get()
    assert (order.status, order.quantity, order.subscription_name) == (Order.Status.SUBMITTED, 3, "Sales team")
    assert (order.billing_frequency, order.term) == ("monthly", "P1Y")  # the wizard's default
    assert order.vendor_config["microsoft_tenant_id"] == "e0d72b05-fb92-4d65-9424-7b58ea99d5d3"
    # accept_terms recorded the acceptance for the whole price list, as the wizard's Accept does.
    assert TermsAcceptance.objects.filter(service__code=BASIC, price_list=demo.abbie_price_list).exists()


def test_empty_schedule_at_means_as_soon_as_possible(demo, abbie):
    before = timezone.now()
    response = abbie.post(URL, {"product_code": KIOSK, "quantity": 1, "schedule_at": ""}, format="json")
    assert response.status_code == 201, response.json()
    assert before <= ImportJob.objects.get().due_at <= timezone.now()


def test_the_same_idempotency_key_and_body_returns_the_first_answer(demo, abbie):
    payload = _basic()
    first = abbie.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    counts = _counts()
    again = abbie.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert _counts() == counts


def test_the_same_key_with_another_body_is_409_and_writes_nothing(demo, abbie):
    abbie.post(URL, _basic(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    counts = _counts()
    response = abbie.post(URL, _basic(quantity=4), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 409
    assert response.json() == {"detail": str(KEY_REUSED), "errors": {}}
    assert _counts() == counts


def test_a_key_is_per_user_and_expires_after_24_hours(demo, abbie, andes):
    from freezegun import freeze_time

    payload = _basic(schedule_at="")
    assert abbie.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 201
    with freeze_time(timezone.now() + dt.timedelta(hours=25)):
        second = abbie.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert ImportJob.objects.count() == 2


def test_a_refused_request_is_not_remembered_under_its_key(demo, abbie):
    bad = abbie.post(URL, _basic(quantity=0), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert bad.status_code == 400
    good = abbie.post(URL, _basic(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert good.status_code == 201


BAD_INPUTS = [
    # (name, body, status, field, message or None)
    ("wrong type: quantity as text", _basic(quantity="3"), 400, "quantity", "Must be a whole number, e.g. 1."),
    ("wrong type: quantity as boolean", _basic(quantity=True), 400, "quantity", "Must be a whole number, e.g. 1."),
    ("wrong type: accept_terms as text", _basic(accept_terms="yes"), 400, "accept_terms", "Must be true or false."),
    ("wrong type: product_code as number", _basic(product_code=1), 400, "product_code", "Must be a string."),
    ("unknown field", _basic(colour="blue"), 400, "colour", "Unknown field."),
    ("unknown vendor field", _basic(vendor_fields={"tenant": "x"}), 400, "vendor_fields.tenant", "Unknown field."),
    ("missing product_code", {"quantity": 1}, 400, "product_code", None),
    ("missing quantity", {"product_code": KIOSK}, 400, "quantity", "Quantity is required."),
    ("quantity too small", _basic(quantity=0), 400, "quantity", "Quantity must be at least 1."),
    ("past schedule_at", _basic(schedule_at="2020-01-01T10:00:00Z"), 400, "schedule_at", str(SCHEDULE_IN_PAST)),
    ("schedule_at too far", _basic(schedule_at="2999-01-01T10:00:00Z"), 400, "schedule_at", str(SCHEDULE_TOO_FAR)),
    ("malformed schedule_at", _basic(schedule_at="tomorrow 10am"), 400, "schedule_at", None),
    ("unknown product code", _basic(product_code="NOPE-1"), 400, "product_code", "No service has the product code NOPE-1."),
    ("terms not accepted", _basic(accept_terms=False), 400, "accept_terms", "Accept the Terms and Conditions to continue."),
    ("bad tenant id", _basic(vendor_fields={"microsoft_tenant_id": "nope"}), 400, "vendor_fields.microsoft_tenant_id",
     "Microsoft Tenant Id must be a GUID, e.g. e0d72b05-fb92-4d65-9424-7b58ea99d5d3."),
    # The bulk files' message, naming the valid keys (catalog.billing.billing_type_parse: issue 24).
    ("bad billing type", _basic(billing_type="weekly:P9Y"), 400, "billing_type",
     "weekly:P9Y is not a billing type of this service; use one of: "
     "monthly:P1M (Monthly (with 1-month commitment) - P1M); monthly:P1Y (Monthly (with 1-year commitment) - P1Y)."),
    ("malformed billing start date", _basic(billing_start_date="someday"), 400, "billing_start_date",
     "Enter the billing start date as YYYY-MM-DD HH:MM, e.g. 2024-07-18 22:01."),
    ("a JSON list", [1, 2], 400, "non_field_errors", None),
]


@pytest.mark.parametrize("name, body, status, field, message", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_refused_with_the_pages_message_and_writes_nothing(demo, abbie, name, body, status, field, message):
    counts = _counts()
    response = abbie.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=f"bad-{name}")
    assert response.status_code == status, response.json()
    payload = response.json()
    assert set(payload) == {"detail", "errors"} and payload["detail"]
    assert field in payload["errors"], payload
    if message:
        assert payload["errors"][field] == [message]
    assert _counts() == counts


def test_malformed_json_is_400(demo, abbie):
    counts = _counts()
    response = abbie.post(URL, data='{"product_code": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The request body is not valid JSON")
    assert _counts() == counts


def test_a_body_that_is_not_json_is_415(demo, abbie):
    response = abbie.post(URL, data="product_code=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert set(response.json()) == {"detail", "errors"}


def test_a_body_over_one_megabyte_is_413(demo, abbie):
    counts = _counts()
    big = json.dumps(_basic(subscription_name="x" * (1024 * 1024)))
    response = abbie.post(URL, data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is larger than 1048576 bytes."
    assert _counts() == counts


def test_a_company_outside_the_subtree_is_404_and_writes_nothing(demo, andes):
    counts = _counts()
    response = andes.post(URL, _basic(), format="json")
    assert response.status_code == 404
    assert _counts() == counts


def test_a_reseller_itself_cannot_get_services(demo, abbie):
    response = abbie.post("/api/v1/companies/410002/scheduled-provisionings/", _basic(), format="json")
    assert response.status_code == 400
    assert "customer companies" in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_a_standard_without_a_tenant_is_scheduled_with_a_warning(demo, abbie):
    """The pre-check warns (as the Order review does); the due-time run decides."""
    response = abbie.post(
        "/api/v1/companies/466201/scheduled-provisionings/",
        {"product_code": STANDARD, "quantity": 1, "vendor_fields": {"microsoft_tenant_id": "e0d72b05-fb92-4d65-9424-7b58ea99d5d3"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert any("Required subscription missing" in warning for warning in response.json()["warnings"])
