"""The wizard's date-time controls (Order review's Schedule provisioning, Configuration's Billing
start date): typed in a zone picked beside them, stored in UTC, the zone remembered on the user."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from freezegun import freeze_time

from core.datetimes import TIME_AMBIGUOUS, TIME_NONEXISTENT, TIME_ZONE_INVALID
from imports.models import ImportJob

from .conftest import MANUAL_NOW, config_data, schedule_url, step_url

pytestmark = pytest.mark.django_db
UTC = dt.timezone.utc


def zone_of(user) -> str:
    return get_user_model().objects.get(pk=user.pk).time_zone


@freeze_time(MANUAL_NOW)
def test_lima_time_is_stored_in_utc_and_the_zone_is_remembered(abbie_client, configured_draft, demo):
    order = configured_draft()
    html = abbie_client.get(step_url(order, "review")).content.decode()
    assert 'name="scheduled_for"' in html and 'name="scheduled_for_tz"' in html
    assert "<option selected>UTC</option>" in html and "datetime-local" not in html

    response = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 05:00", "scheduled_for_tz": "America/Lima"})
    assert response.status_code == 302
    assert ImportJob.objects.get().due_at == dt.datetime(2024, 8, 1, 10, 0, tzinfo=UTC)
    assert zone_of(demo.admin_abbie) == "America/Lima"

    # The next order starts in Lima, and My imports shows the local line in it, server-side.
    html = abbie_client.get(step_url(configured_draft(), "review")).content.decode()
    assert "<option selected>America/Lima</option>" in html
    html = abbie_client.get("/imports/").content.decode()
    assert ">2024-08-01 10:00 UTC</time>" in html and ">2024-08-01 05:00 UTC-5</small>" in html


@freeze_time(MANUAL_NOW)
def test_a_zone_east_of_utc(abbie_client, configured_draft):
    order = configured_draft()
    abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 19:00", "scheduled_for_tz": "Asia/Tokyo"})
    assert ImportJob.objects.get().due_at == dt.datetime(2024, 8, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scheduled_for": "2024-11-03 01:30", "scheduled_for_tz": "America/New_York"},
         TIME_AMBIGUOUS % {"value": "2024-11-03 01:30", "zone": "America/New_York",
                           "first": "2024-11-03 05:30 UTC", "second": "2024-11-03 06:30 UTC"}),
        ({"scheduled_for": "2025-03-09 02:30", "scheduled_for_tz": "America/New_York"},
         TIME_NONEXISTENT % {"value": "2025-03-09 02:30", "zone": "America/New_York", "after": "03:00"}),
        ({"scheduled_for": "2024-08-01 10:00", "scheduled_for_tz": "Nowhere/Atlantis"}, TIME_ZONE_INVALID),
    ],
)
@freeze_time(MANUAL_NOW)
def test_dst_gap_fold_and_a_wrong_zone_are_messages_on_the_page(abbie_client, configured_draft, demo, data, message):
    order = configured_draft()
    response = abbie_client.post(schedule_url(order), data)
    assert response.status_code == 200
    assert [str(e) for e in response.context["form"].errors["scheduled_for"]] == [str(message)]
    assert ImportJob.objects.count() == 0
    assert zone_of(demo.admin_abbie) == ""  # nothing scheduled: nothing remembered


@freeze_time(MANUAL_NOW)
def test_the_utc_result_is_rendered_with_a_form_sent_back(abbie_client, configured_draft):
    order = configured_draft()
    # A valid time in Lima, refused for another reason (in the past): the page still says what it was in UTC.
    response = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-07-18 12:00", "scheduled_for_tz": "America/Lima"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Stored as 2024-07-18 17:00 UTC" in html
    assert "<option selected>America/Lima</option>" in html and 'value="2024-07-18 12:00"' in html


@freeze_time(MANUAL_NOW)
def test_the_billing_start_date_takes_a_zone_too(abbie_client, new_draft, basic, demo):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    response = abbie_client.post(
        step_url(order, "configure"), config_data(billing_start_date="2024-07-18 17:01", billing_start_date_tz="America/Lima")
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.billing_start_date == dt.datetime(2024, 7, 18, 22, 1, tzinfo=UTC)
    assert zone_of(demo.admin_abbie) == "America/Lima"
    # Back to the step: the saved value shown in the reseller's zone, with its UTC line.
    html = abbie_client.get(step_url(order, "configure")).content.decode()
    assert 'value="2024-07-18 17:01"' in html and "<option selected>America/Lima</option>" in html
    assert "Stored as 2024-07-18 22:01 UTC" in html


@freeze_time(MANUAL_NOW)
def test_a_post_without_a_zone_is_utc_and_forgets_nothing(abbie_client, configured_draft, demo):
    get_user_model().objects.filter(pk=demo.admin_abbie.pk).update(time_zone="America/Lima")
    order = configured_draft()  # its Configuration posts the billing start date without a zone: UTC
    assert order.billing_start_date == dt.datetime(2024, 7, 18, 22, 1, tzinfo=UTC)
    abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 10:00"})
    assert ImportJob.objects.get().due_at == dt.datetime(2024, 8, 1, 10, 0, tzinfo=UTC)
    assert zone_of(demo.admin_abbie) == "America/Lima"


@freeze_time(MANUAL_NOW)
def test_spanish_renders_the_control(abbie_client, configured_draft):
    order = configured_draft()
    abbie_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    response = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-07-18 12:00", "scheduled_for_tz": "America/Lima"})
    html = response.content.decode()
    assert "Zona horaria" in html and "Se guarda como 2024-07-18 17:00 UTC" in html
    assert 'placeholder="AAAA-MM-DD HH:MM"' in html
