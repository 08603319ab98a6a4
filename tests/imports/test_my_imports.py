import datetime as dt
import re

from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from imports.models import ImportJob, ImportRow
from imports.engine.dispatch import dispatch_due_imports
from imports.jobs.services import JOB_NOT_CANCELLABLE
from imports.my_imports.views import ROWS_PER_PAGE

from .helpers import UTC, schedule

URL = "/imports/"
T0 = dt.datetime(2024, 7, 22, 14, 15, 43, tzinfo=UTC)
DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)


def job_html(html, job):
    """The markup of one job: from its <tbody> to the next job's (or the pagination)."""
    chunk = html.split(f'id="import-{job.pk}"', 1)[1]
    return re.split(r'<tbody class="imports-job"|<nav class="pagination"', chunk, maxsplit=1)[0]


def cancel_url(job):
    return reverse("imports:cancel", args=[job.pk])


def test_the_url_contract():
    assert reverse("imports:my_imports") == URL
    assert cancel_url(ImportJob(pk=7)) == "/imports/7/cancel/"


def test_login_is_required(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_page_shows_the_manuals_columns_for_a_pending_job(abbie_client, demo):
    with freeze_time(T0):
        job = schedule(demo, due_at=DUE)
    response = abbie_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for header in ["Import name", "Account type", "Source", "Date created UTC", "Import schedule date (UTC)",
                   "Imported accounts (No.)", "Status", "Errors (No.)", "Creator", "IMPORT ACCOUNTS"]:
        assert header in html
    cells = [
        "(NCE) Exchange Online Kiosk(Microsoft)", "Products", "Scheduled provisioning", ">2024-07-22 14:15 UTC</time>",
        ">2024-07-31 10:00 UTC</time>", '<td class="num imports-minor" data-label="Imported accounts (No.)">0</td>',
        "Pending", "admin@abbiebox.com",
        # The customer company, by name and account id (issue 24).
        '<td class="imports-company" data-label="Company">ERITECH PERU S.A. <span class="imports-account-id">(466158)</span>',
        # Account type and Source again, for the widths that fold their columns under the company (issue 24).
        '<span class="imports-sr-only">Account type: </span>Products · <span class="imports-sr-only">Source: </span>Scheduled provisioning</span></td>',
    ]
    row_html = job_html(html, job)
    for cell in cells:
        assert cell in row_html
    assert f'href="{reverse("imports:bulk_import")}">IMPORT ACCOUNTS' in html
    # The X of a pending job, its dialog and the no-JavaScript link to the confirm page.
    assert f'href="{cancel_url(job)}?page=1"' in row_html
    assert "Are you sure you want to cancel the import?" in row_html
    assert f'action="{cancel_url(job)}"' in row_html
    assert "YES, DO IT" in row_html and ">NO<" in row_html
    assert "csrfmiddlewaretoken" in row_html


def test_a_finished_job_shows_its_rows_details_and_no_cancel_button(abbie_client, demo):
    with freeze_time(T0):
        done = schedule(demo, due_at=DUE)
        failed = schedule(demo, due_at=DUE, vendor_config={"microsoft_tenant_id": "nope"})
    dispatch_due_imports(now=DUE)
    html = abbie_client.get(URL).content.decode()
    done_html = job_html(html, done)
    account_id = done.rows.get().result_account_id
    for text in ["Completed", "<summary>Details</summary>", "Parent Account Id", "Import type", "Parent account start date",
                 "Parent display name", "Account Id", "Product name", "Is direct payment",
                 "<td>466158</td>", "<td>Product</td>", ">2024-04-01 23:40 UTC</time>", "<td>ERITECH PERU S.A.</td>",
                 f"<td>{account_id}</td>", '<td title="100113_ExchanOnlineKiosk_61893">(NCE) Exchange Online Kiosk</td>',
                 "<td>false</td>",
                 '<td class="dt-cell"><time datetime="2024-07-31T10:00:00+00:00">2024-07-31 10:00 UTC</time>']:
        assert text in done_html
    assert "imports-cancel" not in done_html
    failed_html = job_html(html, failed)
    assert "Failed" in failed_html
    assert "Microsoft Tenant Id must be a GUID" in failed_html


def test_a_job_without_a_name_shows_a_dash(abbie_client, demo):
    ImportJob.objects.create(
        name="", source=ImportJob.Source.IMPORT, due_at=T0, created_by=demo.admin_abbie, company=demo.eritech,
        status=ImportJob.Status.COMPLETED, imported_count=3,
    )
    html = abbie_client.get(URL).content.decode()
    assert '<td class="imports-name">-</td>' in html
    assert '<td class="imports-minor imports-source" data-label="Source">Import</td>' in html


def test_jobs_are_newest_first_ten_a_page(abbie_client, demo):
    jobs = []
    for minute in range(25):
        with freeze_time(T0 + dt.timedelta(minutes=minute)):
            jobs.append(schedule(demo, due_at=DUE, name=f"job {minute}"))
    first = abbie_client.get(URL).content.decode()
    assert ROWS_PER_PAGE == 10
    assert first.count('class="imports-job"') == 10
    assert '<option value="10" selected>10</option>' in first
    assert "1-10 of 25" in first
    shown = [int(pk) for pk in re.findall(r'<tbody class="imports-job" id="import-(\d+)"', first)]
    assert shown == [job.pk for job in reversed(jobs)][:10]
    last = abbie_client.get(URL, {"page": 3}).content.decode()
    assert last.count('class="imports-job"') == 5
    assert "21-25 of 25" in last
    for bad in ["abc", "-1", "99999999999", "<script>"]:
        response = abbie_client.get(URL, {"page": bad})
        assert response.status_code == 200


def test_no_jobs_is_a_friendly_empty_page(abbie_client, demo):
    html = abbie_client.get(URL).content.decode()
    assert "No imports yet" in html
    assert "0-0 of 0" in html


def test_the_page_needs_the_same_queries_for_one_job_or_ten(abbie_client, demo, django_assert_max_num_queries):
    with freeze_time(T0):
        schedule(demo, due_at=DUE)
    # Session, user, the subtree, count, largest id, page, its rows, retries, vendor orders (the waiting
    # state), the filter choices (2), and PostgreSQL's savepoint pair: see tests/imports/test_my_imports_listing.py
    # for 10 against many jobs on every kind of page.
    with django_assert_max_num_queries(16) as one:
        abbie_client.get(URL)
    with freeze_time(T0):
        for _ in range(12):
            schedule(demo, due_at=DUE)
    with django_assert_max_num_queries(len(one.captured_queries)):
        abbie_client.get(URL)


def test_a_user_sees_only_jobs_of_its_subtree_and_staff_sees_all(client, demo):
    abbie_job = schedule(demo, due_at=DUE, name="abbie job")
    andes_job = schedule(demo, due_at=DUE, company=demo.cusco, user=demo.admin_andes, code="100113_AzurePlan_10002",
                         term="P1M", name="andes job", vendor_config={})
    client.force_login(demo.admin_andes)
    html = client.get(URL).content.decode()
    assert f'id="import-{andes_job.pk}"' in html and f'id="import-{abbie_job.pk}"' not in html
    client.force_login(demo.staff)
    html = client.get(URL).content.decode()
    assert f'id="import-{andes_job.pk}"' in html and f'id="import-{abbie_job.pk}"' in html


def test_user_input_is_escaped(abbie_client, demo):
    job = schedule(demo, due_at=DUE, name="<script>alert(1)</script>")
    ImportJob.objects.filter(pk=job.pk).update(name="<script>alert(1)</script>(Microsoft)", status=ImportJob.Status.FAILED)
    ImportRow.objects.filter(job=job).update(status=ImportRow.Status.FAILED, error='<img src=x onerror="alert(2)">')
    html = abbie_client.get(URL).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;(Microsoft)" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_cancelling_from_the_dialog(abbie_client, demo):
    job = schedule(demo, due_at=DUE)
    response = abbie_client.post(cancel_url(job), {"page": "1"}, follow=True)
    assert response.redirect_chain == [(URL + "?page=1", 302)]
    html = response.content.decode()
    assert "The import (NCE) Exchange Online Kiosk(Microsoft) was cancelled." in html
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert '<span class="status cancelled">Cancelled</span>' in html


def test_the_confirm_page_without_javascript(abbie_client, demo):
    job = schedule(demo, due_at=DUE)
    response = abbie_client.get(cancel_url(job), {"page": "2"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Are you sure you want to cancel the import?" in html
    assert f'<form method="post" action="{cancel_url(job)}"' in html
    assert f'href="{URL}?page=2">NO</a>' in html
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING  # asking is not cancelling


def test_when_the_worker_won_the_user_is_told(abbie_client, demo):
    job = schedule(demo, due_at=T0)
    dispatch_due_imports(now=DUE)
    response = abbie_client.post(cancel_url(job), follow=True)
    assert str(JOB_NOT_CANCELLABLE) in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    response = abbie_client.get(cancel_url(job), follow=True)
    assert str(JOB_NOT_CANCELLABLE) in response.content.decode()


def test_a_job_outside_the_subtree_is_404(client, demo):
    job = schedule(demo, due_at=DUE)
    client.force_login(demo.admin_andes)
    assert client.get(cancel_url(job)).status_code == 404
    assert client.post(cancel_url(job)).status_code == 404
    assert client.post("/imports/999999/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING


def test_cancel_needs_post_with_csrf(abbie_client, demo):
    job = schedule(demo, due_at=DUE)
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.admin_abbie)
    assert client.post(cancel_url(job)).status_code == 403
    assert abbie_client.put(cancel_url(job)).status_code == 405
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
