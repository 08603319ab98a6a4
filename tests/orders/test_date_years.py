"""Dates typed in a form accept the years 2000–2100 only, with a clear message (issue 11: 0999-12-31
was accepted by Configuration and then sent the reseller back forever; 9999-12-31 was provisioned)."""

import pytest
from freezegun import freeze_time

from orders.configuration import BILLING_START_OUT_OF_RANGE
from orders.fields import MAX_YEAR, MIN_YEAR, YEAR_OUT_OF_RANGE, UTCDateTimeField

from .conftest import MANUAL_NOW, config_data, schedule_url, step_url

pytestmark = pytest.mark.django_db

BILLING_MESSAGE = str(BILLING_START_OUT_OF_RANGE % {"min": MIN_YEAR, "max": MAX_YEAR})


@pytest.mark.parametrize("value", ["0999-12-31 23:59", "1999-12-31 23:59", "2101-01-01 00:00", "9999-12-31 23:59", "0001-01-01 00:00"])
def test_billing_start_date_outside_2000_2100_is_a_field_error(abbie_client, new_draft, basic, value):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    response = abbie_client.post(step_url(order, "configure"), config_data(billing_start_date=value))
    assert response.status_code == 200
    assert response.context["form"].errors["billing_start_date"] == [BILLING_MESSAGE]
    assert BILLING_MESSAGE in response.content.decode()
    order.refresh_from_db()
    assert order.configured_at is None


@pytest.mark.parametrize("value", ["2000-01-01 00:00", "2100-12-31 23:59"])
def test_the_bounds_themselves_are_accepted(abbie_client, new_draft, basic, value):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    response = abbie_client.post(step_url(order, "configure"), config_data(billing_start_date=value))
    assert response.status_code == 302


@freeze_time(MANUAL_NOW)
@pytest.mark.parametrize("value", ["0999-12-31 23:59", "9999-12-31 23:59"])
def test_schedule_time_outside_2000_2100_is_refused_with_the_message(abbie_client, configured_draft, value):
    order = configured_draft()
    response = abbie_client.post(schedule_url(order), {"scheduled_for": value})
    assert response.status_code == 200
    assert str(YEAR_OUT_OF_RANGE % {"min": MIN_YEAR, "max": MAX_YEAR}) in response.content.decode()
    order.refresh_from_db()
    assert order.is_editable


def test_the_field_itself():
    field = UTCDateTimeField()
    assert field.clean("2024-07-18 22:01").year == 2024
    for bad in ("1999-12-31 23:59", "2101-01-01 00:00"):
        with pytest.raises(Exception) as error:
            field.clean(bad)
        assert "between the years 2000 and 2100" in str(error.value)


def test_admin_forms_refuse_dates_outside_the_range_too(client, demo):
    """The same range on the models' date fields, so the admin's forms (and full_clean) say it."""
    from django.core.exceptions import ValidationError

    from accounts.models import Company

    company = Company.objects.get(pk=demo.eritech.pk)
    company.contract_end_date = company.contract_end_date.replace(year=1999)
    with pytest.raises(ValidationError) as error:
        company.full_clean()
    assert "between the years 2000 and 2100" in str(error.value)

    client.force_login(demo.staff)
    from django.urls import reverse

    response = client.post(reverse("admin:catalog_pricelistitem_add"), {"effective_from": "0999-12-31"})
    assert response.status_code == 200
    assert "between the years 2000 and 2100" in response.content.decode()
