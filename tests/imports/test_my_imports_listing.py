"""My imports as the address says: rows per page, page, sort, filters, search, chips; bad input
falls back to the defaults; every page costs the same number of queries for 10 jobs or many."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from accounts.services import company_create
from imports.my_imports.listing import DEFAULT_PAGE_SIZE, Listing
from imports.models import ImportJob, ImportRow
from imports.jobs.services import search_entry_for

from .helpers import UTC, schedule

URL = "/imports/"
T0 = dt.datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
DUE = dt.datetime(2024, 8, 1, 10, 0, tzinfo=UTC)


def shown_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tbody class="imports-job" id="import-(\d+)"', html)]


def make_jobs(demo, n, *, start=T0, **fields):
    jobs = []
    for i in range(n):
        with freeze_time(start + dt.timedelta(minutes=i)):
            jobs.append(schedule(demo, due_at=DUE + dt.timedelta(hours=i % 7), name=f"job {i}", **fields))
    return jobs


def set_status(job, status, *, imported=0, errors=0):
    ImportJob.objects.filter(pk=job.pk).update(status=status, imported_count=imported, error_count=errors)


def href(html: str, rel: str) -> str:
    match = re.search(rf'<a href="([^"]*)" rel="{rel}"', html)
    return match.group(1).replace("&amp;", "&") if match else ""


# --- parsing the address -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["per_page=7", "per_page=abc", "per_page=", "page=0", "page=-3", "page=²", "page=" + "9" * 400, "sort=nope",
     "sort=--created", "status=weird", "source=x", "account_type=<b>", "company=abc", "company=" + "9" * 30,
     "creator=-1", "created_from=2024-13-45", "due_to=yesterday", "after=garbage", "before=~", "after=x~y",
     "job=1.5"],
)
def test_unknown_values_fall_back_to_the_defaults(query):
    listing = Listing.parse(QueryDict(query))
    assert listing.per_page == DEFAULT_PAGE_SIZE
    assert listing.page >= 1
    assert (listing.sort, listing.descending) == ("created", True)
    assert not listing.has_filters
    assert listing.cursor is None or listing.cursor.id >= 0


@pytest.mark.parametrize("query", ["per_page=7", "page=abc", "page=99999", "sort=nope", "status=weird&status=failed",
                                   "company=123456789", "creator=999999", "created_from=2024-99-01",
                                   "after=2024-07-01T00:00:00+00:00~5", "before=zz~1", "after=" + "x" * 500 + "~1",
                                   "q=%00", "job=99999999999999999999"])
def test_bad_addresses_answer_200(abbie_client, demo, query):
    make_jobs(demo, 3)
    assert abbie_client.get(f"{URL}?{query}").status_code == 200


def test_the_address_round_trips():
    listing = Listing.parse(QueryDict(
        "per_page=25&page=3&sort=status&status=pending&status=failed&source=scheduled&account_type=products"
        "&company=466158&creator=4&created_from=2024-07-01&created_to=2024-07-31&due_from=2024-08-01"
        "&due_to=2024-08-31&q=Kiosk&job=9"
    ))
    assert Listing.parse(QueryDict(listing.urlencode())) == listing
    assert listing.cleared() == Listing(per_page=25, sort="status", descending=False)


# --- rows per page and pages -----------------------------------------------------------------------


def test_rows_per_page_25_keeps_the_filters_in_the_links(abbie_client, demo):
    jobs = make_jobs(demo, 60)
    html = abbie_client.get(URL, {"per_page": 25, "source": "scheduled"}).content.decode()
    assert len(shown_ids(html)) == 25
    assert "1-25 of 60" in html
    assert '<option value="25" selected>25</option>' in html
    next_url = href(html, "next")
    assert "per_page=25" in next_url and "source=scheduled" in next_url and "page=2" in next_url
    second = abbie_client.get(next_url).content.decode()
    assert "26-50 of 60" in second
    assert shown_ids(second) == [job.pk for job in reversed(jobs)][25:50]


@pytest.mark.parametrize("sort", ["-created", "created", "-schedule", "schedule", "-status", "status",
                                  "-imported", "imported", "-errors", "errors"])
def test_next_and_previous_links_walk_every_job_once_in_order(abbie_client, demo, sort):
    jobs = make_jobs(demo, 23)
    for i, job in enumerate(jobs):
        set_status(job, ["pending", "failed", "completed"][i % 3], imported=i % 4, errors=i % 2)
    column = {"created": "created_at", "schedule": "due_at", "status": "status", "imported": "imported_count",
              "errors": "error_count"}[sort.lstrip("-")]
    prefix = "-" if sort.startswith("-") else ""
    expected = list(ImportJob.objects.order_by(f"{prefix}{column}", f"{prefix}id").values_list("pk", flat=True))

    url, seen, pages = f"{URL}?sort={sort}", [], []
    while url:
        html = abbie_client.get(url).content.decode()
        pages.append(url)
        seen += shown_ids(html)
        url = href(html, "next")
    assert seen == expected
    assert len(pages) == 3
    # Back from the last page by the previous links, and the last page read from the end.
    html = abbie_client.get(pages[-1]).content.decode()
    assert shown_ids(abbie_client.get(href(html, "prev")).content.decode()) == expected[10:20]
    assert shown_ids(abbie_client.get(f"{URL}?sort={sort}&page=3").content.decode()) == expected[20:]
    assert shown_ids(abbie_client.get(f"{URL}?sort={sort}&page=2").content.decode()) == expected[10:20]


def test_a_page_past_the_end_shows_the_last_page(abbie_client, demo):
    jobs = make_jobs(demo, 12)
    html = abbie_client.get(URL, {"page": 9}).content.decode()
    assert "That page does not exist; this is the last page (2)." in html
    assert "11-12 of 12" in html
    assert shown_ids(html) == [jobs[1].pk, jobs[0].pk]


def test_sort_headers_flip_direction(abbie_client, demo):
    make_jobs(demo, 2)
    html = abbie_client.get(URL).content.decode()
    assert 'aria-sort="descending"' in html and "Date created UTC ↓" in html
    assert 'href="/imports/?page=1&amp;sort=created"' in html  # clicking the current column flips it
    html = abbie_client.get(URL, {"sort": "created"}).content.decode()
    assert 'aria-sort="ascending"' in html and "Date created UTC ↑" in html


# --- filters and search ----------------------------------------------------------------------------


def test_status_filter_takes_several_values_and_shows_chips(abbie_client, demo):
    pending, failed, done = make_jobs(demo, 3)
    set_status(failed, "failed")
    set_status(done, "completed")
    html = abbie_client.get(URL, {"status": ["failed", "pending"]}).content.decode()
    assert sorted(shown_ids(html)) == sorted([pending.pk, failed.pk])
    assert "Status: Failed" in html and "Status: Pending" in html
    assert "Clear all" in html
    # Removing one chip keeps the other.
    chip = re.search(r'<a class="imports-chip" href="([^"]*)"[^>]*>Status: Failed', html).group(1).replace("&amp;", "&")
    assert shown_ids(abbie_client.get(chip).content.decode()) == [pending.pk]


def test_the_company_filter_includes_descendants_and_ignores_other_subtrees(abbie_client, demo):
    child = company_create(name="ERITECH SUR S.A.C.", parent=demo.eritech, kind="customer", actor=None)
    on_eritech = make_jobs(demo, 1)[0]
    on_child = make_jobs(demo, 1, company=child)[0]
    on_norte = make_jobs(demo, 1, company=demo.norte)[0]
    html = abbie_client.get(URL, {"company": demo.eritech.account_id}).content.decode()
    assert sorted(shown_ids(html)) == sorted([on_eritech.pk, on_child.pk])
    assert f"Company: ERITECH PERU S.A. ({demo.eritech.account_id}) (and below)" in html
    # A company outside the user's subtree is ignored like any unknown value (no hint it exists).
    html = abbie_client.get(URL, {"company": demo.cusco.account_id}).content.decode()
    assert sorted(shown_ids(html)) == sorted([on_eritech.pk, on_child.pk, on_norte.pk])
    assert "CUSCO" not in html.split('<select name="company">', 1)[1].split("</select>", 1)[0]


def test_creator_source_account_type_and_date_filters(abbie_client, demo):
    early = make_jobs(demo, 1, start=dt.datetime(2024, 6, 30, 23, 59, tzinfo=UTC))[0]
    late = make_jobs(demo, 1, start=dt.datetime(2024, 7, 2, 0, 0, tzinfo=UTC))[0]
    ImportJob.objects.filter(pk=late.pk).update(source="import", account_type="companies")
    assert shown_ids(abbie_client.get(URL, {"created_from": "2024-07-01"}).content.decode()) == [late.pk]
    assert shown_ids(abbie_client.get(URL, {"created_to": "2024-06-30"}).content.decode()) == [early.pk]
    assert shown_ids(abbie_client.get(URL, {"source": "import"}).content.decode()) == [late.pk]
    assert shown_ids(abbie_client.get(URL, {"account_type": "products"}).content.decode()) == [early.pk]
    assert shown_ids(abbie_client.get(URL, {"due_from": "2024-08-01", "due_to": "2024-08-01"}).content.decode()) == [late.pk, early.pk]
    assert shown_ids(abbie_client.get(URL, {"due_from": "2024-08-02"}).content.decode()) == []
    html = abbie_client.get(URL, {"creator": demo.admin_abbie.pk}).content.decode()
    assert len(shown_ids(html)) == 2 and "Creator: admin@abbiebox.com" in html


def test_search_covers_name_product_code_company_and_account_id(abbie_client, demo):
    kiosk = make_jobs(demo, 1)[0]
    norte = make_jobs(demo, 1, company=demo.norte)[0]
    ImportRow.objects.filter(job=norte).update(result_account_id=987654)
    ImportJob.objects.filter(pk=norte.pk).update(
        name="Nothing alike", search=search_entry_for("Nothing alike", [("", "100113_ExchanOnlineKiosk_61893")]))
    assert shown_ids(abbie_client.get(URL, {"q": "exchange online"}).content.decode()) == [kiosk.pk]
    assert shown_ids(abbie_client.get(URL, {"q": "ExchanOnlineKiosk_61893"}).content.decode()) == [norte.pk, kiosk.pk]
    assert shown_ids(abbie_client.get(URL, {"q": "norte digital"}).content.decode()) == [norte.pk]
    assert shown_ids(abbie_client.get(URL, {"q": str(demo.eritech.account_id)}).content.decode()) == [kiosk.pk]
    assert shown_ids(abbie_client.get(URL, {"q": "987654"}).content.decode()) == [norte.pk]


@pytest.mark.parametrize("limit", [100, 1])
def test_search_by_company_name_as_ids_or_as_a_subquery(abbie_client, demo, monkeypatch, limit):
    """Matching companies go to the jobs' query as ids, or as a subquery past the limit: same result."""
    monkeypatch.setattr("imports.my_imports.selectors.SEARCH_IDS_LIMIT", limit)
    jobs = [make_jobs(demo, 1, company=company)[0] for company in (demo.eritech, demo.norte, demo.pacifico)]
    other = make_jobs(demo, 1, company=demo.norte)[0]
    ImportJob.objects.filter(pk=other.pk).update(company=demo.abbiebox)  # "ABBIE BOX S.A.C." matches too
    assert all("s.a" not in job.search.text for job in ImportJob.objects.all())
    html = abbie_client.get(URL, {"q": "S.A", "per_page": 25}).content.decode()
    assert sorted(shown_ids(html)) == sorted([*(job.pk for job in jobs), other.pk])
    assert shown_ids(abbie_client.get(URL, {"q": "norte dig"}).content.decode()) == [jobs[1].pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_postgresql_has_the_trigram_index_for_searches(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'import_search_text_trgm'")
        assert "imports_searchtext USING gin (text gin_trgm_ops)" in cursor.fetchone()[0]


def test_search_forgives_accents_and_case_on_both_sides(abbie_client, demo):
    kiosk = make_jobs(demo, 1)[0]
    assert ImportJob.objects.get(pk=kiosk.pk).search.text == "(nce) exchange online kiosk(microsoft) | 100113_exchanonlinekiosk_61893"
    assert shown_ids(abbie_client.get(URL, {"q": "EXCHANGE ÓNLINE"}).content.decode()) == [kiosk.pk]
    assert shown_ids(abbie_client.get(URL, {"q": "eritech perú"}).content.decode()) == [kiosk.pk]
    ImportJob.objects.filter(pk=kiosk.pk).update(search=search_entry_for("Migración Perú", []))
    assert shown_ids(abbie_client.get(URL, {"q": "MIGRACION"}).content.decode()) == [kiosk.pk]


# "e_O" and "e%O" would match "Exchange Online" if they were wildcards.
@pytest.mark.parametrize("text", ["%", "e_O", "e%O", "'", '"', "100%_off", "' OR 1=1 --", "x" * 500, "<script>"])
def test_search_with_wildcards_quotes_or_500_characters_is_literal(abbie_client, demo, text):
    job = make_jobs(demo, 1)[0]
    response = abbie_client.get(URL, {"q": text})
    assert response.status_code == 200
    html = response.content.decode()
    assert shown_ids(html) == []
    assert "No import matches these filters." in html and "Clear all filters" in html
    assert "<script>" not in html.split('id="imports-q"', 1)[1].split(">", 1)[0]
    ImportJob.objects.filter(pk=job.pk).update(search=search_entry_for(f"a {text[:200]} b", []))
    assert shown_ids(abbie_client.get(URL, {"q": text}).content.decode()) == [job.pk]


def test_empty_states_say_what_to_do(abbie_client, demo):
    html = abbie_client.get(URL).content.decode()
    assert "No imports yet" in html and "NEW SERVICE" in html and 'href="/"' in html
    assert "0-0 of 0" in html


def test_staff_see_every_subtree_and_the_andes_reseller_only_its_own(client, demo):
    abbie_job = make_jobs(demo, 1)[0]
    client.force_login(demo.admin_andes)
    assert shown_ids(client.get(URL, {"q": "job"}).content.decode()) == []
    assert shown_ids(client.get(URL, {"job": abbie_job.pk}).content.decode()) == []
    client.force_login(demo.staff)
    assert shown_ids(client.get(URL, {"job": abbie_job.pk}).content.decode()) == [abbie_job.pk]


# --- the same queries for 10 jobs or many -----------------------------------------------------------


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_every_kind_of_page_costs_the_same_queries_for_12_jobs_or_62(abbie_client, demo):
    make_jobs(demo, 12)
    urls = [URL, f"{URL}?page=2&per_page=25", f"{URL}?status=pending&company={demo.eritech.account_id}",
            f"{URL}?q=Kiosk", f"{URL}?sort=-schedule&per_page=100", f"{URL}?page=999"]
    first = abbie_client.get(f"{URL}?per_page=25").content.decode()
    few = {url: queries(abbie_client, url) for url in urls}
    few_next = queries(abbie_client, href(abbie_client.get(URL).content.decode(), "next"))
    more = make_jobs(demo, 50, start=T0 + dt.timedelta(days=1))
    for i, job in enumerate(more):
        set_status(job, ["completed", "failed", "pending"][i % 3])
    many = {url: queries(abbie_client, url) for url in urls}
    many_next = queries(abbie_client, href(abbie_client.get(URL).content.decode(), "next"))
    assert few == many
    assert few_next == many_next
    assert "1-12 of 12" in first


def test_the_no_index_hint_is_sqlite_only(db):
    """`+column` keeps SQLite off a filter's index; PostgreSQL gets the bare column (it has no unary +
    for text, and its planner needs no hint)."""
    from types import SimpleNamespace

    from imports.my_imports.selectors import _scan_fields

    query = _scan_fields(ImportJob.objects.all()).query
    compiler = query.get_compiler("default")
    status = query.annotations["_status"]
    sql, _params = status.as_sql(compiler, SimpleNamespace(vendor="sqlite", ops=connection.ops))
    assert sql == '+("imports_importjob"."status")'
    sql, _params = status.as_sql(compiler, SimpleNamespace(vendor="postgresql", ops=connection.ops))
    assert sql == '"imports_importjob"."status"'
    # Numbers on PostgreSQL: `+ 0`, the same value that no index serves.
    company = query.annotations["_company"]
    sql, _params = company.as_sql(compiler, SimpleNamespace(vendor="postgresql", ops=connection.ops))
    assert sql == '("imports_importjob"."company_id" + 0)'


@pytest.mark.parametrize("walk", [True, False])
@pytest.mark.parametrize("limit", [5000, 1])
def test_the_subtree_as_ids_or_as_a_subquery_lists_the_same_jobs(abbie_client, demo, monkeypatch, limit, walk):
    """On PostgreSQL the page's queries get the user's companies as an array of ids (as a subquery
    past the limit, and always on SQLite), whether the page walks the sort's index or not: the
    same jobs, never another reseller's."""
    monkeypatch.setattr("imports.my_imports.selectors.SUBTREE_IDS_LIMIT", limit)
    monkeypatch.setattr("imports.my_imports.pages._walk_is_cheaper", lambda count, rows: walk)
    mine = [make_jobs(demo, 1, company=company)[0] for company in (demo.eritech, demo.norte, demo.pacifico)]
    andes = make_jobs(demo, 1, company=demo.andes)[0]
    for params in ({}, {"status": "pending"}, {"sort": "status"}):
        html = abbie_client.get(URL, {**params, "per_page": 25}).content.decode()
        assert sorted(shown_ids(html)) == sorted(job.pk for job in mine) and andes.pk not in shown_ids(html)
        assert "1-3 of 3" in html
