"""/dates/utc/: the UTC line under a date-time control, from core.datetimes' own parse."""

import pytest
from django.test import Client
from django.urls import reverse

URL = reverse("datetime_preview")


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ({"value": "2027-01-04 18:47", "zone": "America/Lima"}, {"utc": "Stored as 2027-01-04 23:47 UTC", "error": ""}),
        ({"value": "2027-01-05 08:47", "zone": "Asia/Tokyo"}, {"utc": "Stored as 2027-01-04 23:47 UTC", "error": ""}),
        ({"value": "2027-01-04 23:47"}, {"utc": "Stored as 2027-01-04 23:47 UTC", "error": ""}),
        ({"value": "2027-01-0", "zone": "UTC"}, {"utc": "", "error": ""}),  # still typing: nothing to say
        ({"value": "", "zone": "UTC"}, {"utc": "", "error": ""}),
    ],
)
def test_the_preview_says_what_will_be_stored(abbie_client, query, answer):
    response = abbie_client.get(URL, query)
    assert response.status_code == 200 and response.json() == answer


def test_gap_fold_and_zone_errors_are_said_in_the_line(abbie_client):
    gap = abbie_client.get(URL, {"value": "2027-03-14 02:30", "zone": "America/New_York"}).json()
    assert gap["utc"] == "" and "does not exist in America/New_York" in gap["error"]
    fold = abbie_client.get(URL, {"value": "2027-11-07 01:30", "zone": "America/New_York"}).json()
    assert "2027-11-07 05:30 UTC" in fold["error"] and "2027-11-07 06:30 UTC" in fold["error"]
    assert "Choose a time zone" in abbie_client.get(URL, {"value": "2027-01-04 10:00", "zone": "Mars/Base"}).json()["error"]


def test_spanish_and_anonymous(abbie_client):
    abbie_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    assert abbie_client.get(URL, {"value": "2027-01-04 18:47", "zone": "America/Lima"}).json()["utc"] == (
        "Se guarda como 2027-01-04 23:47 UTC"
    )
    assert Client().get(URL, {"value": "2027-01-04 18:47"}).status_code == 302
