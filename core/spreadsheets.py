"""Downloads as CSV or .xlsx: the one home for both formats (My imports' EXPORT, the bulk import
templates and failed lines, the company page's EXPORT).

Streamed either way: CSV rows go to the response as they are produced; .xlsx rows are written by
openpyxl's write-only mode to a temporary file, which is then sent in blocks. So a 100,000-line
export never sits in memory.

Spreadsheet programs run a cell that starts with = + - @ (or a tab or carriage return before
one) as a formula: every value goes through `neutralise`, so no text we send can run anything.
"""

import csv
import tempfile
from collections.abc import Iterable, Sequence

from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def neutralise(value):
    """Text a spreadsheet would run as a formula, made inert; numbers and everything else unchanged.
    Idempotent: a value already neutralised starts with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """csv.writer's file: hands back what it was given, for the streaming response."""

    def write(self, value):
        return value


def csv_response(stem: str, rows: Iterable[list]) -> StreamingHttpResponse:
    """`rows` (the header first) as `<stem>.csv`, UTF-8 with a BOM so spreadsheet programs read it as UTF-8."""
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"
        for row in rows:
            yield writer.writerow([neutralise(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{stem}.csv")
    return response


def xlsx_response(stem: str, rows: Iterable[list], *, sheet_title: str | None = None) -> FileResponse:
    """`rows` (the header first) as `<stem>.xlsx`, one sheet."""
    return _xlsx_sections_response(stem, [(sheet_title, rows)])


def _sheet_title(title) -> str | None:
    # Excel refuses these characters in a sheet's name, and names longer than 31 characters.
    return "".join(" " if ch in '[]:*?/\\' else ch for ch in str(title))[:31] if title else None


def _xlsx_sections_response(stem: str, sections: Sequence[tuple[str | None, Iterable[list]]]) -> FileResponse:
    from openpyxl import Workbook  # imported here: only downloads need it, and it is slow to import

    workbook = Workbook(write_only=True)
    for title, rows in sections:
        sheet = workbook.create_sheet(title=_sheet_title(title))
        for row in rows:
            sheet.append([neutralise(value) for value in row])
    file = tempfile.TemporaryFile(suffix=".xlsx")  # deleted when closed, once the response is sent
    workbook.save(file)
    file.seek(0)
    return FileResponse(file, as_attachment=True, filename=f"{stem}.xlsx", content_type=XLSX_CONTENT_TYPE)


def sections_response(fmt: str, stem: str, sections: Sequence[tuple[str, Iterable[list]]]):
    """Several tables in one download: in .xlsx one sheet each (named by its title); in CSV one after
    the other, each under a line with its title and followed by an empty line."""
    if fmt == "xlsx":
        return _xlsx_sections_response(stem, sections)

    def rows():
        for index, (title, section_rows) in enumerate(sections):
            if index:
                yield []
            yield [str(title)]
            yield from section_rows

    return csv_response(stem, rows())


def spreadsheet_response(fmt: str, stem: str, rows: Iterable[list], *, sheet_title: str | None = None):
    """`rows` as a download in `fmt` ("xlsx", anything else is CSV)."""
    if fmt == "xlsx":
        return xlsx_response(stem, rows, sheet_title=sheet_title)
    return csv_response(stem, rows)
