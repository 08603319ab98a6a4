"""Every call the process's connector makes is recorded (catalog.models.VendorCall), with the company it was made for."""

import pytest

from catalog.integrations import get_integration
from catalog.integrations.calls import calls_for
from catalog.integrations.partner_center import Done, Refused
from catalog.models import VendorCall

pytestmark = pytest.mark.django_db


def test_a_call_is_recorded_with_its_company_correlation_id_and_result(vendor, demo):
    customer = vendor.customer()
    client = get_integration("microsoft").connector()
    eritech = demo.eritech
    with calls_for(eritech.pk):
        found = client.customer_get(customer["id"])
        missing = client.customer_get("00000000-0000-4000-8000-000000000000")
    assert isinstance(found, Done) and found.result.id == customer["id"]
    assert isinstance(missing, Refused)
    calls = list(VendorCall.objects.filter(company=eritech).order_by("id"))
    assert [(c.operation, c.outcome, c.status_code) for c in calls] == [
        ("customer_get", "done", 200), ("customer_get", "refused", 404),
    ]
    assert calls[0].correlation_id == found.correlation_id and calls[0].integration == "microsoft"


def test_a_call_outside_calls_for_is_recorded_without_a_company(vendor, db):
    get_integration("microsoft").connector().domain_available("nobody-has-this-one.onmicrosoft.com")
    call = VendorCall.objects.get()
    assert call.company is None and call.operation == "domain_available" and call.outcome == "done"


def test_an_order_goes_to_the_vendor_only_with_send_to_backend_on_and_microsoft_enabled(vendor, settings, demo):
    from catalog.models import Service
    from devtools.demo import BASIC
    from orders.models import Order
    from orders.validation import order_goes_to_vendor

    order = Order(company=demo.eritech, service=Service.objects.select_related("vendor").get(code=BASIC), send_to_backend=True)
    assert order_goes_to_vendor(order)
    order.send_to_backend = False
    assert not order_goes_to_vendor(order)
    order.send_to_backend, settings.MICROSOFT_ENABLED = True, False
    assert not order_goes_to_vendor(order)
