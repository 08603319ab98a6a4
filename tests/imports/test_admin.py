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
