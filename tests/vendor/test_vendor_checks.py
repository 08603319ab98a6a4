"""The fifth check asks the vendor (issue 25, point 4), through the Partner Center sandbox over real HTTP:
one implementation (orders.validation.order_vendor_problems) behind the Order review's pre-check, the
API's warnings and bulk product lines. The sandbox holds the demo's tenant from its seed
(sandbox/demo_customers.json); each test makes up its own other tenants and domains."""

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.integrations import VendorWait
from catalog.integrations.microsoft import (
    NOT_ASKED_BOUNDS,
    TENANT_DOMAIN_TAKEN_AT_MICROSOFT,
    TENANT_NOT_THIS_COMPANYS_DOMAIN,
    TENANT_NOT_THIS_COMPANYS_NAME,
)
from catalog.integrations.partner_center import REFUSED_TENANT_NOT_FOUND
from catalog.models import VendorCall
from core.api.idempotency import HEADER
from core.models import IdempotencyRecord
from core.stored_messages import rendered, stored
from devtools.demo import BASIC, ERITECH_TENANT_ID, TENANT
from imports.bulk.services import imports_bulk_start
from imports.models import ImportJob
from orders.models import Order, Subscription
from orders.validation import order_vendor_problems, orders_vendor_problems
from tests.api.conftest import client_for, token_for
from tests.imports.bulk_helpers import csv_bytes, lines_for
from tests.orders.conftest import basic, configured_draft, new_draft, step_url  # noqa: F401 (the wizard's fixtures)

pytestmark = pytest.mark.django_db

NOT_FOUND = rendered(stored(REFUSED_TENANT_NOT_FOUND))
API_URL = "/api/v1/companies/466158/scheduled-provisionings/"


def _now_text() -> str:
    return timezone.now().strftime("%Y-%m-%d %H:%M")


def _hold_tenant(company, tenant_id: str, *, domain: str | None = "eritechperu.onmicrosoft.com") -> None:
    """The company's tenant subscription now names `tenant_id` (the local check passes for it)."""
    attributes = {"tenant_id": tenant_id, **({"domain": domain} if domain else {})}
    Subscription.objects.filter(account_id=466159).update(company=company, attributes=attributes)


def _order(demo, *, code=BASIC, send_to_backend=True, **config) -> Order:
    service = demo.service(code)
    service = type(service).objects.select_related("vendor").get(pk=service.pk)
    return Order(company=demo.eritech, service=service, send_to_backend=send_to_backend, vendor_config=config)


def _unknown_tenant() -> str:
    return str(uuid.uuid4())


# --- The rule, asked directly ----------------------------------------------------------------------


def test_the_demo_tenant_is_known_and_eritechs(vendor, demo):
    assert order_vendor_problems(_order(demo, microsoft_tenant_id=ERITECH_TENANT_ID)) == []
    call = VendorCall.objects.get()
    assert (call.operation, call.outcome, call.company_id) == ("customer_get", "done", demo.eritech.pk)


def test_a_tenant_microsoft_does_not_know_is_refused(vendor, demo):
    tenant = _unknown_tenant()
    _hold_tenant(demo.eritech, tenant)
    assert [rendered(r) for r in order_vendor_problems(_order(demo, microsoft_tenant_id=tenant))] == [NOT_FOUND]


def test_a_tenant_of_another_domain_is_not_this_companys(vendor, demo):
    other = vendor.customer()  # Microsoft knows it, under another domain than eritech's tenant subscription holds
    _hold_tenant(demo.eritech, other["id"])
    reasons = order_vendor_problems(_order(demo, microsoft_tenant_id=other["id"]))
    assert reasons == [stored(TENANT_NOT_THIS_COMPANYS_DOMAIN, tenant=other["id"], domain="eritechperu.onmicrosoft.com")]


def test_without_a_domain_held_the_company_name_decides(vendor, demo):
    customer = vendor.customer()  # companyName "ERITECH PERU S.A." (tests.vendor_sandbox)
    _hold_tenant(demo.eritech, customer["id"], domain=None)
    assert order_vendor_problems(_order(demo, microsoft_tenant_id=customer["id"])) == []
    demo.eritech.name = "Norte Digital S.A.C."
    assert order_vendor_problems(_order(demo, microsoft_tenant_id=customer["id"])) == [
        stored(TENANT_NOT_THIS_COMPANYS_NAME, tenant=customer["id"])
    ]


def test_a_new_tenants_domain_taken_or_free(vendor, demo):
    taken = order_vendor_problems(_order(demo, code=TENANT, tenant_domain="eritechperu"))  # the seed's
    assert taken == [stored(TENANT_DOMAIN_TAKEN_AT_MICROSOFT, domain="eritechperu.onmicrosoft.com")]
    free = order_vendor_problems(_order(demo, code=TENANT, tenant_domain=f"free{uuid.uuid4().hex[:12]}"))
    assert free == []
    assert list(VendorCall.objects.values_list("operation", flat=True)) == ["domain_available"] * 2


def test_sandbox_down_is_a_wait_not_a_failure(vendor, demo):
    vendor.faults(down=True)
    answer = order_vendor_problems(_order(demo, microsoft_tenant_id=ERITECH_TENANT_ID))
    assert isinstance(answer, VendorWait) and "503" in answer.reason


@pytest.mark.parametrize("off", ["microsoft", "send_to_backend"])
def test_no_call_when_microsoft_is_off_or_send_to_backend_is_off(vendor, demo, settings, off):
    if off == "microsoft":
        settings.MICROSOFT_ENABLED = False
    order = _order(demo, send_to_backend=off != "send_to_backend", microsoft_tenant_id=_unknown_tenant())
    assert order_vendor_problems(order) == []
    assert VendorCall.objects.count() == 0


def test_many_orders_ask_once_per_tenant_and_within_bounds(vendor, demo, monkeypatch):
    orders = [_order(demo, microsoft_tenant_id=ERITECH_TENANT_ID) for _ in range(30)]
    assert orders_vendor_problems(orders) == [[]] * 30
    assert VendorCall.objects.count() == 1
    # Past the distinct questions a request may ask, the rest are not asked: checked at the due time.
    monkeypatch.setattr("catalog.integrations.asking.MAX_QUESTIONS", 2)
    answers = orders_vendor_problems([_order(demo, microsoft_tenant_id=_unknown_tenant()) for _ in range(3)])
    assert [a if isinstance(a, VendorWait) else "asked" for a in answers] == ["asked", "asked", VendorWait(NOT_ASKED_BOUNDS)]
    assert VendorCall.objects.count() == 3


# --- The Order review ------------------------------------------------------------------------------


def _review(abbie_client, configured_draft, tenant: str) -> str:
    order = configured_draft(microsoft_tenant_id=tenant, billing_start_date=_now_text())
    response = abbie_client.get(step_url(order, "review"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_order_review_names_microsofts_refusal(vendor, demo, abbie_client, configured_draft):
    tenant = _unknown_tenant()
    _hold_tenant(demo.eritech, tenant)
    page = _review(abbie_client, configured_draft, tenant)
    precheck = page.split('wz-precheck"')[1].split("</div>")[0]
    assert NOT_FOUND in precheck
    assert VendorCall.objects.filter(operation="customer_get").count() == 1


def test_the_order_review_passes_for_the_demo_tenant(vendor, demo, abbie_client, configured_draft):
    page = _review(abbie_client, configured_draft, ERITECH_TENANT_ID)
    assert "All checks that run at the scheduled time pass today." in page


def test_the_order_review_says_microsoft_could_not_be_asked_without_failing(vendor, demo, abbie_client, configured_draft):
    order = configured_draft(microsoft_tenant_id=ERITECH_TENANT_ID, billing_start_date=_now_text())
    vendor.faults(down=True)
    page = abbie_client.get(step_url(order, "review")).content.decode()
    assert "Microsoft could not be asked now (" in page
    assert "the check runs again at the scheduled time." in page
    assert "The checks that could run today pass." in page
    # Not a failure: the first click schedules it, no "Schedule anyway".
    response = abbie_client.post(
        reverse("imports:schedule_provisioning", kwargs={"order_uuid": order.uuid}), {"scheduled_for": ""}
    )
    assert response.status_code == 302 and ImportJob.objects.count() == 1


# --- The API ---------------------------------------------------------------------------------------


def _in(minutes: int) -> str:
    return (timezone.now() + dt.timedelta(minutes=minutes)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_the_api_warns_with_microsofts_refusal_and_replays_it(vendor, demo):
    tenant = _unknown_tenant()
    _hold_tenant(demo.eritech, tenant)
    client = client_for(token_for(demo.admin_abbie))
    body = {"product_code": BASIC, "quantity": 1, "accept_terms": True, "schedule_at": _in(120),
            "vendor_fields": {"microsoft_tenant_id": tenant}}
    key = {f"HTTP_{HEADER.upper().replace('-', '_')}": "vendor-check-1"}
    response = client.post(API_URL, body, format="json", **key)
    assert response.status_code == 201, response.json()
    assert response.json()["warnings"] == [NOT_FOUND]
    assert IdempotencyRecord.objects.get().response_body["warnings"] == [NOT_FOUND]
    replay = client.post(API_URL, body, format="json", **key)
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["warnings"] == [NOT_FOUND]
    assert VendorCall.objects.count() == 1


def test_the_api_passes_for_the_demo_tenant_and_warns_when_microsoft_is_down(vendor, demo):
    client = client_for(token_for(demo.admin_abbie))
    ok = client.post(API_URL, {"product_code": BASIC, "quantity": 1, "accept_terms": True, "schedule_at": _in(120)}, format="json")
    assert ok.status_code == 201 and ok.json()["warnings"] == []
    vendor.faults(down=True)
    down = client.post(API_URL, {"product_code": BASIC, "quantity": 2, "accept_terms": True, "schedule_at": _in(120)}, format="json")
    assert down.status_code == 201
    [warning] = down.json()["warnings"]
    assert warning.startswith("Microsoft could not be asked now (") and ImportJob.objects.count() == 2


# --- Bulk product lines ----------------------------------------------------------------------------


def _bulk(demo, *tenants: str):
    rows = lines_for(ImportJob.AccountType.PRODUCTS, *[
        {"Parent Account Id": "466158", "Product code": BASIC, "Microsoft Tenant Id": tenant, "Subscription Name": f"Line {n}"}
        for n, tenant in enumerate(tenants)
    ])
    return imports_bulk_start(
        user=demo.admin_abbie, account_type=ImportJob.AccountType.PRODUCTS, file_name="vendor.csv",
        content=csv_bytes(rows), due_at=None, accept_terms=True,
    )


def test_a_bulk_line_with_a_tenant_microsoft_does_not_know_is_refused(vendor, demo):
    unknown = _unknown_tenant()
    result = _bulk(demo, ERITECH_TENANT_ID, unknown, ERITECH_TENANT_ID)
    assert result.job is None
    assert result.errors == [f"Line 3: {NOT_FOUND}"]
    # One question per distinct tenant, not one per line.
    assert VendorCall.objects.count() == 2


def test_bulk_lines_of_the_demo_tenant_pass_and_microsoft_down_is_a_warning(vendor, demo):
    assert _bulk(demo, ERITECH_TENANT_ID, ERITECH_TENANT_ID).job is not None
    vendor.faults(down=True)
    result = _bulk(demo, ERITECH_TENANT_ID)
    assert result.job is not None and result.errors == []
    [warning] = result.warnings
    assert warning.startswith("Line 2: Microsoft could not be asked now (")
