"""UTCDateTimeField: typed, pasted (trimmed) or picked (datetime-local) date-times, always UTC."""

import datetime as dt

import pytest
from django import forms
from django.utils import timezone

from accounts.dates import YEAR_OUT_OF_RANGE
from orders.fields import UTCDateTimeField
from orders.forms import SCHEDULE_INVALID, ScheduleForm

from .conftest import config_data, step_url

UTC = dt.timezone.utc


class PickerForm(forms.Form):
    when = UTCDateTimeField(picker=True, error_messages={"invalid": "bad"})


class TextForm(forms.Form):
    when = UTCDateTimeField(error_messages={"invalid": "bad"})


@pytest.mark.parametrize("form_class", [PickerForm, TextForm])
@pytest.mark.parametrize(
    "value", ["2030-01-02 03:04", "2030-01-02T03:04", "  2030-01-02 03:04  ", "\t2030-01-02T03:04\n", "\u00a02030-01-02 03:04"]
)
def test_both_formats_are_read_as_utc_and_white_space_is_trimmed(form_class, value):
    form = form_class({"when": value})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["when"] == dt.datetime(2030, 1, 2, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2030-01-02", "02/01/2030 03:04", "2030-01-02T03:04:05Z", "2030-13-01 10:00", "x", "\x00"])
def test_other_text_is_invalid(value):
    form = PickerForm({"when": value})
    assert not form.is_valid()
    assert form.errors["when"] == ["bad"]


@pytest.mark.parametrize("value", ["1999-12-31T23:59", "2101-01-01 00:00"])
def test_the_year_rule_still_applies(value):
    form = PickerForm({"when": value})
    assert not form.is_valid()
    assert form.errors["when"] == [str(YEAR_OUT_OF_RANGE % {"min": 2000, "max": 2100})]


def test_the_picker_renders_datetime_local_in_utc_whatever_the_active_zone():
    with timezone.override("America/Lima"):
        html = str(PickerForm(initial={"when": dt.datetime(2030, 1, 2, 3, 4, tzinfo=UTC)})["when"])
    assert 'type="datetime-local"' in html
    assert 'value="2030-01-02T03:04"' in html
    # A typed value sent back with an error is shown in the picker's format when it can be read.
    assert 'value="2030-01-02T03:04"' in str(PickerForm({"when": " 2030-01-02 03:04 "})["when"])


def test_the_text_field_keeps_its_placeholder_and_leaves_room_to_trim():
    html = str(TextForm()["when"])
    assert 'type="text"' in html
    assert 'placeholder="YYYY-MM-DD HH:MM"' in html
    assert 'maxlength="40"' in html


@pytest.mark.django_db
def test_the_review_and_configuration_use_the_picker_with_a_local_time_slot(abbie_client, configured_draft):
    order = configured_draft()
    page = abbie_client.get(step_url(order, "review")).content.decode()
    assert 'type="datetime-local" name="scheduled_for"' in page
    assert 'data-local-for="id_scheduled_for"' in page
    assert "orders/utc_datetime.js" in page
    page = abbie_client.get(step_url(order, "configure")).content.decode()
    assert 'type="datetime-local" name="billing_start_date"' in page
    assert 'data-local-for="id_billing_start_date"' in page


@pytest.mark.django_db
def test_the_configuration_accepts_the_pickers_value_and_a_pasted_one(abbie_client, new_draft, basic):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    abbie_client.post(step_url(order, "terms"), {"action": "accept"})
    for value, expected in (("2031-05-06T07:08", "2031-05-06 07:08"), ("  2031-05-06 07:09 ", "2031-05-06 07:09")):
        response = abbie_client.post(step_url(order, "configure"), config_data(billing_start_date=value))
        assert response.status_code == 302
        order.refresh_from_db()
        assert order.billing_start_date.astimezone(UTC).strftime("%Y-%m-%d %H:%M") == expected


def test_the_schedule_form_accepts_the_pickers_value():
    now = dt.datetime(2030, 1, 1, tzinfo=UTC)
    form = ScheduleForm({"scheduled_for": " 2030-01-02T03:04 "}, now=now)
    assert form.is_valid(), form.errors
    assert form.due_at() == dt.datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    form = ScheduleForm({"scheduled_for": "soon"}, now=now)
    assert not form.is_valid() and form.errors["scheduled_for"] == [str(SCHEDULE_INVALID)]
