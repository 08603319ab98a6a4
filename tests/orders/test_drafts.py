"""Unfinished orders: NEW SERVICE reuses an empty draft, Discard (with its confirm), and the housekeeping
that removes drafts nobody has touched for 30 days."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportJob
from imports.tasks import dispatch_tick_task
from orders.models import Order
from orders.services import (
    DRAFT_MAX_IDLE_DAYS,
    ORDER_DISCARDED,
    order_create,
    orders_drafts_expire,
)

from .conftest import step_url

pytestmark = pytest.mark.django_db


def discard_url(order: Order) -> str:
    return reverse("orders:discard", kwargs={"order_uuid": order.uuid})


def age(order: Order, days: float) -> None:
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - dt.timedelta(days=days))


def test_new_service_reuses_the_users_empty_draft_for_the_company(abbie_client, new_draft):
    first = new_draft()
    second = new_draft()
    assert first.pk == second.pk
    assert Order.objects.count() == 1


def test_new_service_does_not_reuse_a_draft_with_a_service(abbie_client, new_draft, basic):
    first = new_draft()
    abbie_client.post(step_url(first, "select"), {"service": basic.pk})
    second = new_draft()
    assert second.pk != first.pk
    assert Order.objects.filter(status=Order.Status.DRAFT).count() == 2
    assert new_draft().pk == second.pk


def test_new_service_does_not_reuse_another_users_or_another_companys_draft(demo):
    mine = order_create(company=demo.eritech, user=demo.admin_abbie)
    colleague = type(demo.admin_abbie).objects.create_user(email="second@abbiebox.com", company=demo.abbiebox)
    theirs = order_create(company=demo.eritech, user=colleague)
    assert theirs.pk != mine.pk
    elsewhere = order_create(company=demo.norte, user=demo.admin_abbie)
    assert elsewhere.pk not in {mine.pk, theirs.pk}
    assert order_create(company=demo.eritech, user=demo.admin_abbie).pk == mine.pk


def test_reusing_an_empty_draft_touches_it(abbie_client, new_draft):
    order = new_draft()
    age(order, DRAFT_MAX_IDLE_DAYS + 1)
    assert new_draft().pk == order.pk
    order.refresh_from_db()
    assert timezone.now() - order.updated_at < dt.timedelta(minutes=1)


def test_discard_lists_a_link_and_a_dialog_for_each_other_draft(abbie_client, new_draft, basic):
    other = new_draft()
    abbie_client.post(step_url(other, "select"), {"service": basic.pk})
    current = new_draft()
    page = abbie_client.get(step_url(current, "select")).content.decode()
    drafts = page.split('class="wz-drafts"')[1]
    assert f'href="{discard_url(other)}?next=' in drafts
    assert f'<form method="post" action="{discard_url(other)}">' in drafts
    assert "Are you sure you want to discard this unfinished order?" in drafts
    assert "YES, DISCARD IT" in drafts
    assert "Discard the unfinished order (NCE) Microsoft 365 Business Basic" in drafts


def test_discard_confirm_page_then_post(abbie_client, new_draft, basic):
    other = new_draft()
    abbie_client.post(step_url(other, "select"), {"service": basic.pk})
    current = new_draft()
    back = step_url(current, "select")

    confirm = abbie_client.get(discard_url(other), {"next": back})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Are you sure you want to discard this unfinished order?" in page
    assert f'href="{back}"' in page
    assert Order.objects.filter(pk=other.pk).exists()

    response = abbie_client.post(discard_url(other), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    assert not Order.objects.filter(pk=other.pk).exists()
    assert ORDER_DISCARDED in [m.message for m in get_messages(response.wsgi_request)]
    assert Order.objects.filter(pk=current.pk).exists()


def test_discarding_twice_is_not_an_error(abbie_client, new_draft, demo):
    order = new_draft()
    abbie_client.post(discard_url(order))
    response = abbie_client.post(discard_url(order))
    assert response.status_code == 404  # it is gone: nothing to confirm or discard


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "", "\x00"])
def test_discard_never_redirects_off_site(abbie_client, new_draft, demo, target):
    order = new_draft()
    response = abbie_client.post(discard_url(order), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("company_detail", kwargs={"account_id": demo.eritech.account_id})


def test_discard_of_the_page_it_was_opened_from_goes_to_the_company(abbie_client, new_draft, demo):
    order = new_draft()
    response = abbie_client.post(discard_url(order), {"next": step_url(order, "select")})
    assert response["Location"] == reverse("company_detail", kwargs={"account_id": demo.eritech.account_id})


def test_someone_elses_draft_cannot_be_discarded(client, new_draft, demo):
    order = new_draft()
    client.force_login(demo.admin_andes)
    assert client.get(discard_url(order)).status_code == 404
    assert client.post(discard_url(order)).status_code == 404
    assert Order.objects.filter(pk=order.pk).exists()


def test_discard_needs_login(client, new_draft):
    order = new_draft()
    client.logout()
    response = client.post(discard_url(order))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Order.objects.filter(pk=order.pk).exists()


def test_a_scheduled_order_cannot_be_discarded(abbie_client, configured_draft):
    from .conftest import schedule_url

    order = configured_draft()
    abbie_client.post(schedule_url(order), {"scheduled_for": ""})
    order.refresh_from_db()
    assert order.status == Order.Status.SUBMITTED
    response = abbie_client.post(discard_url(order))
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:my_imports")
    assert Order.objects.filter(pk=order.pk).exists()
    assert ImportJob.objects.count() == 1


def test_discard_rejects_other_methods(abbie_client, new_draft):
    assert abbie_client.put(discard_url(new_draft())).status_code == 405


def test_housekeeping_removes_drafts_untouched_for_30_days(demo, abbie_client, new_draft, configured_draft):
    old_with_service = configured_draft()
    age(old_with_service, DRAFT_MAX_IDLE_DAYS + 5)
    young = configured_draft()
    age(young, DRAFT_MAX_IDLE_DAYS - 0.01)
    submitted = configured_draft()
    abbie_client.post(reverse("imports:schedule_provisioning", kwargs={"order_uuid": submitted.uuid}), {"scheduled_for": ""})
    assert Order.objects.get(pk=submitted.pk).status == Order.Status.SUBMITTED
    age(submitted, DRAFT_MAX_IDLE_DAYS + 100)
    old_empty = new_draft()
    age(old_empty, DRAFT_MAX_IDLE_DAYS + 0.01)

    assert orders_drafts_expire(now=timezone.now()) == 2
    assert set(Order.objects.values_list("pk", flat=True)) == {young.pk, submitted.pk}
    assert orders_drafts_expire(now=timezone.now()) == 0


def test_the_every_minute_tick_runs_the_draft_housekeeping(demo, new_draft):
    order = new_draft()
    age(order, DRAFT_MAX_IDLE_DAYS + 1)
    dispatch_tick_task()
    assert not Order.objects.filter(pk=order.pk).exists()
