"""core.datetimes: the one parse of typed date-times (ISO text + time zone → UTC) and the one way
they are shown (YYYY-MM-DD HH:MM UTC, the local line YYYY-MM-DD HH:MM + abbreviation)."""

import datetime as dt
import re

import pytest
from django import forms
from django.template import Context, Template
from django.utils import timezone

from core.datetimes import (
    DATETIME_INVALID,
    TIME_AMBIGUOUS,
    TIME_NONEXISTENT,
    TIME_ZONE_INVALID,
    YEAR_OUT_OF_RANGE,
    UTCDateTimeField,
    ZonedDateTimeField,
    ZonedForm,
    is_time_zone,
    local_text,
    time_zone_names,
    utc_text,
)

UTC = dt.timezone.utc


class WhenForm(ZonedForm, forms.Form):
    when = ZonedDateTimeField(required=False)


def clean(text, zone=None):
    data = {"when": text} if zone is None else {"when": text, "when_tz": zone}
    form = WhenForm(data)
    return form, form.is_valid()


# --- the field ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2027-01-04 23:47", " 2027-01-04 23:47 ", "2027-01-04T23:47", "\u00a02027-01-04 23:47\t"])
def test_without_a_zone_the_text_is_utc(text):
    form, valid = clean(text)
    assert valid, form.errors
    assert form.cleaned_data["when"] == dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)


def test_utc_chosen_explicitly_is_utc():
    form, valid = clean("2027-01-04 23:47", "UTC")
    assert valid and form.cleaned_data["when"] == dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "typed", "stored"),
    [
        ("America/Lima", "2027-01-04 18:47", dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)),  # west, UTC-5
        ("Asia/Tokyo", "2027-01-05 08:47", dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)),  # east, UTC+9
        ("Asia/Kolkata", "2027-01-05 05:17", dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)),  # east, half hour
        ("Europe/Madrid", "2027-07-01 12:00", dt.datetime(2027, 7, 1, 10, 0, tzinfo=UTC)),  # summer time
    ],
)
def test_a_zone_east_or_west_is_converted_to_utc(zone, typed, stored):
    form, valid = clean(typed, zone)
    assert valid, form.errors
    assert form.cleaned_data["when"] == stored
    assert form.cleaned_data["when"].tzinfo == UTC
    assert form.chosen_time_zone() == zone


def test_a_local_time_the_clocks_skip_is_refused_with_the_first_time_after_the_gap():
    form, valid = clean("2027-03-14 02:30", "America/New_York")
    assert not valid
    assert form.errors["when"] == [
        str(TIME_NONEXISTENT % {"value": "2027-03-14 02:30", "zone": "America/New_York", "after": "03:00"})
    ]


def test_a_local_time_the_clocks_show_twice_is_refused_with_both_utc_moments():
    form, valid = clean("2027-11-07 01:30", "America/New_York")
    assert not valid
    message = form.errors["when"][0]
    assert message == str(
        TIME_AMBIGUOUS
        % {"value": "2027-11-07 01:30", "zone": "America/New_York", "first": "2027-11-07 05:30 UTC", "second": "2027-11-07 06:30 UTC"}
    )


def test_the_hours_around_a_transition_are_fine():
    assert clean("2027-03-14 03:00", "America/New_York")[0].cleaned_data["when"] == dt.datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    assert clean("2027-11-07 02:00", "America/New_York")[0].cleaned_data["when"] == dt.datetime(2027, 11, 7, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "US/Eastern", "localtime", "../../etc/passwd", "x" * 300])
def test_a_zone_not_in_the_list_is_refused(zone):
    form, valid = clean("2027-01-04 18:47", zone)
    assert not valid
    assert form.errors["when"] == [str(TIME_ZONE_INVALID)]
    assert form.chosen_time_zone() is None


@pytest.mark.parametrize(
    "text", ["4/1/27, 23:47", "1/4/27 06:47 PM", "2027-01-04", "2027-13-01 10:00", "2027-01-04 24:00", "soon", "\x00", "2" * 50]
)
def test_other_text_is_refused(text):
    form, valid = clean(text, "America/Lima")
    assert not valid
    assert form.errors["when"] == [str(DATETIME_INVALID)]


def test_a_form_gives_its_own_messages_and_the_year_rule_applies():
    class Own(forms.Form):
        when = ZonedDateTimeField(error_messages={"invalid": "bad", "required": "needed"})

    assert Own({"when": "x"}).errors["when"] == ["bad"]
    assert Own({"when": " "}).errors["when"] == ["needed"]
    assert Own({"when": "2101-01-01 00:00"}).errors["when"] == [str(YEAR_OUT_OF_RANGE % {"min": 2000, "max": 2100})]


def test_empty_is_none_when_not_required():
    form, valid = clean("", "America/Lima")
    assert valid and form.cleaned_data["when"] is None
    assert form.chosen_time_zone() is None  # nothing typed: nothing to remember


def test_a_plain_string_or_datetime_is_read_as_utc():
    """The saved configuration is re-validated as form data, and the API passes values, with no zone."""
    field = ZonedDateTimeField()
    assert field.clean("2027-01-04 23:47") == dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)
    assert field.clean(dt.datetime(2027, 1, 4, 23, 47)) == dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)


def test_utc_field_reads_text_as_utc_whatever_the_active_zone():
    with timezone.override("America/Lima"):
        assert UTCDateTimeField().clean(" 2027-01-04T23:47 ") == dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)


# --- the control as rendered ------------------------------------------------------------------------


def _without_options(html: str) -> str:
    return re.sub(r"<option>[^<]*</option>", "", html)


def test_the_control_is_iso_text_and_a_zone_utc_by_default():
    html = str(WhenForm()["when"])
    assert 'type="text" name="when"' in html and 'placeholder="YYYY-MM-DD HH:MM"' in html
    assert 'id="id_when"' in html and 'name="when_tz"' in html and 'id="id_when_tz"' in html
    assert "datetime-local" not in html
    assert "<option selected>UTC</option>" in html
    assert 'id="id_when_utc"' in html and 'aria-describedby="id_when_utc"' in html


def test_a_fresh_control_shows_the_initial_utc_value_in_the_users_zone_and_the_utc_result():
    form = WhenForm(initial={"when": dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)}, time_zone="America/Lima")
    html = str(form["when"])
    assert 'value="2027-01-04 18:47"' in html
    assert "<option selected>America/Lima</option>" in html
    assert "Stored as 2027-01-04 23:47 UTC" in html


def test_a_bound_control_shows_what_will_be_stored_or_nothing_when_it_cannot_be_read():
    assert "Stored as 2027-01-04 23:47 UTC" in str(WhenForm({"when": "2027-01-04 18:47", "when_tz": "America/Lima"})["when"])
    html = str(WhenForm({"when": "2027-03-14 02:30", "when_tz": "America/New_York"})["when"])
    assert "Stored as" not in html and "<option selected>America/New_York</option>" in html


def test_the_zone_list_is_utc_then_area_city_names():
    names = time_zone_names()
    assert names[0] == "UTC" and "America/Lima" in names and "Europe/Madrid" in names
    assert not [name for name in names[1:] if "/" not in name]
    assert is_time_zone("Asia/Kolkata") and not is_time_zone("") and not is_time_zone(None)


# --- shown ------------------------------------------------------------------------------------------


def test_utc_and_local_text_read_the_same_way():
    moment = dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)
    assert utc_text(moment) == "2027-01-04 23:47 UTC"
    assert local_text(moment, "America/Lima") == "2027-01-04 18:47 UTC-5"  # tzdata has no letters for Lima
    assert local_text(moment, "America/New_York") == "2027-01-04 18:47 EST"
    assert local_text(moment, "Asia/Kolkata") == "2027-01-05 05:17 IST"
    assert local_text(moment, "Asia/Kathmandu") == "2027-01-05 05:32 UTC+5:45"
    assert local_text(moment, "UTC") == "" and local_text(moment, "") == "" and local_text(None, "America/Lima") == ""


class _User:
    is_authenticated = True

    def __init__(self, zone):
        self.time_zone = zone


def test_the_cell_tag_has_the_utc_line_and_the_local_line_in_the_users_zone():
    template = Template("{% load datetimes %}{% datetime_cell when %}")
    moment = dt.datetime(2027, 1, 4, 23, 47, tzinfo=UTC)
    html = template.render(Context({"when": moment, "user": _User("America/Lima")}))
    assert html == (
        '<time datetime="2027-01-04T23:47:00+00:00">2027-01-04 23:47 UTC</time>'
        '<small class="dt-local" data-utc="2027-01-04T23:47:00+00:00">2027-01-04 18:47 UTC-5</small>'
    )
    # No zone of its own: the line is left for static/js/datetimes.js (the browser's zone).
    html = template.render(Context({"when": moment, "user": _User("")}))
    assert '<small class="dt-local" data-utc="2027-01-04T23:47:00+00:00"></small>' in html
    assert Template("{% load datetimes %}{% datetime_cell when %}").render(Context({"when": None})) == "-"


def test_the_cell_tag_shows_a_range_and_the_filter_a_sentence_date():
    moment, end = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC), dt.datetime(2024, 8, 2, 9, 30, tzinfo=UTC)
    html = Template("{% load datetimes %}{% datetime_cell a end=b local=False %}|{{ a|utc }}").render(Context({"a": moment, "b": end}))
    assert html == ('<time datetime="2024-07-31T10:00:00+00:00" class="dt-range"><span>2024-07-31 10:00 -</span> '
                    '<span>2024-08-02 09:30 UTC</span></time>|2024-07-31 10:00 UTC')
