"""No accidental orders (issue 24): scheduling an order that the Order review's own pre-check says
would fail needs an explicit "Schedule anyway" naming the reasons, decided by the server (so it
works without JavaScript); an order whose checks pass is scheduled at the first click."""

import re

import pytest
from django.urls import reverse
from freezegun import freeze_time

from imports.models import ImportJob
from orders.forms import PRECHECK_CONFIRM_TITLE, precheck_fingerprint

from .conftest import MANUAL_NOW, schedule_url, step_url

pytestmark = pytest.mark.django_db

WRONG_TENANT = "11111111-2222-3333-4444-555555555555"
TENANT_REASON = "Microsoft Tenant Id does not belong to a Microsoft Organization tenant of this company."


def hidden_fingerprint(page: str) -> str:
    return re.search(r'name="confirm_failing" value="([0-9a-f]+)"', page).group(1)


@freeze_time(MANUAL_NOW)
def test_a_failing_precheck_asks_for_confirmation_naming_the_reasons(abbie_client, configured_draft):
    order = configured_draft(microsoft_tenant_id=WRONG_TENANT)
    response = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 10:00"})

    assert response.status_code == 200
    assert ImportJob.objects.count() == 0
    order.refresh_from_db()
    assert order.is_editable  # still a draft: nothing was scheduled
    page = response.content.decode()
    confirm = page.split('class="warnings wz-confirm"')[1].split("</div>")[0]
    assert str(PRECHECK_CONFIRM_TITLE) in confirm
    assert TENANT_REASON in confirm
    assert "Schedule anyway" in page
    assert 'value="2024-08-01 10:00"' in page  # the time typed is kept
    assert hidden_fingerprint(page) == precheck_fingerprint([TENANT_REASON])


@freeze_time(MANUAL_NOW)
def test_schedule_anyway_schedules_it(abbie_client, configured_draft):
    order = configured_draft(microsoft_tenant_id=WRONG_TENANT)
    page = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 10:00"}).content.decode()
    response = abbie_client.post(
        schedule_url(order), {"scheduled_for": "2024-08-01 10:00", "confirm_failing": hidden_fingerprint(page)}
    )
    assert response["Location"] == reverse("imports:my_imports")
    job = ImportJob.objects.get()
    assert job.due_at.isoformat() == "2024-08-01T10:00:00+00:00"


@freeze_time(MANUAL_NOW)
@pytest.mark.parametrize("confirmation", ["", "yes", "0" * 32, "x" * 64])
def test_a_confirmation_for_other_reasons_or_none_asks_again(abbie_client, configured_draft, confirmation):
    order = configured_draft(microsoft_tenant_id=WRONG_TENANT)
    response = abbie_client.post(schedule_url(order), {"scheduled_for": "", "confirm_failing": confirmation})
    assert response.status_code == 200
    assert response.context["confirm_failing"] is True
    assert ImportJob.objects.count() == 0


@freeze_time(MANUAL_NOW)
def test_passing_checks_schedule_at_the_first_click(abbie_client, configured_draft):
    order = configured_draft()
    response = abbie_client.post(schedule_url(order), {"scheduled_for": ""})
    assert response["Location"] == reverse("imports:my_imports")
    assert ImportJob.objects.count() == 1


@freeze_time(MANUAL_NOW)
def test_the_review_page_itself_offers_no_schedule_anyway(abbie_client, configured_draft):
    order = configured_draft(microsoft_tenant_id=WRONG_TENANT)
    page = abbie_client.get(step_url(order, "review")).content.decode()
    assert TENANT_REASON in page  # the pre-check box
    assert "Schedule anyway" not in page and "confirm_failing" not in page


@freeze_time(MANUAL_NOW)
def test_a_bad_time_is_reported_before_any_confirmation(abbie_client, configured_draft):
    order = configured_draft(microsoft_tenant_id=WRONG_TENANT)
    response = abbie_client.post(schedule_url(order), {"scheduled_for": "not a time"})
    assert response.status_code == 200
    assert response.context["form"].errors["scheduled_for"]
    assert response.context["confirm_failing"] is False


@freeze_time(MANUAL_NOW)
def test_the_confirmation_is_in_spanish_for_a_spanish_reader(abbie_client, configured_draft):
    order = configured_draft(microsoft_tenant_id=WRONG_TENANT)
    page = abbie_client.post(schedule_url(order), {"scheduled_for": ""}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Programar de todos modos" in page
    assert "Este pedido fallaría si se aprovisionara ahora" in page
