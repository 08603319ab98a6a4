"""The subscription resource's term (issue 27's fixed keys): term_start, term_end, auto_renew,
cancellation_window_ends_at, with what the vendor holds for the renewal and when it was last asked."""

import datetime as dt

import pytest

from orders.models import Subscription

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc


def test_the_subscription_resource_has_its_term(abbie, demo):
    start = dt.datetime(2026, 12, 1, tzinfo=UTC)
    Subscription.objects.filter(account_id=493796).update(
        term_start=start, term_end=dt.datetime(2027, 12, 1, tzinfo=UTC), auto_renew=False,
        cancellation_window_ends_at=start + dt.timedelta(hours=168), next_term_instructions={"quantity": 2},
    )
    detail = abbie.get("/api/v1/subscriptions/493796/").json()
    assert (detail["term_start"], detail["term_end"], detail["auto_renew"], detail["cancellation_window_ends_at"]) == (
        "2026-12-01T00:00:00Z", "2027-12-01T00:00:00Z", False, "2026-12-08T00:00:00Z"
    )
    assert (detail["next_term_instructions"], detail["synced_at"]) == ({"quantity": 2}, None)
    listed = {s["account_id"]: s for s in abbie.get("/api/v1/subscriptions/").json()["results"]}
    assert listed[493796]["term_end"] == "2027-12-01T00:00:00Z"
    # A service without a term (Azure Plan): nulls, auto-renew as stored.
    azure = listed[466160]
    assert (azure["term_start"], azure["term_end"], azure["cancellation_window_ends_at"]) == (None, None, None)


def test_the_schema_names_the_term_keys(abbie):
    schema = abbie.get("/api/schema/?format=json").json()
    properties = schema["components"]["schemas"]["Subscription"]["properties"]
    assert {"term_start", "term_end", "auto_renew", "cancellation_window_ends_at"} <= set(properties)
