import datetime as dt

from django.urls import reverse

from imports.models import ImportJob

from .helpers import UTC, schedule

DUE = dt.datetime(2030, 7, 31, 10, 0, tzinfo=UTC)


def test_the_import_admin_pages_open_for_staff(client, demo):
    job = schedule(demo, due_at=DUE)
    client.force_login(demo.staff)
    for url in [
        reverse("admin:imports_importjob_changelist"),
        reverse("admin:imports_importjob_changelist") + "?status__exact=pending&source__exact=scheduled&account_type__exact=products",
        reverse("admin:imports_importjob_changelist") + "?q=ERITECH",
        reverse("admin:imports_importjob_change", args=[job.pk]),
        reverse("admin:imports_importrow_changelist"),
        reverse("admin:imports_importrow_changelist") + "?q=Kiosk",
        reverse("admin:imports_importrow_change", args=[job.rows.get().pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "(NCE) Exchange Online Kiosk(Microsoft)" in client.get(reverse("admin:imports_importjob_changelist")).content.decode()


def test_the_admin_action_cancels_only_pending_imports(client, demo):
    pending = schedule(demo, due_at=DUE)
    done = schedule(demo, due_at=DUE)
    ImportJob.objects.filter(pk=done.pk).update(status=ImportJob.Status.COMPLETED)
    client.force_login(demo.staff)
    response = client.post(
        reverse("admin:imports_importjob_changelist"),
        {"action": "cancel_pending", "_selected_action": [pending.pk, done.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "1 import cancelled." in html
    assert "1 import was not pending and can no longer be cancelled." in html
    pending.refresh_from_db()
    done.refresh_from_db()
    assert (pending.status, done.status) == (ImportJob.Status.CANCELLED, ImportJob.Status.COMPLETED)


def job_change_post(job, **fields):
    """A change-form POST of the job admin, with its (view-only) rows and notifications inline."""
    row = job.rows.get()
    data = {
        "name": job.name, "notify_emails": "[]",
        "rows-TOTAL_FORMS": "1", "rows-INITIAL_FORMS": "1", "rows-MIN_NUM_FORMS": "0", "rows-MAX_NUM_FORMS": "1000",
        "rows-0-id": str(row.pk), "rows-0-job": str(job.pk),
        # The job's outbox notifications, view-only inline too (none before the job ran).
        "notifications-TOTAL_FORMS": "0", "notifications-INITIAL_FORMS": "0",
        "notifications-MIN_NUM_FORMS": "0", "notifications-MAX_NUM_FORMS": "1000",
        # Its vendor orders, view-only inline (none unless the vendor provisions it).
        "vendor_orders-TOTAL_FORMS": "0", "vendor_orders-INITIAL_FORMS": "0",
        "vendor_orders-MIN_NUM_FORMS": "0", "vendor_orders-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


def test_the_due_time_status_and_counts_of_a_job_are_read_only(client, demo):
    job = schedule(demo, due_at=DUE)
    client.force_login(demo.staff)
    url = reverse("admin:imports_importjob_change", args=[job.pk])
    html = client.get(url).content.decode()
    for field in ("due_at", "status", "imported_count", "error_count", "company", "created_by", "source", "account_type"):
        assert f'name="{field}' not in html, field
    assert 'name="name"' in html  # the label may still be corrected
    assert "July 31, 2030" in html  # shown, not editable
    response = client.post(url, job_change_post(
        job, name="Renamed", due_at_0="2031-01-01", due_at_1="00:00:00", status="completed",
        imported_count="5", error_count="2", source="import",
    ))
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert job.name == "Renamed"
    assert (job.due_at, job.status, job.imported_count, job.error_count, job.source) == (
        DUE, ImportJob.Status.PENDING, 0, 0, ImportJob.Source.SCHEDULED,
    )


def test_an_import_row_is_view_only_in_the_admin(client, demo):
    job = schedule(demo, due_at=DUE)
    row = job.rows.get()
    client.force_login(demo.staff)
    url = reverse("admin:imports_importrow_change", args=[row.pk])
    html = client.get(url).content.decode()
    assert 'name="payload"' not in html and 'name="order"' not in html and 'name="_save"' not in html
    other = schedule(demo, due_at=DUE)
    response = client.post(url, {"job": other.pk, "position": "9", "import_type": "company",
                                 "parent_company": demo.cusco.pk, "payload": '{"product_code": "x"}'})
    assert response.status_code == 403
    row.refresh_from_db()
    assert (row.job_id, row.position, row.parent_company_id, row.payload) == (job.pk, 1, demo.eritech.pk, {})
    # The inline on the job page shows the rows without inputs either.
    job_html = client.get(reverse("admin:imports_importjob_change", args=[job.pk])).content.decode()
    assert 'name="rows-0-order"' not in job_html and 'name="rows-0-status"' not in job_html
