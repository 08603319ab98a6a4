"""Shared set-up for the wizard tests: the manual's demo data, a logged-in reseller, and step helpers."""

import pytest
from django.urls import reverse

from devtools.demo import BASIC, ERITECH_TENANT_ID, KIOSK
from orders.models import Order

# The moment of the manual's Configuration screenshot (Billing start date 2024-07-18 22:01).
MANUAL_NOW = "2024-07-18 22:01:30"


def step_url(order: Order, step: str) -> str:
    return reverse(f"orders:{step}", kwargs={"order_uuid": order.uuid})


def schedule_url(order: Order) -> str:
    """Where the Order review's Schedule provisioning button posts (imports owns the job it creates)."""
    return reverse("imports:schedule_provisioning", kwargs={"order_uuid": order.uuid})


def config_data(**overrides) -> dict:
    """A valid Configuration POST for a Microsoft licence service of ERITECH PERU S.A."""
    data = {
        "subscription_name": "(NCE) Microsoft 365 Business Basic",
        "quantity": "1",
        "billing_type": "monthly:P1Y",
        "end_date_alignment": "",
        "microsoft_tenant_id": ERITECH_TENANT_ID,
        "mpn_id": "",
        "send_to_backend": "on",
        "billing_start_date": "2024-07-18 22:01",
        "is_billable": "on",
        "contract_id": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def basic(demo):
    return demo.service(BASIC)


@pytest.fixture
def kiosk(demo):
    return demo.service(KIOSK)


@pytest.fixture
def new_draft(abbie_client, demo):
    """NEW SERVICE on ERITECH PERU S.A. through the real view; returns the created draft."""

    def make() -> Order:
        response = abbie_client.post(reverse("orders:new", kwargs={"account_id": demo.eritech.account_id}))
        assert response.status_code == 302
        return Order.objects.filter(created_by=demo.admin_abbie).latest("id")

    return make


@pytest.fixture
def configured_draft(abbie_client, new_draft, basic):
    """A Business Basic draft walked through Select, Terms (accepted) and Configuration with the defaults."""

    def make(**config) -> Order:
        order = new_draft()
        abbie_client.post(step_url(order, "select"), {"service": basic.pk})
        abbie_client.post(step_url(order, "terms"), {"action": "accept"})
        response = abbie_client.post(step_url(order, "configure"), config_data(**config))
        assert response.status_code == 302, response.context["form"].errors if response.context else response
        assert response["Location"] == step_url(order, "review")
        order.refresh_from_db()
        return order

    return make
