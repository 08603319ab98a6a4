"""Issue 23: values at the edges of what Python can hold, walked over every date filter of My imports
(its page, its export, the API's list), every date field of the API, its cursors and its JSON
bodies. Every one is answered, never a 500: the pages and lists with what the filter means (a
"to" date of 9999-12-31 has no end), the API's fields, filters and cursors with a 400 and a message."""

import base64
import datetime as dt

import pytest
from django.utils import timezone

from core.api.pagination import CURSOR_INVALID
from core.api.parsers import JSON_TOO_DEEP
from devtools.demo import BASIC
from imports.api.views import SCHEDULE_AT_INVALID
from orders.configuration import BILLING_START_OUT_OF_RANGE
from orders.validation import SCHEDULE_IN_PAST, SCHEDULE_TOO_FAR
from tests.imports.helpers import schedule

DATE_FILTERS = ("created_from", "created_to", "due_from", "due_to")
HOSTILE_DATES = ("9999-12-31", "0001-01-01", "1-01-01", "99999-01-01", "2024-02-30", "0000-00-00", "x" * 5000)
URL = "/api/v1/companies/466158/scheduled-provisionings/"


@pytest.fixture
def job(demo):
    return schedule(demo, due_at=timezone.now() + dt.timedelta(days=1))


@pytest.mark.parametrize("value", HOSTILE_DATES)
@pytest.mark.parametrize("name", DATE_FILTERS)
def test_every_date_filter_of_my_imports_its_export_and_the_api_answers(client, abbie, demo, job, name, value):
    client.force_login(demo.admin_abbie)
    for url in ("/imports/", "/imports/export/?format=csv", "/imports/export/?format=xlsx"):
        response = client.get(url, {name: value})
        assert response.status_code == 200, (url, name, value)
        b"".join(response.streaming_content) if response.streaming else response.content
    api = abbie.get("/api/v1/imports/", {name: value})
    # The API answers a date it cannot read with a 400 naming the filter (issue 22), a real one with the list.
    expected = 200 if value in ("9999-12-31", "0001-01-01") else 400
    assert api.status_code == expected, (name, value, api.content[:200])
    if expected == 400:
        assert list(api.json()["errors"]) == [name]


@pytest.mark.parametrize("name", ("created_to", "due_to"))
def test_a_to_date_of_the_last_day_there_is_has_no_end(client, abbie, demo, job, name):
    response = abbie.get("/api/v1/imports/", {name: "9999-12-31"})
    assert [found["id"] for found in response.json()["results"]] == [job.pk]
    assert abbie.get("/api/v1/imports/", {name.replace("_to", "_from"): "9999-12-31"}).json()["results"] == []


def test_the_first_day_there_is_round_trips_through_the_pages_links(client, demo, job):
    client.force_login(demo.admin_abbie)
    html = client.get("/imports/", {"created_from": "0001-01-01"}).content.decode()
    assert "created_from=0001-01-01" in html and "created_from=1-01-01" not in html


EDGE_TIMES = [
    ("0001-01-01T00:00:00+05:00", "past"),  # UTC: the year 0
    ("9999-12-31T23:59:59-05:00", "far"),  # UTC: the year 10000
    ("9999-12-31T23:59:59.999999+00:00", "far"),
    ("0001-01-01T00:00:00", "past"),
    ("10000-01-01T00:00:00Z", "invalid"),
]


@pytest.mark.parametrize("value, kind", EDGE_TIMES)
def test_schedule_at_at_the_edges_of_time_is_400_with_the_pages_message(demo, abbie, value, kind):
    response = abbie.post(URL, {"product_code": BASIC, "quantity": 1, "accept_terms": True, "schedule_at": value}, format="json")
    assert response.status_code == 400, response.content[:300]
    expected = {"past": SCHEDULE_IN_PAST, "far": SCHEDULE_TOO_FAR, "invalid": SCHEDULE_AT_INVALID}[kind]
    assert response.json()["errors"]["schedule_at"][0].startswith(str(expected)[:30])


@pytest.mark.parametrize("value, kind", EDGE_TIMES)
def test_billing_start_date_at_the_edges_of_time_is_400_with_the_pages_message(demo, abbie, value, kind):
    body = {"product_code": BASIC, "quantity": 1, "accept_terms": True, "billing_start_date": value}
    response = abbie.post(URL, body, format="json")
    assert response.status_code == 400, response.content[:300]
    messages = response.json()["errors"]["billing_start_date"]
    assert len(messages) == 1 and messages[0], messages
    if kind != "invalid":
        assert messages == [str(BILLING_START_OUT_OF_RANGE % {"min": 2000, "max": 2100})]


@pytest.mark.parametrize("value, kind", EDGE_TIMES)
def test_reschedule_at_the_edges_of_time_is_400_with_the_pages_message(demo, abbie, job, value, kind):
    response = abbie.post(f"/api/v1/imports/{job.pk}/reschedule/", {"schedule_at": value}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert set(response.json()["errors"]) == {"schedule_at"}


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


HOSTILE_CURSORS = [
    _cursor("p=notadate"),
    _cursor("p=99999999999999999999999"),
    _cursor("p=-99999999999999999999999"),
    _cursor("p=9999-12-31T23:59:59-05:00"),
    _cursor("p=1.5"),
    "not base64 at all!",
]


@pytest.mark.parametrize("cursor", HOSTILE_CURSORS)
@pytest.mark.parametrize("url", ["/api/v1/companies/", "/api/v1/subscriptions/", "/api/v1/imports/"])
def test_a_tampered_cursor_is_400_with_a_message(demo, abbie, url, cursor):
    response = abbie.get(url, {"cursor": cursor})
    assert response.status_code == 400, (url, cursor, response.content[:300])
    assert response.json() == {"detail": str(CURSOR_INVALID), "errors": {"cursor": [str(CURSOR_INVALID)]}}


def test_a_cursor_the_api_gave_still_pages(demo, abbie):
    first = abbie.get("/api/v1/companies/", {"per_page": 1}).json()
    second = abbie.get(first["next"])
    assert second.status_code == 200 and second.json()["results"]


@pytest.mark.parametrize("depth", [100_000, 1_000, 40])
@pytest.mark.parametrize("where", ["provisioning", "reschedule"])
def test_json_nested_too_deep_is_400_in_the_apis_shape(demo, abbie, job, where, depth):
    url = URL if where == "provisioning" else f"/api/v1/imports/{job.pk}/reschedule/"
    body = "[" * depth + "]" * depth
    response = abbie.post(url, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": str(JSON_TOO_DEEP), "errors": {}}
