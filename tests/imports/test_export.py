"""EXPORT of My imports: the current filtered list, all pages, as CSV and .xlsx, streamed, one line
per import row with the columns of the list and of the expanded row, formulas neutralised."""

import csv
import datetime as dt
import io

import pytest
from django.http import FileResponse, StreamingHttpResponse
from openpyxl import load_workbook

from core.spreadsheets import neutralise
from imports.models import ImportJob, ImportRow

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)
URL = "/imports/export/"


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-2", "'-2"), ("@cmd", "'@cmd"), ("\t=x", "'\t=x"),
    ("\r=x", "'\r=x"), ("plain", "plain"), ("", ""), (5, 5), (None, None),
])
def test_formulas_are_neutralised(value, expected):
    assert neutralise(value) == expected


def test_csv_has_the_filtered_list_all_pages_and_one_line_per_row(abbie_client, demo):
    jobs = [schedule(demo, due_at=DUE) for _ in range(12)]
    ImportJob.objects.filter(pk=jobs[0].pk).update(name='=HYPERLINK("http://evil","x")', status="failed")
    ImportRow.objects.filter(job=jobs[0]).update(status="failed", error="@SUM(1)")
    other = schedule(demo, due_at=DUE, company=demo.cusco, user=demo.admin_andes, code="100113_AzurePlan_10002",
                     term="P1M", vendor_config={})
    bulk = ImportJob.objects.create(source="import", due_at=DUE, created_by=demo.admin_abbie, company=demo.eritech,
                                    status="completed")
    for position in (1, 2):
        ImportRow.objects.create(job=bulk, position=position, parent_company=demo.eritech, payload={"product_code": "-X"})

    rows = read_csv(abbie_client.get(URL, {"format": "csv"}))
    header, lines = rows[0], rows[1:]
    assert header[:10] == ["Import Id", "Import name", "Account type", "Source", "Date created UTC",
                           "Import schedule date (UTC)", "Imported accounts (No.)", "Status", "Errors (No.)", "Creator"]
    assert "Parent display name" in header and "Product name" in header and header[-1] == "Error"
    assert len(lines) == 12 + 2  # every page; the bulk job's two rows are two lines
    ids = [int(line[0]) for line in lines]
    assert other.pk not in ids  # another reseller's job
    evil = next(line for line in lines if int(line[0]) == jobs[0].pk)
    assert evil[1] == "'=HYPERLINK(\"http://evil\",\"x\")" and evil[-1] == "'@SUM(1)"
    # Product name, then Product code: a bulk line without an order names its product by the file's code.
    assert header[15:17] == ["Product name", "Product code"]
    assert [line[15:17] for line in lines if int(line[0]) == bulk.pk] == [["'-X", "'-X"]] * 2
    assert evil[13:17] == ["ERITECH PERU S.A.", "", "(NCE) Exchange Online Kiosk", "100113_ExchanOnlineKiosk_61893"]
    assert lines[-1][5] == "2024-07-31 10:00:00"

    filtered = read_csv(abbie_client.get(URL, {"format": "csv", "status": "failed"}))
    assert [int(line[0]) for line in filtered[1:]] == [jobs[0].pk]


def test_xlsx_is_a_workbook_with_the_same_lines(abbie_client, demo):
    for _ in range(3):
        schedule(demo, due_at=DUE)
    ImportJob.objects.update(name="=cmd|' /C calc'!A0")
    response = abbie_client.get(URL, {"format": "xlsx", "status": "pending"})
    assert isinstance(response, FileResponse)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'attachment; filename="my-imports-' in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][1] == "Import name" and len(rows) == 4
    assert all(row[1] == "'=cmd|' /C calc'!A0" for row in rows[1:])


def test_export_needs_login_and_bad_input_falls_back(client, demo):
    assert client.get(URL).status_code == 302
    client.force_login(demo.admin_abbie)
    response = client.get(URL, {"format": "pdf", "sort": "nope", "per_page": "7", "q": "%" * 600})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_the_list_links_to_the_export_of_what_it_shows(abbie_client, demo):
    html = abbie_client.get("/imports/", {"status": "failed", "per_page": "25"}).content.decode()
    assert 'href="/imports/export/?per_page=25&amp;status=failed&amp;format=csv"' in html
    assert 'href="/imports/export/?per_page=25&amp;status=failed&amp;format=xlsx"' in html
