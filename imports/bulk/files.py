"""Reading an uploaded import file into lines of cells, and writing templates and failed lines.

CSV (UTF-8 with or without a BOM, comma or semicolon, any line ending) and Excel .xlsx (openpyxl)
are read into the same Table. Every cell is kept as text: a formula (=cmd|..., +, -, @) is stored
as the text it is and never evaluated (openpyxl is asked for formulas, not their cached results);
every download neutralises such text again (core.spreadsheets.neutralise).
"""

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy as _

from imports.bulk.columns import ERROR_COLUMN, ERROR_COLUMN_EN, Column, columns_by_header, normalise

MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 5000
XLSX_MAGIC = b"PK\x03\x04"
# Excel's own limit for the text of a cell: a longer one is no spreadsheet's, only an attack's.
MAX_CELL_CHARS = 32_767
# Columns read of any row (the widest template has 17), and past the header's last column: a
# cell at XFD (16,384) is never read into a list as wide as the sheet.
MAX_COLUMNS = 64
COLUMN_MARGIN = 8
# An .xlsx is a zip: what it unpacks to is bounded before openpyxl reads a byte of it. A 5,000-line
# file of the widest template unpacks to a few MB; Excel's workbook has about a dozen parts.
XLSX_MAX_UNPACKED = 50 * 1024 * 1024
XLSX_MAX_PARTS = 100

FILE_EMPTY = _("The file is empty.")
FILE_NO_LINES = _("The file has a header but no lines to import.")
FILE_TOO_BIG = _("The file is larger than 5 MB. Split it into smaller files.")
FILE_TOO_MANY_LINES = _("The file has more than 5,000 lines to import; at most 5,000 are allowed per file. Split it into smaller files.")
FILE_NOT_READABLE = _(
    "The file could not be read: upload a CSV file in UTF-8 (comma or semicolon separated) or an Excel .xlsx file."
)
XLSX_TOO_BIG_UNPACKED = _(
    "The Excel file unpacks to more than 50 MB, far more than 5,000 lines need. Save only the sheet to import "
    "as a new .xlsx or CSV file and upload that."
)
XLSX_TOO_MANY_PARTS = _(
    "The Excel file has more than 100 parts, far more than a sheet of lines needs. Save only the sheet to import "
    "as a new .xlsx or CSV file and upload that."
)
CELL_TOO_LONG = _("Line %(line)s has a cell longer than 32,767 characters (Excel's own limit). Shorten it.")
HEADER_UNKNOWN = _("Unknown columns: %(columns)s. Use the column names of the template.")
HEADER_MISSING = _("Missing columns: %(columns)s.")
HEADER_REPEATED = _("Columns given more than once: %(columns)s.")
LINE_TOO_LONG = _("Line %(line)s has more cells than the header has columns.")


class FileProblem(Exception):
    """The file as a whole cannot be imported; `messages` say why (one per problem)."""

    def __init__(self, *messages: str):
        super().__init__(*messages)
        self.messages = [str(message) for message in messages]


@dataclass
class Table:
    header: list[str]
    # (line number in the file, as a spreadsheet numbers its rows: the header counted, cells), empty lines left out
    lines: list[tuple[int, list[str]]]


def _text(value) -> str:
    """A spreadsheet cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_archive(content: bytes) -> None:
    """Refuses a zip with too many parts or unpacking to too much, from its directory alone (nothing
    is unpacked). The sizes it declares are a true bound: zipfile stops reading a part there."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise FileProblem(FILE_NOT_READABLE) from exc
    if len(parts) > XLSX_MAX_PARTS:
        raise FileProblem(XLSX_TOO_MANY_PARTS)
    if sum(part.file_size for part in parts) > XLSX_MAX_UNPACKED:
        raise FileProblem(XLSX_TOO_BIG_UNPACKED)


def _filled(value) -> bool:
    return value is not None and value != ""


def _read_xlsx(content: bytes) -> Iterator[tuple[int, list]]:
    """The non-empty rows of the first sheet, as (row number, values up to the last filled one).

    The work is what the file holds, not what it claims: its <dimension> is ignored (openpyxl would
    pad every row to its width and yield a row for every number up to its last), at most
    MAX_COLUMNS columns are read, and a run of missing row numbers costs nothing but a counter."""
    from openpyxl import load_workbook

    _check_archive(content)
    # openpyxl raises many kinds of errors on a damaged or foreign file (zip, XML, key and value
    # errors); whichever it is, the reseller gets the same clear message, never a 500.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001
        raise FileProblem(FILE_NOT_READABLE) from exc
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        number = 0
        blank = None  # openpyxl yields one and the same tuple for every missing row number
        try:
            for values in rows:
                number += 1
                if values is blank:
                    continue
                end = len(values)
                while end and not _filled(values[end - 1]):
                    end -= 1
                if not end:
                    blank = values
                    continue
                yield number, list(values[:end])
        except Exception as exc:  # noqa: BLE001  (a damaged sheet, as above)
            raise FileProblem(FILE_NOT_READABLE) from exc
    finally:
        workbook.close()


def _read_csv(content: bytes) -> Iterator[tuple[int, list]]:
    if b"\x00" in content:
        raise FileProblem(FILE_NOT_READABLE)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(FILE_NOT_READABLE) from exc
    first_line = text.split("\n", 1)[0]
    # Excel saves "CSV" with semicolons where the comma is the decimal separator (Peru, Spain).
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # csv's own field limit (csv.field_size_limit, 131,072 by default, process-wide and left so)
    # bounds a cell before read_table's MAX_CELL_CHARS says which line it is on.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    # A line's number is its record's, as a spreadsheet numbers its rows (the header is 1, a blank
    # line counts): a quoted cell holding line breaks (an address) is one row, not several, so
    # csv's own line_num (the text's physical lines) would name a later line than the reseller sees.
    number = 0
    try:
        for cells in reader:
            number += 1
            yield number, cells
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise FileProblem(CELL_TOO_LONG % {"line": number + 1}) from exc
        raise FileProblem(FILE_NOT_READABLE) from exc


def read_table(content: bytes) -> Table:
    """The file's header and non-empty lines; raises FileProblem for what is wrong with the whole file.

    Reading stops at the first line past MAX_LINES and at the first cell longer than
    MAX_CELL_CHARS; of the cells past the header's width + COLUMN_MARGIN only the first filled one
    is kept (so the line is reported as too long), and an .xlsx is read to MAX_COLUMNS columns."""
    if not content or not content.strip():
        raise FileProblem(FILE_EMPTY)
    if len(content) > MAX_BYTES:
        raise FileProblem(FILE_TOO_BIG)
    reader = _read_xlsx(content) if content.startswith(XLSX_MAGIC) else _read_csv(content)
    header: list[str] | None = None
    width = MAX_COLUMNS
    lines: list[tuple[int, list[str]]] = []
    try:
        for number, values in reader:
            if len(values) > width:
                # Past the header's width only whether anything is there matters (cells_by_key
                # then says the line has more cells than the header): the first such cell is kept.
                values = values[:width] + [next((v for v in values[width:] if _filled(v)), "")]
            cells = []
            for value in values:
                text = value if isinstance(value, str) else _text(value)
                if len(text) > MAX_CELL_CHARS:
                    raise FileProblem(CELL_TOO_LONG % {"line": number})
                cells.append(text.strip())
            if not any(cells):  # a blank line (a trailing one, or Excel's empty rows)
                continue
            if header is None:
                header = cells
                width = len(header) + COLUMN_MARGIN
                continue
            if len(lines) == MAX_LINES:
                raise FileProblem(FILE_TOO_MANY_LINES)  # read no further: how many more is no matter
            lines.append((number, cells))
    finally:
        reader.close()  # an .xlsx's workbook is closed at once, not when the generator is collected
    if header is None:
        raise FileProblem(FILE_EMPTY)
    if not lines:
        raise FileProblem(FILE_NO_LINES)
    return Table(header=header, lines=lines)


def match_header(header: list[str], account_type: str) -> list[Column | None]:
    """The column of each header cell (None for trailing empty header cells); raises FileProblem
    naming unknown, repeated and missing columns."""
    known = columns_by_header(account_type)
    matched: list[Column | None] = []
    unknown, repeated, seen = [], [], set()
    # The error column of a failed-lines download is ignored, so those lines can be re-imported as they are.
    ignored = {normalise(ERROR_COLUMN_EN), normalise(gettext(ERROR_COLUMN))}
    for cell in header:
        if not cell or normalise(cell) in ignored:
            matched.append(None)
            continue
        column = known.get(normalise(cell))
        if column is None:
            unknown.append(cell)
        elif column.key in seen:
            repeated.append(cell)
        else:
            seen.add(column.key)
        matched.append(column)
    missing = [gettext(c.label) for c in dict.fromkeys(known.values()) if c.required and c.key not in seen]
    problems = []
    if unknown:
        problems.append(HEADER_UNKNOWN % {"columns": ", ".join(f'"{name}"' for name in unknown)})
    if repeated:
        problems.append(HEADER_REPEATED % {"columns": ", ".join(f'"{name}"' for name in repeated)})
    if missing:
        problems.append(HEADER_MISSING % {"columns": ", ".join(f'"{name}"' for name in missing)})
    if problems:
        raise FileProblem(*problems)
    return matched


def cells_by_key(table: Table, account_type: str) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str]]]:
    """Each line as {column key: text}, and the (line, message) of lines with cells past the header."""
    columns = match_header(table.header, account_type)
    lines, problems = [], []
    for number, cells in table.lines:
        if any(cells[len(columns):]):
            problems.append((number, str(LINE_TOO_LONG % {"line": number})))
            continue
        lines.append((number, {col.key: cell for col, cell in zip(columns, cells) if col is not None}))
    return lines, problems


# --- Writing: templates and failed lines --------------------------------------------------------


def template_rows(columns: tuple[Column, ...]) -> list[list[str]]:
    """The header (in English, the format's own names) and one example line."""
    return [[c.label for c in columns], [c.example for c in columns]]
