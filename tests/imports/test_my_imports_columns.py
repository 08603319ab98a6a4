"""My imports renders the model's answers: the schedule column, the X, the product and the error
row read the same for a pending, completed, failed and cancelled job as they always did."""

import datetime as dt
import re

import pytest

from imports.models import ImportJob, ImportRow
from imports.jobs.services import import_cancel

from .helpers import UTC, schedule
from .test_my_imports import URL, job_html

DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)
FINISHED = dt.datetime(2024, 8, 2, 9, 30, tzinfo=UTC)
# The Product name column shows the product's name; its code is the cell's title (issue 24).
KIOSK_CODE = '<td title="100113_ExchanOnlineKiosk_61893">(NCE) Exchange Online Kiosk</td>'


def finish(job, status, *, error=""):
    """The outcome a run writes, without running one: these tests are about what the page shows."""
    ImportJob.objects.filter(pk=job.pk).update(status=status, finished_at=FINISHED)
    row_status = ImportRow.Status.FAILED if status == ImportJob.Status.FAILED else ImportRow.Status.COMPLETED
    ImportRow.objects.filter(job=job).update(status=row_status, error=error)


# A finished job's range may break between its two ends, never inside one (core/templatetags/datetimes.py).
RANGE = '"><span>2024-07-31 10:00 -</span> <span>2024-08-02 09:30 UTC</span></time>'


@pytest.mark.parametrize(
    "outcome,schedule_cell,status_cell,has_x",
    [
        ("pending", '">2024-07-31 10:00 UTC</time>', '<span class="status pending">Pending</span>', True),
        ("completed", RANGE, '<span class="status completed">Completed</span>', False),
        ("failed", RANGE, '<span class="status failed">Failed</span>', False),
        # Cancelling stamps finished_at too, but a cancelled job never ran: its column shows the due date twice.
        ("cancelled", '">2024-07-31 10:00 UTC</time>', '<span class="status cancelled">Cancelled</span>', False),
    ],
)
def test_each_status_renders_as_before(abbie_client, demo, outcome, schedule_cell, status_cell, has_x):
    job = schedule(demo, due_at=DUE)
    if outcome in ("completed", "failed"):
        finish(job, outcome, error="Microsoft Tenant Id must be a GUID\nThe tenant is unknown")
    elif outcome == "cancelled":
        assert import_cancel(job_id=job.pk, user=demo.admin_abbie)
    html = job_html(abbie_client.get(URL).content.decode(), job)
    assert f'data-status="{outcome}"' in html
    assert schedule_cell in html
    assert status_cell in html
    assert KIOSK_CODE in html
    assert "<td>false</td>" in html  # scheduled provisioning is billed through the reseller
    assert ("imports-cancel" in html) is has_x
    assert ("cancel-dialog-" in html) is has_x
    if outcome == "failed":
        assert (
            '<span class="imports-error">Microsoft Tenant Id must be a GUID<br>The tenant is unknown</span>' in html
        )
    else:
        assert "imports-row-error" not in html


def test_an_error_left_on_a_row_that_did_not_fail_is_not_shown(abbie_client, demo):
    job = schedule(demo, due_at=DUE)
    finish(job, ImportJob.Status.COMPLETED, error="from an earlier attempt")
    html = job_html(abbie_client.get(URL).content.decode(), job)
    assert "imports-row-error" not in html and "from an earlier attempt" not in html


def test_bulk_rows_show_the_product_and_payment_of_their_file(abbie_client, demo):
    job = ImportJob.objects.create(
        source=ImportJob.Source.IMPORT, due_at=DUE, created_by=demo.admin_abbie, company=demo.eritech,
        status=ImportJob.Status.FAILED, finished_at=FINISHED, error_count=1,
    )
    ImportRow.objects.create(
        job=job, position=1, parent_company=demo.eritech,
        payload={"product_code": "100113_AzurePlan_10002", "is_direct_payment": True},
    )
    ImportRow.objects.create(job=job, position=2, parent_company=demo.eritech, payload={},
                             status=ImportRow.Status.FAILED, error="No product code.")
    html = job_html(abbie_client.get(URL).content.decode(), job)
    rows = html.split("<tbody>", 1)[1]
    first, second = rows.split("</tr>", 2)[:2]
    # No order behind a bulk line: the file's code stands for the product's name.
    assert '<td title="100113_AzurePlan_10002">100113_AzurePlan_10002</td>' in first and "<td>true</td>" in first
    assert re.search(r'<td title="">-</td>\s*<td>false</td>', second)  # no product in the file: a dash
    assert "No product code." in html
    assert RANGE in html
