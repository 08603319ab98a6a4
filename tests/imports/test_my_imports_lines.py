"""Issue 24, point 2: My imports shows a few lines of a job inline and the rest on demand, so a page's
size and statements stay flat whatever its jobs hold (two 5,000-line imports made a page 4 MB and 4 s).
Issue 24, point 1: bulk imports are named after their file; rows name the company and the product."""

import datetime as dt
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from imports.models import ImportFile, ImportJob, ImportRow
from imports.my_imports.selectors import LINES_SHOWN
from imports.my_imports.views import LINES_PER_PAGE

from .helpers import KIOSK, UTC, make_order
from .test_my_imports import URL, job_html

DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)


def bulk_job(demo, lines: int, *, name="customers-july.csv", status=ImportJob.Status.COMPLETED, with_orders=False):
    """A Products import of `lines` lines as imports.bulk.services writes one (bulk_create)."""
    job = ImportJob.objects.create(
        name=name, source=ImportJob.Source.IMPORT, account_type=ImportJob.AccountType.PRODUCTS, status=status,
        due_at=DUE, created_by=demo.admin_abbie, company=demo.eritech, imported_count=lines,
    )
    orders = [make_order(demo) for _ in range(lines)] if with_orders else [None] * lines
    ImportRow.objects.bulk_create(
        ImportRow(job=job, position=i + 1, parent_company=demo.eritech, order=order,
                  status=ImportRow.Status.COMPLETED, result_account_id=900_000 + i,
                  payload={"product_code": KIOSK})
        for i, order in enumerate(orders)
    )
    return job


def measured(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(response.content), len(context.captured_queries), response.content.decode()


def test_a_page_costs_the_same_bytes_and_statements_for_jobs_of_6_lines_or_3000(abbie_client, demo):
    small = [bulk_job(demo, 6, name=f"small-{i}.csv") for i in range(2)]
    abbie_client.get(URL)  # the session's first request reads more (login bookkeeping)
    size_small, queries_small, html = measured(abbie_client, URL)
    assert "1 more line" in html
    ImportRow.objects.filter(job__in=small).delete()
    ImportJob.objects.filter(pk__in=[job.pk for job in small]).delete()

    big = [bulk_job(demo, 3000, name=f"large-{i}.csv") for i in range(2)]
    size_big, queries_big, html = measured(abbie_client, URL)
    assert queries_big == queries_small
    # The same markup but for the figures ("2,995 more lines", account ids): a few bytes, not megabytes.
    assert abs(size_big - size_small) < 200, (size_small, size_big)
    for job in big:
        shown = job_html(html, job)
        assert shown.count('<td title="100113_ExchanOnlineKiosk_61893">') == LINES_SHOWN
        assert f'href="{reverse("imports:job_lines", args=[job.pk])}">2995 more lines</a>' in shown
        assert "3000 lines in all" in shown


def test_the_live_refresh_sends_a_few_lines_too(abbie_client, demo):
    job = bulk_job(demo, 400, status=ImportJob.Status.PENDING)
    response = abbie_client.get(reverse("imports:live"), {"ids": str(job.pk)})
    html = response.content.decode()
    assert html.count('<td title="100113_ExchanOnlineKiosk_61893">') == LINES_SHOWN
    assert "395 more lines" in html


def test_a_job_of_few_lines_shows_them_all_without_a_link(abbie_client, demo):
    job = bulk_job(demo, LINES_SHOWN)
    html = job_html(abbie_client.get(URL).content.decode(), job)
    assert html.count('<td title="100113_ExchanOnlineKiosk_61893">') == LINES_SHOWN
    assert "more line" not in html


def test_the_lines_page_shows_every_line_a_page_at_a_time(abbie_client, demo, django_assert_max_num_queries):
    job = bulk_job(demo, 120, with_orders=True)
    url = reverse("imports:job_lines", args=[job.pk])
    html = abbie_client.get(url).content.decode()
    assert "<h1>customers-july.csv</h1>" in html
    assert "Company: ERITECH PERU S.A. (466158)" in html
    assert f"1-{LINES_PER_PAGE} of 120" in html
    lines = re.findall(r'<td class="num">(\d+)</td>', html)
    assert lines == [str(n) for n in range(1, LINES_PER_PAGE + 1)]
    assert "<td>(NCE) Exchange Online Kiosk</td>" not in html  # the name, with the code as its title:
    assert '<td title="100113_ExchanOnlineKiosk_61893">(NCE) Exchange Online Kiosk</td>' in html
    last = abbie_client.get(url, {"page": 3}).content.decode()
    assert re.findall(r'<td class="num">(\d+)</td>', last) == [str(n) for n in range(101, 121)]
    assert "101-120 of 120" in last
    for bad in ("abc", "-1", "0", "99999999999"):
        assert abbie_client.get(url, {"page": bad}).status_code == 200
    with CaptureQueriesContext(connection) as few:
        abbie_client.get(url, {"page": 2})
    more = bulk_job(demo, 600, with_orders=True, name="more.csv")
    with django_assert_max_num_queries(len(few.captured_queries)):
        abbie_client.get(reverse("imports:job_lines", args=[more.pk]), {"page": 7})


def test_the_lines_of_another_resellers_job_are_404(client, demo):
    job = bulk_job(demo, 3)
    client.force_login(demo.admin_andes)
    assert client.get(reverse("imports:job_lines", args=[job.pk])).status_code == 404


# --- Names, not codes (point 1) ------------------------------------------------------------------


def test_a_bulk_import_is_named_after_its_file(abbie_client, demo):
    from imports.bulk.services import imports_bulk_start

    content = "Parent Account Id,Company name\n410002,NEW CUSTOMER S.A.C.\n".encode()
    result = imports_bulk_start(user=demo.admin_abbie, account_type="companies", file_name="new-customers.csv",
                                content=content, due_at=None)
    assert result.job is not None, result.errors
    assert result.job.name == "new-customers.csv"
    html = job_html(abbie_client.get(URL).content.decode(), result.job)
    assert '<td class="imports-name">new-customers.csv</td>' in html


def test_the_data_migration_names_earlier_bulk_imports_after_their_upload(demo):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("imports.migrations.0012_bulk_jobs_named_after_their_file")
    known = bulk_job(demo, 1, name="")
    ImportFile.objects.create(created_by=demo.admin_abbie, account_type="products", name="old.csv", sha256="0" * 64, job=known)
    unknown = bulk_job(demo, 1, name="")
    scheduled = ImportJob.objects.create(name="", due_at=DUE, created_by=demo.admin_abbie, company=demo.eritech)
    migration.name_bulk_jobs_after_their_file(apps, None)
    names = dict(ImportJob.objects.filter(pk__in=[known.pk, unknown.pk, scheduled.pk]).values_list("pk", "name"))
    assert names == {known.pk: "old.csv", unknown.pk: "", scheduled.pk: ""}
