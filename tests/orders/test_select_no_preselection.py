"""No accidental orders (issue 24): Select service pre-selects nothing, and Next without a choice says so."""

import re

import pytest

from orders.forms import SERVICE_REQUIRED
from orders.models import Order

from .conftest import step_url

pytestmark = pytest.mark.django_db


def checked_ids(page: str) -> list[str]:
    return re.findall(r'name="service" aria-controls="wz-detail" value="(\d+)" checked', page)


def test_a_new_draft_has_nothing_selected(abbie_client, new_draft):
    order = new_draft()
    page = abbie_client.get(step_url(order, "select")).content.decode()
    assert checked_ids(page) == []
    assert "wz-highlighted" not in page
    assert "Select a service to see its details." in page


def test_next_without_a_choice_orders_nothing_and_says_why(abbie_client, new_draft):
    order = new_draft()
    response = abbie_client.post(step_url(order, "select"), {})
    assert response.status_code == 200
    assert str(SERVICE_REQUIRED) in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert Order.objects.get(pk=order.pk).service_id is None


def test_next_without_a_choice_in_spanish(abbie_client, new_draft):
    order = new_draft()
    response = abbie_client.post(step_url(order, "select"), {}, HTTP_ACCEPT_LANGUAGE="es")
    assert "Seleccione un servicio para continuar." in response.content.decode()
