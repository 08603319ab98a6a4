"""EXPORT of My imports: the current filtered list, all pages, as CSV or .xlsx.

One line per import row (a job without rows still gets a line), with the columns of the list and
of the expanded row: the customer company by name and account id (Parent ...), the product by
name, then by code (the column a file to import again needs), a bulk import's line in its file and
what a company or user line created (the company's name; the user's email, name and User Id). Jobs are read in chunks and written out as they come (core.spreadsheets
streams both formats and neutralises formulas), so 100,000 lines never sit in memory.
"""

import datetime as dt
from collections.abc import Iterable, Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.spreadsheets import spreadsheet_response
from imports.models import ImportJob

UTC = dt.timezone.utc
CHUNK_SIZE = 2000


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def header() -> list[str]:
    return [
        _("Import Id"), _("Import name"), _("Account type"), _("Source"), _("Date created UTC"),
        _("Import schedule date (UTC)"), _("Imported accounts (No.)"), _("Status"), _("Errors (No.)"), _("Creator"),
        _("Parent Account Id"), _("Import type"), _("Parent account start date"), _("Parent display name"),
        _("Account Id"), _("Product name"), _("Product code"), _("Is direct payment"),
        # A bulk import's line in its file, and what a company or user line created (issue 24).
        _("Line"), _("Account created"), _("Email"), _("User Id"),
        _("Error"),
    ]


def lines(jobs: Iterable[ImportJob]) -> Iterator[list]:
    """The export's lines, without the header (the download neutralises formulas: core.spreadsheets)."""
    for job in jobs:
        head = [
            job.pk, job.display_name, job.get_account_type_display(), job.get_source_display(), _when(job.created_at),
            _when(job.due_at), job.imported_count, job.get_status_display(), job.error_count, job.created_by.email,
        ]
        rows = list(job.rows.all())
        if not rows:
            yield head + [""] * 13
            continue
        for row in rows:
            company = row.parent_company
            account = row.created_account or {}
            user_id = account.get("id") if account.get("type") == "user" else ""
            yield head + [
                company.account_id, row.get_import_type_display(), _when(company.billing_start_date), company.name,
                row.result_account_id or "", row.product_name, row.product_code, "true" if row.is_direct_payment else "false",
                row.file_line or "", account.get("name", ""), account.get("email", ""), user_id,
                row.failure_reason,
            ]


def export_response(fmt: str, jobs) -> StreamingHttpResponse | FileResponse:
    """The export in `fmt` ("csv" or "xlsx"), jobs read in chunks as the download goes."""
    stem = f"my-imports-{timezone.now():%Y%m%d-%H%M%S}"

    def rows():
        yield header()
        yield from lines(jobs.iterator(chunk_size=CHUNK_SIZE))

    return spreadsheet_response(fmt, stem, rows(), sheet_title=_("My imports"))
