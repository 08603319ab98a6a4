"""Issue 24, "Bulk results are hard to reconcile": each row of a Users or Companies import shows the
line of the file it came from (as a spreadsheet numbers it), the account it created (the user's
email, name and User Id; the company's name and account id) or why it failed, naming the value, on
My imports, the lines page, the export, the failed-lines download, the email and the API, in English
and Spanish, for the same statements whatever the rows hold."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time
from rest_framework.test import APIClient

import core.api.throttling  # noqa: F401  (imported before freeze_time: its timer must be the real clock)
from accounts.models import Company, User
from accounts.users.api_tokens import api_token_create
from imports.bulk.files import read_table
from imports.bulk.rows import COMPANY_DOMAIN_TAKEN_VALUE, USER_EMAIL_TAKEN_HERE, USER_EMAIL_UNUSABLE
from imports.bulk.services import imports_bulk_start
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, ImportRow

from .bulk_helpers import csv_bytes, lines_for
from .helpers import UTC

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
U, C = ImportJob.AccountType.USERS, ImportJob.AccountType.COMPANIES


def users_file() -> bytes:
    """A header, a good line, a blank line, a good line whose Job title holds a line break (one
    spreadsheet row, two lines of text), another reseller's admin, a good line, ABBIE BOX's admin."""
    rows = lines_for(
        U,
        {"Parent Account Id": "466158", "Email": "Ana.Rios@EritechPeru.com", "First name": "Ana", "Last name": "Ríos"},
        {"Parent Account Id": "466158", "Email": "bruno.diaz@eritechperu.com", "First name": "Bruno", "Last name": "Díaz",
         "Job title": "IT\nLima office"},
        {"Parent Account Id": "466158", "Email": "admin@andescloud.example"},
        {"Parent Account Id": "466201", "Email": "luis.paz@nortedigital.example", "First name": "Luis", "Last name": "Paz"},
        {"Parent Account Id": "466158", "Email": "Admin@AbbieBox.com"},
    )
    rows.insert(2, [])  # a blank line: a spreadsheet's row 3
    return csv_bytes(rows)


def run_file(demo, account_type, content, django_capture_on_commit_callbacks) -> ImportJob:
    result = imports_bulk_start(
        user=demo.admin_abbie, account_type=account_type, file_name="people.csv", content=content,
        due_at=None, now=NOW, accept_terms=True,
    )
    assert result.errors == [] and result.job is not None, result.errors
    with freeze_time(NOW + dt.timedelta(seconds=1)), django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports()
    result.job.refresh_from_db()
    return result.job


@pytest.fixture
def users_job(demo, django_capture_on_commit_callbacks):
    return run_file(demo, U, users_file(), django_capture_on_commit_callbacks)


ANDES = "The email address admin@andescloud.example cannot be used; choose another one."
ABBIE = "Another user already has the email address Admin@AbbieBox.com (ABBIE BOX S.A.C. (410002))."


def test_a_csv_line_is_numbered_as_a_spreadsheet_numbers_its_rows():
    content = b'Parent Account Id,Address\n466158,"Av. Larco 101\nPiso 3\nMiraflores"\n\n466158,Lima\n'
    table = read_table(content)
    # The record with a three-line cell is row 2; the blank line is row 3; the next is row 4 (not 6).
    assert [number for number, _cells in table.lines] == [2, 4]


def test_each_row_keeps_its_file_line_and_what_it_created(demo, users_job):
    assert (users_job.status, users_job.imported_count, users_job.error_count) == (ImportJob.Status.COMPLETED_WITH_ERRORS, 3, 2)
    rows = {row.position: row for row in users_job.rows.all()}
    assert sorted(rows) == [2, 4, 5, 6, 7]  # row 3 is the blank line; the line break in row 4 shifts nothing
    ana, bruno, luis = (User.objects.get(email=e) for e in ("ana.rios@eritechperu.com", "bruno.diaz@eritechperu.com", "luis.paz@nortedigital.example"))
    assert rows[2].created_account == {"type": "user", "id": ana.pk, "email": "ana.rios@eritechperu.com", "name": "Ana Ríos"}
    assert rows[4].created_account == {"type": "user", "id": bruno.pk, "email": "bruno.diaz@eritechperu.com", "name": "Bruno Díaz"}
    assert rows[6].created_account["id"] == luis.pk and luis.company == demo.norte
    assert rows[5].created_account is rows[7].created_account is None
    # Another reseller's user: the address is named, nothing says that a user has it (issue 23).
    assert rows[5].failure_reason == ANDES == str(USER_EMAIL_UNUSABLE % {"email": "admin@andescloud.example"})
    # A user of the creator's own companies, which it sees anyway: said plainly, with where.
    assert rows[7].failure_reason == ABBIE == str(USER_EMAIL_TAKEN_HERE % {"email": "Admin@AbbieBox.com", "company": "ABBIE BOX S.A.C. (410002)"})
    assert rows[7].failure_on_line == f"Line 7: {ABBIE}"
    assert rows[2].failure_on_line == "" and rows[2].file_line == 2
    # Stored as messages with their parameters, never as English text (core.stored_messages).
    assert rows[5].error.startswith("i18n:") and "admin@andescloud.example" in rows[5].error
    with translation.override("es"):
        assert rows[5].failure_on_line == "Línea 5: La dirección de correo admin@andescloud.example no se puede usar; elija otra."
        assert rows[7].failure_reason == "Otro usuario ya tiene la dirección de correo Admin@AbbieBox.com (ABBIE BOX S.A.C. (410002))."


def test_a_companies_line_names_the_domain_another_company_has(demo, django_capture_on_commit_callbacks):
    content = csv_bytes(lines_for(
        C,
        {"Parent Account Id": "410002", "Company name": "LIMA FOODS S.A.C.", "Domain": "limafoods.example"},
        {"Parent Account Id": "410002", "Company name": "COPY S.A.C.", "Domain": "EritechPeru.com"},
    ))
    job = run_file(demo, C, content, django_capture_on_commit_callbacks)
    lima, copy = job.rows.order_by("position")
    company = Company.objects.get(name="LIMA FOODS S.A.C.")
    assert lima.created_account == {"type": "company", "id": company.account_id, "name": "LIMA FOODS S.A.C.", "email": ""}
    assert copy.failure_on_line == "Line 3: " + str(COMPANY_DOMAIN_TAKEN_VALUE % {"domain": "EritechPeru.com"})
    with translation.override("es"):
        assert copy.failure_on_line == "Línea 3: Otra empresa ya tiene el dominio EritechPeru.com; un dominio pertenece a una sola empresa."


def test_my_imports_and_the_lines_page_show_lines_accounts_and_reasons(abbie_client, demo, users_job):
    ana = User.objects.get(email="ana.rios@eritechperu.com")
    for url in (reverse("imports:my_imports") + f"?job={users_job.pk}", reverse("imports:job_lines", args=[users_job.pk])):
        html = abbie_client.get(url).content.decode()
        assert '<th scope="col">User Id</th>' in html and '<th scope="col">Account created</th>' in html
        assert f'<a href="/users/{ana.pk}/">{ana.pk}</a>' in html
        assert '<span class="imports-created-email">ana.rios@eritechperu.com</span><br><span class="imports-created-name">Ana Ríos</span>' in html
        assert ANDES in html  # inline "Line 5: ..."; the lines page has the line in its own column
        assert "admin@andescloud.example" in html
    inline = abbie_client.get(reverse("imports:my_imports"), {"job": users_job.pk}).content.decode()
    assert '<td class="num imports-line">7</td>' in inline
    assert "Line 7: " + ABBIE in inline

    spanish = abbie_client.get(reverse("imports:my_imports"), {"job": users_job.pk}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Id de usuario" in spanish and "Cuenta creada" in spanish
    assert "Línea 5: La dirección de correo admin@andescloud.example no se puede usar; elija otra." in spanish


def test_a_companies_job_shows_the_company_by_name_with_its_account_id_linked(abbie_client, demo, django_capture_on_commit_callbacks):
    content = csv_bytes(lines_for(C, {"Parent Account Id": "410002", "Company name": "LIMA FOODS S.A.C."}))
    job = run_file(demo, C, content, django_capture_on_commit_callbacks)
    company = Company.objects.get(name="LIMA FOODS S.A.C.")
    html = abbie_client.get(reverse("imports:my_imports"), {"job": job.pk}).content.decode()
    assert f'<a href="/companies/{company.account_id}/">{company.account_id}</a>' in html
    assert '<span class="imports-created-name">LIMA FOODS S.A.C.</span>' in html


def test_the_api_adds_file_line_and_created_account_and_keeps_its_keys(demo, users_job):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(actor=demo.admin_abbie, user=demo.admin_abbie, name='t')[1]}")
    body = client.get(f"/api/v1/imports/{users_job.pk}/").json()
    rows = {row["position"]: row for row in body["rows"]}
    ana = User.objects.get(email="ana.rios@eritechperu.com")
    assert set(rows[2]) == {
        "position", "import_type", "status", "parent_account_id", "parent_display_name", "parent_account_start_date",
        "product_code", "account_id", "is_direct_payment", "error", "processed_at", "file_line", "created_account",
    }
    assert rows[2]["file_line"] == 2 and rows[2]["account_id"] is None
    assert rows[2]["created_account"] == {"type": "user", "id": ana.pk, "name": "Ana Ríos", "email": "ana.rios@eritechperu.com"}
    assert (rows[5]["file_line"], rows[5]["created_account"], rows[5]["error"]) == (5, None, ANDES)
    spanish = client.get(f"/api/v1/imports/{users_job.pk}/", HTTP_ACCEPT_LANGUAGE="es").json()
    assert "no se puede usar" in next(row["error"] for row in spanish["rows"] if row["position"] == 5)


def test_the_schema_documents_the_new_keys(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    row = schema["components"]["schemas"]["ImportRow"]["properties"]
    assert row["file_line"]["nullable"] is True and "spreadsheet" in row["file_line"]["description"]
    assert "created_account" in row


def test_the_export_and_the_failed_lines_say_the_line_and_the_account(abbie_client, demo, users_job):
    export = list(csv.reader(io.StringIO(abbie_client.get("/imports/export/", {"format": "csv"}).getvalue().decode("utf-8-sig"))))
    header, lines = export[0], [line for line in export[1:] if line[0] == str(users_job.pk)]
    assert header[-5:] == ["Line", "Account created", "Email", "User Id", "Error"]
    ana = User.objects.get(email="ana.rios@eritechperu.com")
    assert [line[-5:] for line in lines][:1] == [["2", "Ana Ríos", "ana.rios@eritechperu.com", str(ana.pk), ""]]
    assert ["5", "", "", "", ANDES] in [line[-5:] for line in lines]

    failed = abbie_client.get(reverse("imports:failed_lines", args=[users_job.pk]), {"format": "csv"}).getvalue().decode("utf-8-sig")
    failed_rows = list(csv.reader(io.StringIO(failed)))
    assert [row[-1] for row in failed_rows[1:]] == [f"Line 5: {ANDES}", f"Line 7: {ABBIE}"]


def test_the_email_names_each_failed_line(demo, users_job, mailoutbox):
    (email,) = [m for m in mailoutbox if "Failed accounts" in m.body]
    assert f"Line 5: {ANDES}" in email.body and f"Line 7: {ABBIE}" in email.body


def test_my_imports_costs_the_same_statements_with_users_rows(abbie_client, demo, django_capture_on_commit_callbacks):
    """A page with a Users job of 2 lines and one with a Users job of 40 (5 shown inline): the same statements."""

    def page_statements():
        abbie_client.get(reverse("imports:my_imports"))  # the session's first request reads more
        with CaptureQueriesContext(connection) as context:
            assert abbie_client.get(reverse("imports:my_imports")).status_code == 200
        return len(context.captured_queries)

    def people(n, start):
        return [{"Parent Account Id": "466158", "Email": f"p{start + i}@eritechperu.com", "First name": f"P{i}"} for i in range(n)]

    small = run_file(demo, U, csv_bytes(lines_for(U, *people(2, 0))), django_capture_on_commit_callbacks)
    few = page_statements()
    ImportJob.objects.filter(pk=small.pk).delete()
    run_file(demo, U, csv_bytes(lines_for(U, *people(40, 100))), django_capture_on_commit_callbacks)
    assert page_statements() == few


def test_rows_completed_before_get_their_account_from_the_migration(demo):
    """The data migration's backfill, on rows as an earlier version wrote them (no `created`)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("imports.migrations.0017_import_row_created")
    job = ImportJob.objects.create(source="import", account_type=U, due_at=NOW, created_by=demo.admin_abbie, company=demo.eritech,
                                   status="completed")
    user_row = ImportRow.objects.create(job=job, position=2, import_type="user", parent_company=demo.eritech, status="completed",
                                        payload={"values": {"email": "Admin@AbbieBox.com"}})
    company_row = ImportRow.objects.create(job=job, position=3, import_type="company", parent_company=demo.abbiebox,
                                           status="completed", result_account_id=demo.eritech.account_id, payload={"values": {}})
    migration.backfill(apps, None)
    user_row.refresh_from_db()
    company_row.refresh_from_db()
    assert user_row.created_account == {"type": "user", "id": demo.admin_abbie.pk, "email": "admin@abbiebox.com",
                                        "name": demo.admin_abbie.get_full_name()}
    assert company_row.created_account["name"] == "ERITECH PERU S.A."


def test_another_refusal_at_run_time_names_its_column_and_value():
    """A model's refusal of a field the file filled (the checks catch almost all of them first)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import EmailValidator

    from core.stored_messages import rendered, stored_errors
    from imports.bulk.checks import UserLineForm
    from imports.bulk.rows import _naming_values

    refused = ValidationError({
        "email": [ValidationError(EmailValidator.message, code="invalid")],
        "job_title": [ValidationError("Not this one.", code="x")],  # a field the line left empty: as it is
    })
    named = _naming_values(refused, {"email": "ana@@x"}, UserLineForm)
    texts = [rendered(text) for text in stored_errors(named)]
    assert texts == ["Email ana@@x: Enter a valid email address.", "Not this one."]
    with translation.override("es"):
        assert rendered(stored_errors(named)[0]) == "Correo electrónico ana@@x: Introduzca una dirección de correo electrónico válida."
