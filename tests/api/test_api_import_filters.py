"""Issue 22 point 6: a filter value or page size the list cannot use is a 400 in the API's error shape,
never a 200 listing every job as if there were no filter."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.imports.helpers import schedule

URL = "/api/v1/imports/"


@pytest.fixture
def job(demo):
    return schedule(demo, due_at=timezone.now() + dt.timedelta(days=1))


def test_an_unknown_status_is_400_with_the_allowed_values(demo, abbie, job):
    response = abbie.get(URL, {"status": "bogus"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"}
    (message,) = body["errors"]["status"]
    assert message == "“bogus” is not a value of status; allowed values: pending, in_progress, completed, completed_with_errors, failed, cancelled, waiting."
    assert body["detail"] == message  # the only message is the detail too


def test_one_unknown_status_among_good_ones_is_400(demo, abbie, job):
    assert abbie.get(f"{URL}?status=pending&status=done").status_code == 400
    assert abbie.get(f"{URL}?status=pending&status=failed").status_code == 200


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "101", "9" * 50, " "])
def test_a_page_size_that_is_not_one_is_400(demo, abbie, job, value):
    response = abbie.get(URL, {"per_page": value})
    if not value.strip():
        assert response.status_code == 200  # empty: the default size
        return
    assert response.status_code == 400, value
    body = response.json()
    assert list(body["errors"]) == ["per_page"]
    assert "per_page takes a whole number from 1 to 100" in body["errors"]["per_page"][0]


def test_a_good_page_size_still_pages(demo, abbie, job):
    schedule(demo, due_at=timezone.now() + dt.timedelta(days=2))
    body = abbie.get(URL, {"per_page": "1"}).json()
    assert len(body["results"]) == 1 and body["next"]


def test_every_bad_filter_is_named_at_once(demo, abbie, job):
    response = abbie.get(URL, {"source": "x", "account_type": "y", "company": "abc", "creator": "me",
                               "job": "1e3", "created_from": "garbage", "due_to": "2024-02-30"})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The request has errors; see errors for each field."
    assert set(body["errors"]) == {"source", "account_type", "company", "creator", "job", "created_from", "due_to"}
    assert body["errors"]["created_from"] == ["“garbage” is not a date; created_from takes YYYY-MM-DD, e.g. 2024-07-31."]
    assert body["errors"]["company"] == ["“abc” is not a whole number (company takes an id)."]


def test_empty_filters_are_no_filter(demo, abbie, job):
    response = abbie.get(URL, {"status": "", "source": "", "company": "", "created_from": ""})
    assert response.status_code == 200
    assert [found["id"] for found in response.json()["results"]] == [job.pk]


def test_a_bad_page_size_is_400_on_the_companies_too(demo, abbie):
    assert abbie.get("/api/v1/companies/", {"per_page": "abc"}).status_code == 400


def test_the_page_says_which_filter_it_did_not_understand(client, demo, job):
    client.force_login(demo.admin_abbie)
    response = client.get("/imports/", {"created_from": "garbage", "status": "bogus"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Part of this address was not understood, so it is not applied:" in html
    assert "“garbage” is not a date; created_from takes YYYY-MM-DD, e.g. 2024-07-31." in html
    assert "“bogus” is not a value of status" in html
    assert f'id="import-{job.pk}"' in html  # the list itself, unfiltered
    assert "not understood" not in client.get("/imports/", {"created_from": "2024-07-01"}).content.decode()
