"""GET /api/v1/upcoming/: the Upcoming view with the page's filters, cursor pages, 400 on values it cannot use."""

import datetime as dt

import pytest

from tests.api.conftest import client_for, token_for
from tests.upcoming.conftest import world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def test_the_same_list_with_cursor_pages(world, demo):  # noqa: F811
    api = client_for(token_for(demo.admin_abbie))
    now, acme = world["now"], world["acme"].account_id
    first = api.get(f"/api/v1/upcoming/?per_page=3&company={acme}")
    assert first.status_code == 200, first.content
    second = api.get(first.json()["next"])
    renewals = api.get(f"/api/v1/upcoming/?kind=renewal_changes&company={acme}").json()["results"]
    assert [r["kind"] for r in first.json()["results"]] == ["provisioning", "change", "window"]
    assert [r["kind"] for r in second.json()["results"]] == ["renewal_changes", "renewal"]
    assert second.json()["next"] is None and second.json()["previous"]
    assert renewals[0]["renewal_price"] == "40.00 USD"
    assert renewals[0]["changes"] == [f"Quantity 10 → 8 at renewal on {(now + 5 * DAY):%Y-%m-%d}"]
    assert renewals[0]["subscription_account_id"] == world["renewing"].account_id


def test_another_reseller_sees_only_its_own(world, demo):  # noqa: F811
    api = client_for(token_for(demo.admin_andes))
    results = api.get("/api/v1/upcoming/?days=90&per_page=100").json()["results"]
    assert ("renewal", world["other"].account_id) in [(r["kind"], r["subscription_account_id"]) for r in results]
    assert world["acme"].account_id not in [r["company_account_id"] for r in results]


@pytest.mark.parametrize("query, name", [
    ("days=12", "days"), ("kind=bogus", "kind"), ("company=abc", "company"), ("per_page=0", "per_page"),
    ("per_page=101", "per_page"), ("cursor=xyz", "cursor"),
])
def test_bad_values_are_400_naming_the_parameter(demo, query, name):
    api = client_for(token_for(demo.admin_abbie))
    response = api.get(f"/api/v1/upcoming/?{query}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [name]
