"""Issue 23: files built to stall a web worker are refused or read within bounds, the work being
what the file holds, never what it claims (its <dimension>, its zip directory, its line count)."""

import io
import zipfile

import pytest
from openpyxl.worksheet import _read_only

from devtools import hostile_files
from imports.bulk import files
from imports.bulk.files import FileProblem, cells_by_key, read_table
from imports.models import ImportJob

from .bulk_helpers import csv_bytes, xlsx_bytes


@pytest.fixture
def rows_built(monkeypatch):
    """The widths of the rows openpyxl builds from the sheet's XML (one per <row> read)."""
    widths = []
    original = _read_only.ReadOnlyWorksheet._get_row

    def counting(self, row, min_col=1, max_col=None, values_only=False):
        built = original(self, row, min_col, max_col, values_only)
        widths.append(len(built))
        return built

    monkeypatch.setattr(_read_only.ReadOnlyWorksheet, "_get_row", counting)
    return widths


def refused(content) -> list[str]:
    with pytest.raises(FileProblem) as caught:
        read_table(content)
    return caught.value.messages


def test_a_dimension_claiming_the_whole_grid_is_ignored(rows_built):
    content = hostile_files.dimension_bomb(1)
    assert len(content) < 2000

    table = read_table(content)

    assert table.header == list(hostile_files.HEADER)
    assert table.lines == [(2, ["466158", "user2@example.com", "User 2"]), (1048576, ["466158"])]
    # Three <row>s in the file: three rows built, none wider than MAX_COLUMNS (not 16,384 cells each).
    assert len(rows_built) == 3
    assert max(rows_built) <= files.MAX_COLUMNS


def test_a_dimension_bomb_with_5000_lines_stops_at_the_first_line_too_many(rows_built):
    assert refused(hostile_files.dimension_bomb(5000)) == [str(files.FILE_TOO_MANY_LINES)]
    assert len(rows_built) <= 1 + files.MAX_LINES + 1  # the header, 5,000 lines and the one too many
    assert max(rows_built) <= files.MAX_COLUMNS


def test_reading_stops_at_the_line_past_5000_whatever_follows(monkeypatch, rows_built):
    content = hostile_files.normal_xlsx(files.MAX_LINES + 500)
    assert refused(content) == [str(files.FILE_TOO_MANY_LINES)]
    assert len(rows_built) == 1 + files.MAX_LINES + 1


def test_a_csv_is_read_no_further_than_the_line_past_5000(monkeypatch):
    read = []
    original = files._read_csv

    def counting(content):
        for number, cells in original(content):
            read.append(number)
            yield number, cells

    monkeypatch.setattr(files, "_read_csv", counting)
    assert refused(hostile_files.normal_csv(50_000)) == [str(files.FILE_TOO_MANY_LINES)]
    assert len(read) == 1 + files.MAX_LINES + 1


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not open a zip that unpacks to too much")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    content = hostile_files.zip_bomb(rows=600_000)  # about 60 MB of sheet XML
    assert len(content) < files.MAX_BYTES
    assert refused(content) == [str(files.XLSX_TOO_BIG_UNPACKED)]


def test_a_cell_of_150_mb_is_refused_before_it_is_unpacked(monkeypatch):
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: pytest.fail("opened"))
    assert refused(hostile_files.huge_cell(60 * 1024 * 1024)) == [str(files.XLSX_TOO_BIG_UNPACKED)]


def test_the_unpacked_size_counts_every_part_together():
    content = hostile_files.xlsx([hostile_files.row(1, hostile_files.HEADER)] + ["<row/>" * 10_000] * 100)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sum(part.file_size for part in archive.infolist()) > 600_000
    files_limit = files.XLSX_MAX_UNPACKED
    try:
        files.XLSX_MAX_UNPACKED = 600_000
        assert refused(content) == [str(files.XLSX_TOO_BIG_UNPACKED)]
    finally:
        files.XLSX_MAX_UNPACKED = files_limit


def test_a_zip_of_many_parts_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(files.XLSX_MAX_PARTS + 1):
            archive.writestr(f"part{number}.xml", "<a/>")
    assert refused(buffer.getvalue()) == [str(files.XLSX_TOO_MANY_PARTS)]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
@pytest.mark.parametrize("chars", [files.MAX_CELL_CHARS + 1, 200_000])
def test_a_cell_longer_than_excel_allows_is_refused_with_its_line(kind, chars):
    rows = [list(hostile_files.HEADER), ["466158", "a@b.example", "Ana"], ["466158", "x" * chars, "Luis"]]
    # (openpyxl's writer cuts a cell at Excel's limit: the .xlsx is written as a hostile one would be)
    content = hostile_files.xlsx([hostile_files.row(n, r) for n, r in enumerate(rows, 1)]) if kind == "xlsx" else csv_bytes(rows)
    assert refused(content) == [str(files.CELL_TOO_LONG % {"line": 3})]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_cell_of_excels_own_limit_is_read(kind):
    rows = [list(hostile_files.HEADER), ["466158", "a@b.example", "x" * files.MAX_CELL_CHARS]]
    content = xlsx_bytes(rows) if kind == "xlsx" else csv_bytes(rows)
    assert read_table(content).lines == [(2, rows[1])]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_cell_far_past_the_header_still_makes_the_line_too_long(kind):
    far = files.COLUMN_MARGIN + 20
    rows = [list(hostile_files.HEADER), ["466158", "a@b.example", "Ana"] + [""] * far + ["surprise"]]
    content = xlsx_bytes(rows) if kind == "xlsx" else csv_bytes(rows)
    table = read_table(content)
    assert len(table.lines[0][1]) <= len(hostile_files.HEADER) + files.COLUMN_MARGIN + 1
    lines, problems = cells_by_key(table, ImportJob.AccountType.USERS)
    assert lines == [] and problems == [(2, str(files.LINE_TOO_LONG % {"line": 2}))]
