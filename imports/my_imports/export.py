"""EXPORT of My imports: the current filtered list, all pages, as CSV or .xlsx.

One line per import row (a job without rows still gets a line), with the columns of the list and
of the expanded row. Streamed: jobs are read in chunks and written out as they come, so 100,000
lines never sit in memory (CSV goes straight to the response; .xlsx is written row by row by
openpyxl's write-only mode to a temporary file, which is then sent in blocks).

Spreadsheet programs run a cell that starts with = + - @ (or a tab or carriage return before
one) as a formula: such text gets a leading apostrophe, so a job name can never run anything.
"""

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from imports.models import ImportJob

UTC = dt.timezone.utc
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def neutralise(value):
    """Text a spreadsheet would run as a formula, made inert; numbers and everything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def header() -> list[str]:
    return [
        _("Import Id"), _("Import name"), _("Account type"), _("Source"), _("Date created UTC"),
        _("Import schedule date (UTC)"), _("Imported accounts (No.)"), _("Status"), _("Errors (No.)"), _("Creator"),
        _("Parent Account Id"), _("Import type"), _("Parent account start date"), _("Parent display name"),
        _("Account Id"), _("Product name"), _("Is direct payment"), _("Error"),
    ]


def lines(jobs: Iterable[ImportJob]) -> Iterator[list]:
    """The export's lines (without the header), neutralised."""
    for job in jobs:
        head = [
            job.pk, job.name or "-", job.get_account_type_display(), job.get_source_display(), _when(job.created_at),
            _when(job.due_at), job.imported_count, job.get_status_display(), job.error_count, job.created_by.email,
        ]
        rows = list(job.rows.all())
        if not rows:
            yield [neutralise(v) for v in head + [""] * 8]
            continue
        for row in rows:
            company = row.parent_company
            yield [
                neutralise(v)
                for v in head + [
                    company.account_id, row.get_import_type_display(), _when(company.billing_start_date), company.name,
                    row.result_account_id or "", row.product_code, "true" if row.is_direct_payment else "false",
                    row.failure_reason,
                ]
            ]


def _filename(extension: str) -> str:
    return f"my-imports-{timezone.now():%Y%m%d-%H%M%S}.{extension}"


class _Echo:
    """csv.writer's file: hands back what it was given, for the streaming response."""

    def write(self, value):
        return value


def csv_response(jobs) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # a BOM, so spreadsheet programs read the file as UTF-8
        yield writer.writerow(header())
        for line in lines(jobs.iterator(chunk_size=CHUNK_SIZE)):
            yield writer.writerow(line)

    response = StreamingHttpResponse(stream(), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    return response


def xlsx_response(jobs) -> FileResponse:
    from openpyxl import Workbook  # imported here: only the export needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("My imports")[:31])
    sheet.append(header())
    for line in lines(jobs.iterator(chunk_size=CHUNK_SIZE)):
        sheet.append(line)
    # Deleted when closed, i.e. once the response has been sent.
    file = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(file)
    file.seek(0)
    return FileResponse(file, as_attachment=True, filename=_filename("xlsx"), content_type=XLSX_CONTENT_TYPE)
