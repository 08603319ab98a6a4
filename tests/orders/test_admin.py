"""Order admin: a draft may still be corrected; a submitted order (what its import job provisions) is view-only."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from orders.models import Order

UTC = dt.timezone.utc
KIOSK = "100113_ExchanOnlineKiosk_61893"
SCHEDULED = dt.datetime(2030, 7, 31, 10, 0, tzinfo=UTC)
CONFIGURATION_FIELDS = (
    "company", "created_by", "service", "subscription_name", "quantity", "term", "billing_frequency", "send_to_backend",
    "notify_me", "billing_start_date", "is_billable", "contract_id", "vendor_config", "scheduled_for", "status",
)


def make_order(demo, status) -> Order:
    submitted = status == Order.Status.SUBMITTED
    return Order.objects.create(
        company=demo.eritech, created_by=demo.admin_abbie, status=status, service=demo.service(KIOSK),
        configured_at=timezone.now(), subscription_name="Kiosk for Lima", quantity=3, term="P1Y",
        billing_frequency="monthly", vendor_config={"microsoft_tenant_id": "t"},
        scheduled_for=SCHEDULED if submitted else None, submitted_at=timezone.now() if submitted else None,
    )


def change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def change_post(demo, order, **changes) -> dict:
    data = {
        "company": demo.eritech.pk, "created_by": demo.admin_abbie.pk, "service": order.service_id,
        "subscription_name": "Kiosk for Cusco", "quantity": "7", "term": "P1Y", "billing_frequency": "monthly",
        "send_to_backend": "on", "is_billable": "on", "contract_id": "", "vendor_config": '{"microsoft_tenant_id": "t"}',
        "billing_start_date_0": "", "billing_start_date_1": "", "scheduled_for_0": "2031-01-01", "scheduled_for_1": "08:00:00",
        "status": Order.Status.DRAFT,
        "subscriptions-TOTAL_FORMS": "0", "subscriptions-INITIAL_FORMS": "0",
        "subscriptions-MIN_NUM_FORMS": "0", "subscriptions-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_only_a_draft_is_editable():
    assert Order(status=Order.Status.DRAFT).is_editable is True
    assert Order(status=Order.Status.SUBMITTED).is_editable is False


def test_a_submitted_orders_change_page_shows_every_field_read_only(staff_client, demo):
    order = make_order(demo, Order.Status.SUBMITTED)
    response = staff_client.get(change_url(order))
    assert response.status_code == 200
    html = response.content.decode()
    for field in CONFIGURATION_FIELDS:
        assert f'name="{field}' not in html, field
    assert 'name="_save"' not in html
    assert "Kiosk for Lima" in html  # shown, as text


def test_a_post_cannot_change_a_submitted_order(staff_client, demo):
    order = make_order(demo, Order.Status.SUBMITTED)
    before = Order.objects.filter(pk=order.pk).values().get()
    response = staff_client.post(change_url(order), change_post(demo, order, company=demo.cusco.pk))
    assert response.status_code == 403
    assert Order.objects.filter(pk=order.pk).values().get() == before


def test_a_draft_may_still_be_corrected(staff_client, demo):
    order = make_order(demo, Order.Status.DRAFT)
    html = staff_client.get(change_url(order)).content.decode()
    assert 'name="subscription_name"' in html and 'name="quantity"' in html
    assert 'name="status"' not in html  # status moves only through the wizard's services
    response = staff_client.post(change_url(order), change_post(demo, order, status=Order.Status.SUBMITTED))
    assert response.status_code == 302, response.content.decode()[:3000]
    order.refresh_from_db()
    assert (order.subscription_name, order.quantity, order.status) == ("Kiosk for Cusco", 7, Order.Status.DRAFT)
