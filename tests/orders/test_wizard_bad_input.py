"""Every bad input of issue 3: a clear message on the page (or 404 for what a user may not touch),
never a 500, never half-written data."""

import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Company
from catalog.integrations.microsoft import ALIGNMENT_INVALID, MPN_ID_INVALID, TENANT_ID_INVALID, TENANT_ID_REQUIRED
from catalog.models import Service
from devtools.demo import AZURE, BASIC
from imports.models import ImportJob
from orders.forms import (
    BILLING_START_INVALID,
    BILLING_START_REQUIRED,
    BILLING_TYPE_INVALID,
    CONTRACT_ID_TOO_LONG,
    QUANTITY_INVALID,
    QUANTITY_REQUIRED,
    QUANTITY_TOO_LARGE,
    QUANTITY_TOO_SMALL,
    SCHEDULE_INVALID,
    SERVICE_REQUIRED,
    SUBSCRIPTION_NAME_TOO_LONG,
)
from orders.models import Order
from orders.services import NO_PRICE_LIST, NOT_A_CUSTOMER, order_create
from orders.validation import SCHEDULE_IN_PAST, SCHEDULE_TOO_FAR
from tests.factories import CompanyFactory, PriceListItemFactory, ServiceFactory, UserFactory

from .conftest import MANUAL_NOW, config_data, schedule_url, step_url

pytestmark = pytest.mark.django_db

STEPS = ["select", "terms", "configure", "review"]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def field_errors(response, field) -> list[str]:
    assert response.status_code == 200
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# --- NEW SERVICE ------------------------------------------------------------------------------

def test_company_outside_the_subtree_is_404(client, demo):
    client.force_login(demo.admin_andes)
    response = client.post(reverse("orders:new", kwargs={"account_id": demo.eritech.account_id}))
    assert response.status_code == 404
    assert not Order.objects.exists()


def test_unknown_company_is_404(abbie_client):
    assert abbie_client.post(reverse("orders:new", kwargs={"account_id": 999999})).status_code == 404


def test_company_without_price_list_gets_a_message_on_its_page(abbie_client, demo):
    company = CompanyFactory(name="SIN LISTA S.A.C.", parent=demo.abbiebox)  # a customer with no price list
    response = abbie_client.post(reverse("orders:new", kwargs={"account_id": company.account_id}))
    assert response["Location"] == reverse("company_detail", kwargs={"account_id": company.account_id})
    assert messages_of(response) == [str(NO_PRICE_LIST % {"company": "SIN LISTA S.A.C."})]
    assert not Order.objects.exists()


def test_a_crafted_new_service_post_for_a_reseller_is_refused_with_a_message(abbie_client, demo):
    """The company page hides NEW SERVICE on resellers; a hand-made POST must not create a draft either."""
    response = abbie_client.post(reverse("orders:new", kwargs={"account_id": demo.abbiebox.account_id}))
    assert response["Location"] == reverse("company_detail", kwargs={"account_id": demo.abbiebox.account_id})
    assert messages_of(response) == [
        str(NOT_A_CUSTOMER % {"company": "ABBIE BOX S.A.C.", "kind": demo.abbiebox.get_kind_display()})
    ]
    assert not Order.objects.exists()
    with pytest.raises(ValidationError):
        order_create(company=demo.abbiebox, user=demo.admin_abbie)
    assert not Order.objects.exists()


def test_new_service_needs_the_csrf_token(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.admin_abbie)
    assert client.post(reverse("orders:new", kwargs={"account_id": 466158})).status_code == 403
    assert not Order.objects.exists()


# --- Whose draft --------------------------------------------------------------------------------

@pytest.mark.parametrize("step", STEPS)
def test_another_users_draft_is_404_on_every_step(client, configured_draft, demo, step):
    order = configured_draft()
    colleague = UserFactory(company=demo.abbiebox)  # same company, not the creator
    for user in (demo.admin_andes, colleague, demo.staff):
        client.force_login(user)
        assert client.get(step_url(order, step)).status_code == 404
        assert client.post(step_url(order, step), {"service": order.service_id, "action": "accept"}).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT
    assert not ImportJob.objects.exists()


def test_draft_of_a_company_the_user_no_longer_sees_is_404(abbie_client, configured_draft, demo):
    order = configured_draft()
    demo.admin_abbie.company = demo.andes
    demo.admin_abbie.save()
    assert abbie_client.get(step_url(order, "review")).status_code == 404


@pytest.mark.parametrize("step", STEPS)
def test_unknown_draft_is_404(abbie_client, step):
    assert abbie_client.get(reverse(f"orders:{step}", kwargs={"order_uuid": uuid.uuid4()})).status_code == 404
    assert abbie_client.get(f"/orders/not-a-uuid/{step}/").status_code == 404


@pytest.mark.parametrize("step", STEPS)
def test_a_scheduled_order_leads_to_my_imports_not_to_an_error(abbie_client, configured_draft, step):
    order = configured_draft()
    abbie_client.post(schedule_url(order), {"scheduled_for": ""})
    response = abbie_client.get(step_url(order, step))
    assert response["Location"] == reverse("imports:my_imports")


# --- Select service -----------------------------------------------------------------------------

def test_service_not_on_the_price_list_is_404(abbie_client, new_draft, demo):
    order = new_draft()
    foreign = ServiceFactory(name="Not on ABBIE's list")
    andes_only = PriceListItemFactory(service=ServiceFactory(name="Only on another list")).service
    inactive = demo.service(BASIC)
    Service.objects.filter(pk=inactive.pk).update(active=False)
    for value in (foreign.pk, andes_only.pk, inactive.pk, 999999, "abc", "1 OR 1=1"):
        assert abbie_client.post(step_url(order, "select"), {"service": value}).status_code == 404
    order.refresh_from_db()
    assert order.service is None


def test_next_without_a_service_asks_for_one(abbie_client, new_draft):
    order = new_draft()
    response = abbie_client.post(step_url(order, "select"), {})
    assert field_errors(response, "service") == [str(SERVICE_REQUIRED)]
    assert str(SERVICE_REQUIRED) in response.content.decode()


def test_search_input_is_escaped_and_cut(abbie_client, new_draft):
    order = new_draft()
    response = abbie_client.get(step_url(order, "select"), {"q": "<script>alert(1)</script>"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for query in ("x" * 500, "%", "_", "'\"", "\\"):
        response = abbie_client.get(step_url(order, "select"), {"q": query})
        assert response.status_code == 200
    assert response.context["query"] == "\\"
    assert len(abbie_client.get(step_url(order, "select"), {"q": "x" * 500}).context["query"]) == 200


@pytest.mark.parametrize("highlight", ["abc", "999999", "-1", ""])
def test_a_bad_highlight_is_ignored(abbie_client, new_draft, highlight):
    order = new_draft()
    assert abbie_client.get(step_url(order, "select"), {"highlight": highlight}).status_code == 200


def test_highlight_of_a_service_outside_the_price_list_shows_nothing_about_it(abbie_client, new_draft):
    order = new_draft()
    secret = ServiceFactory(name="Secret service of another list")
    page = abbie_client.get(step_url(order, "select"), {"highlight": secret.pk}).content.decode()
    assert "Secret service of another list" not in page


# --- Configuration ------------------------------------------------------------------------------

@pytest.fixture
def at_configuration(abbie_client, new_draft, basic):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    return order


def post_config(client, order, **overrides):
    return client.post(step_url(order, "configure"), config_data(**overrides))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", QUANTITY_TOO_SMALL),
        ("-1", QUANTITY_TOO_SMALL),
        ("abc", QUANTITY_INVALID),
        ("1e9", QUANTITY_INVALID),
        ("1.5", QUANTITY_INVALID),
        ("", QUANTITY_REQUIRED),
        ("10001", QUANTITY_TOO_LARGE % {"limit_value": 10000}),
        ("99999999999999999999", QUANTITY_TOO_LARGE % {"limit_value": 10000}),
    ],
)
def test_bad_quantity_is_a_field_error(abbie_client, at_configuration, value, message):
    response = post_config(abbie_client, at_configuration, quantity=value)
    assert field_errors(response, "quantity") == [str(message)]
    assert str(message) in response.content.decode()
    at_configuration.refresh_from_db()
    assert at_configuration.configured_at is None and at_configuration.quantity is None


def test_quantity_limit_is_the_services(abbie_client, at_configuration, basic):
    Service.objects.filter(pk=basic.pk).update(max_quantity=300)
    response = post_config(abbie_client, at_configuration, quantity="301")
    assert field_errors(response, "quantity") == [str(QUANTITY_TOO_LARGE % {"limit_value": 300})]
    assert post_config(abbie_client, at_configuration, quantity="300").status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("microsoft_tenant_id", "not-a-guid", TENANT_ID_INVALID),
        ("microsoft_tenant_id", "e0d72b05-fb92-4d65-9424-7b58ea99d5dZ", TENANT_ID_INVALID),
        ("microsoft_tenant_id", "", TENANT_ID_REQUIRED),
        ("mpn_id", "12a45", MPN_ID_INVALID),
        ("mpn_id", "-1", MPN_ID_INVALID),
        ("end_date_alignment", "coterm:123", ALIGNMENT_INVALID),
        ("billing_type", "monthly:P3Y", BILLING_TYPE_INVALID),
        ("billing_type", "nonsense", BILLING_TYPE_INVALID),
        ("billing_start_date", "18/07/2024 22:01", BILLING_START_INVALID),
        ("billing_start_date", "2024-02-30 10:00", BILLING_START_INVALID),
        ("billing_start_date", "2024-07-18T22:01:00Z", BILLING_START_INVALID),  # the picker sends no seconds or zone
        ("billing_start_date", "   ", BILLING_START_REQUIRED),
        ("billing_start_date", "", BILLING_START_REQUIRED),
    ],
)
def test_bad_field_values_are_field_errors(abbie_client, at_configuration, field, value, message):
    response = post_config(abbie_client, at_configuration, **{field: value})
    assert field_errors(response, field) == [str(message)]
    at_configuration.refresh_from_db()
    assert at_configuration.configured_at is None


@pytest.mark.parametrize(
    ("field", "length", "message"),
    [
        ("subscription_name", 201, SUBSCRIPTION_NAME_TOO_LONG % {"limit_value": 200, "show_value": 201}),
        ("contract_id", 101, CONTRACT_ID_TOO_LONG % {"limit_value": 100, "show_value": 101}),
        ("mpn_id", 11, None),
        ("microsoft_tenant_id", 37, None),
    ],
)
def test_text_over_its_length_is_a_field_error(abbie_client, at_configuration, field, length, message):
    response = post_config(abbie_client, at_configuration, **{field: "1" * length})
    errors = field_errors(response, field)
    assert errors
    if message is not None:
        assert errors == [str(message)]
    at_configuration.refresh_from_db()
    assert at_configuration.configured_at is None


def test_text_at_its_length_is_accepted(abbie_client, at_configuration):
    response = post_config(abbie_client, at_configuration, subscription_name="N" * 200, contract_id="C" * 100,
                           mpn_id="1234567890")
    assert response.status_code == 302
    at_configuration.refresh_from_db()
    assert len(at_configuration.subscription_name) == 200 and len(at_configuration.contract_id) == 100


def test_empty_subscription_name_means_the_service_name(abbie_client, at_configuration):
    post_config(abbie_client, at_configuration, subscription_name="   ")
    at_configuration.refresh_from_db()
    assert at_configuration.subscription_name == "(NCE) Microsoft 365 Business Basic"


def test_html_in_subscription_name_is_stored_as_typed_and_shown_escaped(abbie_client, at_configuration):
    typed = '<b onmouseover="x()">Lima</b> & <script>alert("x")</script>'
    assert post_config(abbie_client, at_configuration, subscription_name=typed).status_code == 302
    at_configuration.refresh_from_db()
    assert at_configuration.subscription_name == typed
    for step in ("configure", "review"):
        page = abbie_client.get(step_url(at_configuration, step)).content.decode()
        assert "<script>alert" not in page and "<b onmouseover" not in page
        assert "&lt;b onmouseover=" in page


def test_a_bad_post_on_one_step_changes_nothing_saved_before(abbie_client, configured_draft):
    order = configured_draft(quantity="5")
    response = post_config(abbie_client, order, quantity="abc", contract_id="NEW")
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.quantity, order.contract_id) == (5, "")


def test_unchecked_boxes_are_saved_as_false(abbie_client, at_configuration):
    post_config(abbie_client, at_configuration, send_to_backend=None, is_billable=None)
    at_configuration.refresh_from_db()
    assert at_configuration.send_to_backend is False and at_configuration.is_billable is False


def test_tenant_service_asks_for_a_domain_instead(abbie_client, new_draft, demo):
    tenant = Service.objects.get(code="100113_MicrosOrganiTenant_10001")
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": tenant.pk})
    response = abbie_client.post(step_url(order, "configure"), config_data(billing_type="monthly:P1M", tenant_domain="Not Valid!"))
    assert field_errors(response, "tenant_domain")
    response = abbie_client.post(step_url(order, "configure"), config_data(billing_type="monthly:P1M", tenant_domain="eritech2"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.vendor_config["tenant_domain"] == "eritech2"


# --- Order review -------------------------------------------------------------------------------

@freeze_time(MANUAL_NOW)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-07-18 22:00", SCHEDULE_IN_PAST),
        ("2023-08-01 10:00", SCHEDULE_IN_PAST),
        ("2025-07-18 22:02", SCHEDULE_TOO_FAR),
        ("2030-01-01 00:00", SCHEDULE_TOO_FAR),
        ("tomorrow", SCHEDULE_INVALID),
        ("2024-08-01", SCHEDULE_INVALID),
        ("2024-13-01 10:00", SCHEDULE_INVALID),
        ("2024-08-01 25:00", SCHEDULE_INVALID),
        ("01/08/2024 10:00", SCHEDULE_INVALID),
        ("2024-08-01 10:00:00", SCHEDULE_INVALID),
        ("9" * 300, SCHEDULE_INVALID),
    ],
)
def test_bad_schedule_time_is_a_field_error(abbie_client, configured_draft, value, message):
    order = configured_draft()
    response = abbie_client.post(schedule_url(order), {"scheduled_for": value})
    assert field_errors(response, "scheduled_for") == [str(message)]
    assert str(message) in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT
    assert not ImportJob.objects.exists()


@freeze_time(MANUAL_NOW)
@pytest.mark.parametrize("value", ["2024-07-18 22:01", "2024-07-18 22:02", "2025-07-18 22:01"])
def test_schedule_time_limits_that_are_accepted(abbie_client, configured_draft, value):
    order = configured_draft()
    response = abbie_client.post(schedule_url(order), {"scheduled_for": value})
    assert response["Location"] == reverse("imports:my_imports")
    assert ImportJob.objects.get().due_at.strftime("%Y-%m-%d %H:%M") == value


def test_review_refuses_a_configuration_that_is_no_longer_valid(abbie_client, configured_draft, basic):
    order = configured_draft(quantity="50")
    Service.objects.filter(pk=basic.pk).update(max_quantity=10)
    response = abbie_client.post(schedule_url(order), {"scheduled_for": ""})
    assert response["Location"] == step_url(order, "configure")
    assert not ImportJob.objects.exists()
    response = abbie_client.get(step_url(order, "configure"))
    assert field_errors(response, "quantity") == [str(QUANTITY_TOO_LARGE % {"limit_value": 10})]


def test_review_sends_back_to_select_when_the_service_left_the_price_list(abbie_client, configured_draft, basic, demo):
    order = configured_draft()
    basic.price_items.filter(price_list=demo.abbie_price_list).delete()
    response = abbie_client.get(step_url(order, "review"))
    assert response["Location"] == step_url(order, "select")


def test_suspended_company_is_a_warning_not_a_block(abbie_client, demo, basic):
    pacifico = demo.pacifico
    assert pacifico.status == Company.Status.SUSPENDED
    abbie_client.post(reverse("orders:new", kwargs={"account_id": pacifico.account_id}))
    order = Order.objects.get(company=pacifico)
    abbie_client.post(step_url(order, "select"), {"service": demo.service(AZURE).pk})
    abbie_client.post(step_url(order, "configure"), config_data(billing_type="monthly:P1M",
                                                                   microsoft_tenant_id="11111111-2222-3333-4444-555555555555"))
    response = abbie_client.get(step_url(order, "review"))
    assert response.context["warnings"] == ["The parent account PACIFICO RETAIL S.A.C. is not active (status: Suspended)."]
