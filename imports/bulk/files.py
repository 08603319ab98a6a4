"""Reading an uploaded import file into lines of cells, and writing templates and failed lines.

CSV (UTF-8 with or without a BOM, comma or semicolon, any line ending) and Excel .xlsx (openpyxl)
are read into the same Table. Every cell is kept as text: a formula (=cmd|..., +, -, @) is stored
as the text it is and never evaluated (openpyxl is asked for formulas, not their cached results);
every download neutralises such text again (core.spreadsheets.neutralise).
"""

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy as _

from imports.bulk.columns import ERROR_COLUMN, ERROR_COLUMN_EN, Column, columns_by_header, normalise

MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 5000
XLSX_MAGIC = b"PK\x03\x04"

FILE_EMPTY = _("The file is empty.")
FILE_NO_LINES = _("The file has a header but no lines to import.")
FILE_TOO_BIG = _("The file is larger than 5 MB. Split it into smaller files.")
FILE_TOO_MANY_LINES = _("The file has %(count)s lines to import; at most 5,000 are allowed per file. Split it into smaller files.")
FILE_NOT_READABLE = _(
    "The file could not be read: upload a CSV file in UTF-8 (comma or semicolon separated) or an Excel .xlsx file."
)
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
    lines: list[tuple[int, list[str]]]  # (line number in the file, cells), empty lines left out


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


def _read_xlsx(content: bytes) -> Iterable[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    # openpyxl raises many kinds of errors on a damaged or foreign file (zip, XML, key and value
    # errors); whichever it is, the reseller gets the same clear message, never a 500.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001
        raise FileProblem(FILE_NOT_READABLE) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001
                raise FileProblem(FILE_NOT_READABLE) from exc
            number += 1
            yield number, [_text(value) for value in values]
    finally:
        workbook.close()


def _read_csv(content: bytes) -> Iterable[tuple[int, list[str]]]:
    if b"\x00" in content:
        raise FileProblem(FILE_NOT_READABLE)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(FILE_NOT_READABLE) from exc
    first_line = text.split("\n", 1)[0]
    # Excel saves "CSV" with semicolons where the comma is the decimal separator (Peru, Spain).
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        raise FileProblem(FILE_NOT_READABLE) from exc


def read_table(content: bytes) -> Table:
    """The file's header and non-empty lines; raises FileProblem for what is wrong with the whole file."""
    if not content or not content.strip():
        raise FileProblem(FILE_EMPTY)
    if len(content) > MAX_BYTES:
        raise FileProblem(FILE_TOO_BIG)
    reader = _read_xlsx(content) if content.startswith(XLSX_MAGIC) else _read_csv(content)
    header: list[str] | None = None
    lines: list[tuple[int, list[str]]] = []
    for number, cells in reader:
        cells = [cell.strip() if isinstance(cell, str) else _text(cell) for cell in cells]
        if not any(cells):  # a blank line (a trailing one, or Excel's empty rows)
            continue
        if header is None:
            header = cells
            continue
        lines.append((number, cells))
        if len(lines) > MAX_LINES:
            # Counted to the end only to say how many there were; nothing more is kept.
            count = len(lines) + sum(1 for _n, rest in reader if any(c.strip() for c in rest))
            raise FileProblem(FILE_TOO_MANY_LINES % {"count": f"{count:,}"})
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
