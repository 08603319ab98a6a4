"""Orders > Upcoming and GET /api/v1/upcoming/: what is scheduled across the user's subtree, soonest
first, grouped by day, filtered by horizon, kind and company, keyset pages, export."""

import csv
import datetime as dt
import io

import pytest

from imports.upcoming.listing import Cursor, UpcomingQuery
from imports.upcoming.selectors import upcoming_page

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def kinds(page):
    return [(item.kind, item.id) for item in page.items]


def test_everything_of_the_subtree_soonest_first(world, demo):
    w = world
    now = world["now"]
    page = upcoming_page(demo.admin_abbie, UpcomingQuery(company=w["acme"].account_id), now=now)
    assert kinds(page) == [
        ("provisioning", w["job"].pk),
        ("change", w["at_change"].pk),
        ("window", w["window"].pk),
        ("renewal_changes", w["renewing"].pk),
        ("renewal", w["plain"].pk),
    ]
    assert w["window_ends"] == now + 4 * DAY
    renewal = page.items[3]
    # 8 seats (the change) at the price in force on the renewal day.
    assert renewal.price_text == "40.00 USD"
    assert renewal.text == "Renews at 40.00 USD"
    assert renewal.changes == [f"Quantity 10 → 8 at renewal on {(now + 5 * DAY):%Y-%m-%d}"]
    assert page.items[1].text == f"Quantity 10 → 12 on {(now + 3 * DAY):%Y-%m-%d %H:%M} UTC"
    assert [day for day, _items in page.days] == [(now + n * DAY).date() for n in (2, 3, 4, 5, 10)]
    assert not page.has_next and not page.has_previous


def test_horizon_kind_and_company_filters(world, demo):
    w = world
    now = world["now"]
    acme = w["acme"].account_id
    week = upcoming_page(demo.admin_abbie, UpcomingQuery(days=7, company=acme), now=now)
    quarter = upcoming_page(demo.admin_abbie, UpcomingQuery(days=90, company=acme), now=now)
    renewals = upcoming_page(demo.admin_abbie, UpcomingQuery(kinds=("renewal",), company=acme), now=now)
    with_changes = upcoming_page(demo.admin_abbie, UpcomingQuery(kinds=("renewal_changes",), company=acme), now=now)
    norte = upcoming_page(demo.admin_abbie, UpcomingQuery(company=demo.norte.account_id), now=now)
    hidden = upcoming_page(demo.admin_abbie, UpcomingQuery(company=w["cusco"].account_id, per_page=100), now=now)
    assert w["plain"].pk not in [i.id for i in week.items]
    assert ("renewal", w["later"].pk) in kinds(quarter)
    assert kinds(renewals) == [("renewal", w["plain"].pk)]
    assert kinds(with_changes) == [("renewal_changes", w["renewing"].pk)]
    assert not [item for item in norte.items if item.company == w["acme"]]
    # A company the user cannot see is ignored, as an unknown value: its own subtree, nothing of ANDES.
    assert w["other"].pk not in [i.id for i in hidden.items if i.kind.startswith("renewal")]
    assert set(kinds(upcoming_page(demo.admin_abbie, UpcomingQuery(company=acme), now=now))) <= set(kinds(hidden))


def test_keyset_pages_forward_and_back(world, demo):
    now = world["now"]
    acme = world["acme"].account_id
    everything = [item.key for item in upcoming_page(demo.admin_abbie, UpcomingQuery(days=90, company=acme), now=now).items]
    query, seen, pages = UpcomingQuery(days=90, per_page=2, company=acme), [], []
    while query is not None:
        page = upcoming_page(demo.admin_abbie, query, now=now)
        pages.append(page)
        seen += [item.key for item in page.items]
        query = page.next()
    back = upcoming_page(demo.admin_abbie, pages[-1].previous(), now=now)
    assert seen == everything and len(pages) == 3
    assert [item.key for item in back.items] == everything[2:4]
    assert back.has_next and back.has_previous


def test_other_resellers_items_are_not_shown(world, demo):
    now = world["now"]
    page = upcoming_page(demo.admin_andes, UpcomingQuery(days=90, per_page=100), now=now)
    assert ("renewal", world["other"].pk) in kinds(page)
    assert not [item for item in page.items if item.company == world["acme"]]


def test_the_page_groups_by_day_and_exports(world, demo, abbie_client):
    now = world["now"]
    response = abbie_client.get("/orders/upcoming/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{(now + 5 * DAY):%Y-%m-%d}" in body and "Renews at 40.00 USD" in body
    assert "Quantity 10 → 8 at renewal" in body
    export = abbie_client.get(f"/orders/upcoming/export/?format=csv&company={world['acme'].account_id}")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    xlsx = abbie_client.get("/orders/upcoming/export/?format=xlsx&kind=renewal")
    assert rows[0][:3] == ["Date (UTC)", "Time (UTC)", "Kind"]
    assert len(rows) == 6 and rows[4][2] == "Renewal with changes" and rows[4][8] == "40.00 USD"
    assert xlsx.status_code == 200


def test_bad_values_are_said_on_the_page(world, abbie_client):
    now = world["now"]
    response = abbie_client.get("/orders/upcoming/?days=12&kind=bogus&cursor=zzz")
    assert response.status_code == 200
    body = response.content.decode()
    assert "is not a horizon" in body and "bogus" in body and "The cursor is not one" in body


def test_cursor_round_trip_and_tampering():
    now = dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)
    cursor = Cursor(at=now, rank=2, id=42, before=True)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("bm9wZQ") is None and Cursor.decode("!!!") is None


def test_query_count_is_bounded(world, demo, django_assert_max_num_queries):
    now = world["now"]
    # Where the subtree is and its ids, the four reads, their companies, the renewals' changes and
    # prices (two), the new subscriptions' products.
    with django_assert_max_num_queries(11):
        upcoming_page(demo.admin_abbie, UpcomingQuery(days=90), now=now)


def test_a_company_of_the_other_branch_is_ignored_and_nothing_of_it_leaks(world, demo, client):
    """As ANDES CLOUD, naming ABBIE BOX's customer: ignored like an unknown value (its own subtree shown)."""
    client.force_login(demo.admin_andes)
    page = upcoming_page(demo.admin_andes, UpcomingQuery(days=90, company=world["acme"].account_id), now=world["now"])
    assert page.company is None and ("renewal", world["other"].pk) in kinds(page)
    assert not [item for item in page.items if item.company == world["acme"]]
    body = client.get(f"/orders/upcoming/?days=90&company={world['acme'].account_id}").content.decode()
    assert "ACME UPCOMING" not in body and "CUSCO UPCOMING" in body
    export = client.get(f"/orders/upcoming/export/?format=csv&company={world['acme'].account_id}")
    assert "ACME UPCOMING" not in b"".join(export.streaming_content).decode("utf-8-sig")


def test_a_large_subtree_is_read_by_subquery_with_the_same_items(world, demo, monkeypatch):
    """Up to SCOPE_IDS_MAX companies the scope is their ids (PostgreSQL plans a small subtree right
    only then); beyond, the path subquery: the same items either way."""
    from imports.upcoming import selectors

    now = world["now"]
    queries = [UpcomingQuery(days=90), UpcomingQuery(days=90, company=world["acme"].account_id)]
    as_ids = [kinds(upcoming_page(demo.admin_abbie, query, now=now)) for query in queries]
    monkeypatch.setattr(selectors, "SCOPE_IDS_MAX", 0)
    by_subquery = [kinds(upcoming_page(demo.admin_abbie, query, now=now)) for query in queries]
    assert by_subquery == as_ids and all(as_ids)


def test_upgrades_name_their_target_and_renewals_are_priced_as_upgraded(world, demo, django_assert_max_num_queries):
    """The services an upgrade names are read for the page (a renewal's own service is priced by its id)."""
    from tests.imports.helpers import BASIC, STANDARD
    from tests.upcoming.helpers import change

    w, now = world, world["now"]
    basic, standard = demo.service(BASIC), demo.service(STANDARD)
    at = change(w["changed"], kind="upgrade", due_at=now + 1 * DAY, service=standard)
    change(w["later"], kind="upgrade", when="renewal", service=standard)
    with django_assert_max_num_queries(13):
        page = upcoming_page(demo.admin_abbie, UpcomingQuery(days=90, company=w["acme"].account_id), now=now)
    items = {(item.kind, item.id): item for item in page.items}
    assert items[("change", at.pk)].text == f"Upgrade {basic.name} → {standard.name} on {at.due_at:%Y-%m-%d %H:%M} UTC"
    upgraded = items[("renewal_changes", w["later"].pk)]
    plain = items[("renewal", w["plain"].pk)]  # a Standard licence: the unit price the upgrade renews at
    assert upgraded.changes == [f"Upgrade {basic.name} → {standard.name} at renewal on {w['later'].term_end:%Y-%m-%d}"]
    assert upgraded.renewal.service == standard and plain.renewal.unit_price is not None
    assert upgraded.renewal.unit_price == plain.renewal.unit_price and upgraded.renewal.quantity == 10
