"""Reading an import file: CSV in its variants and .xlsx into the same lines; what is wrong with a
whole file (empty, not readable, too big, too long, headers) with one message per problem."""

import pytest

from core import spreadsheets
from imports.bulk import files
from imports.bulk.columns import COLUMNS
from imports.bulk.files import FileProblem, cells_by_key, match_header, read_table
from imports.models import ImportJob

from .bulk_helpers import csv_bytes, lines_for, xlsx_bytes

USERS = ImportJob.AccountType.USERS
ROWS = [["Parent Account Id", "Email", "First name"], ["466158", "ana@eritechperu.com", "Ana"], ["466158", "luis@eritechperu.com", "Luis"]]


def expected(table):
    return [cells for _number, cells in table.lines]


@pytest.mark.parametrize(
    "content",
    [
        csv_bytes(ROWS),
        csv_bytes(ROWS, bom=True),
        csv_bytes(ROWS, line_end="\r\n"),
        csv_bytes(ROWS, delimiter=";", bom=True, line_end="\r\n"),  # Excel's "CSV" in a comma-decimal locale
        csv_bytes(ROWS) + b"\n\n",  # trailing empty lines
        xlsx_bytes(ROWS),
    ],
    ids=["csv", "bom", "crlf", "excel-semicolon", "trailing-empty", "xlsx"],
)
def test_every_variant_reads_the_same_lines(content):
    table = read_table(content)
    assert table.header == ROWS[0]
    assert expected(table) == ROWS[1:]
    assert [number for number, _cells in table.lines] == [2, 3]


def test_xlsx_cells_are_text_and_formulas_stay_text():
    table = read_table(xlsx_bytes([["Parent Account Id", "Email", "First name"], [466158, "a@b.example", "=cmd|' /C calc'!A0"]]))
    assert expected(table) == [["466158", "a@b.example", "=cmd|' /C calc'!A0"]]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", files.FILE_EMPTY),
        (b"  \r\n\r\n", files.FILE_EMPTY),
        (csv_bytes(ROWS[:1]), files.FILE_NO_LINES),
        ("Parent Account Id,Email\n466158,ñandú@x.example\n".encode("latin-1"), files.FILE_NOT_READABLE),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", files.FILE_NOT_READABLE),
        (b"PK\x03\x04 not really a spreadsheet", files.FILE_NOT_READABLE),
    ],
    ids=["empty", "blank", "header-only", "latin-1", "png", "broken-zip"],
)
def test_a_file_that_cannot_be_imported_says_why(content, message):
    with pytest.raises(FileProblem) as caught:
        read_table(content)
    assert caught.value.messages == [str(message)]


def test_more_than_5000_lines_is_refused_with_the_count():
    rows = [ROWS[0]] + [["466158", f"u{i}@x.example", ""] for i in range(5001)]
    with pytest.raises(FileProblem) as caught:
        read_table(csv_bytes(rows))
    assert caught.value.messages == [str(files.FILE_TOO_MANY_LINES)]


def test_5000_lines_are_accepted():
    rows = [ROWS[0]] + [["466158", f"u{i}@x.example", ""] for i in range(5000)]
    assert len(read_table(csv_bytes(rows)).lines) == 5000


def test_over_5_mb_is_refused():
    content = csv_bytes(ROWS) + b"#" * files.MAX_BYTES
    with pytest.raises(FileProblem) as caught:
        read_table(content)
    assert caught.value.messages == [str(files.FILE_TOO_BIG)]


def test_header_matching_ignores_case_spaces_and_order():
    columns = match_header(["  first   NAME ", "email", "PARENT ACCOUNT ID"], USERS)
    assert [c.key for c in columns] == ["first_name", "email", "parent_account_id"]


def test_unknown_repeated_and_missing_columns_are_named():
    with pytest.raises(FileProblem) as caught:
        match_header(["Email", "Password", "email", "Shoe size"], USERS)
    assert caught.value.messages == [
        str(files.HEADER_UNKNOWN % {"columns": '"Password", "Shoe size"'}),
        str(files.HEADER_REPEATED % {"columns": '"email"'}),
        str(files.HEADER_MISSING % {"columns": '"Parent Account Id"'}),
    ]


def test_the_error_column_of_a_failed_lines_download_is_ignored():
    columns = match_header(["Parent Account Id", "Email", "Error"], USERS)
    assert [c and c.key for c in columns] == ["parent_account_id", "email", None]


def test_cells_past_the_header_are_a_line_error():
    table = read_table(csv_bytes([["Parent Account Id", "Email"], ["466158", "a@b.example", "extra"], ["466158", "c@d.example"]]))
    lines, problems = cells_by_key(table, USERS)
    assert problems == [(2, str(files.LINE_TOO_LONG % {"line": 2}))]
    assert lines == [(3, {"parent_account_id": "466158", "email": "c@d.example"})]


@pytest.mark.parametrize("account_type", list(COLUMNS))
def test_templates_have_the_header_and_one_example_line_and_read_back(account_type):
    rows = files.template_rows(COLUMNS[account_type])
    assert len(rows) == 2 and rows[0] == [c.label for c in COLUMNS[account_type]]
    for content in (_body(spreadsheets.csv_response("t", rows)), _body(spreadsheets.xlsx_response("t", rows))):
        lines, problems = cells_by_key(read_table(content), account_type)
        assert problems == [] and len(lines) == 1


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_downloads_neutralise_formulas():
    content = _body(spreadsheets.csv_response("t", [["a"], ["=cmd|' /C calc'!A0"], ["+1"], ["-1"], ["@SUM(A1)"]])).decode("utf-8-sig")
    assert content.split() == ["a", "'=cmd|'", "/C", "calc'!A0", "'+1", "'-1", "'@SUM(A1)"]


def test_lines_for_helper_writes_every_column():
    assert lines_for(USERS, {"Email": "x@y.example"})[1][1] == "x@y.example"


def test_a_damaged_xlsx_says_it_cannot_be_read():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # a zip with a workbook part that is not XML
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "not xml at all")
    with pytest.raises(FileProblem) as caught:
        read_table(buffer.getvalue())
    assert caught.value.messages == [str(files.FILE_NOT_READABLE)]
