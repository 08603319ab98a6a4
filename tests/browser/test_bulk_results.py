"""In the browser, as a reseller reconciling a bulk import (issue 24): IMPORT ACCOUNTS → Users → the
CSV template → three new users and two addresses that are taken (another reseller's admin, and ABBIE
BOX's own admin) → upload → the job runs → My imports shows it "Completed with errors"; its lines
show each file line, the users created (email, name, User Id linking to the user) and, for the two
failed lines, "Line N: ..." naming the address; the same in Spanish."""

import csv
import io

import pytest
from playwright.sync_api import expect

from accounts.models import User
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD = [
    ("466158", "ana.rios@eritechperu.com", "Ana", "Ríos"),
    ("466158", "bruno.diaz@eritechperu.com", "Bruno", "Díaz"),
    ("466201", "luis.paz@nortedigital.example", "Luis", "Paz"),
]
ANDES_EN = "Line 3: The email address admin@andescloud.example cannot be used; choose another one."
ABBIE_EN = "Line 5: Another user already has the email address admin@abbiebox.com (ABBIE BOX S.A.C. (410002))."
ANDES_ES = "Línea 3: La dirección de correo admin@andescloud.example no se puede usar; elija otra."
ABBIE_ES = "Línea 5: Otro usuario ya tiene la dirección de correo admin@abbiebox.com (ABBIE BOX S.A.C. (410002))."


def test_a_users_import_shows_what_each_line_created_or_why_it_failed(page, live_server, demo, log_in, tmp_path):
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    page.get_by_role("link", name="IMPORT ACCOUNTS").click()
    page.get_by_label("Users").check()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Users template (CSV)").click()
    header, _example = list(csv.reader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig"))))

    def line(**cells):
        return [cells.get(name, "") for name in header]

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)  # line 1
    writer.writerow(line(**{"Parent Account Id": GOOD[0][0], "Email": GOOD[0][1], "First name": GOOD[0][2], "Last name": GOOD[0][3]}))
    writer.writerow(line(**{"Parent Account Id": "466158", "Email": "admin@andescloud.example"}))  # line 3: another tenant's
    writer.writerow(line(**{"Parent Account Id": GOOD[1][0], "Email": GOOD[1][1], "First name": GOOD[1][2], "Last name": GOOD[1][3]}))
    writer.writerow(line(**{"Parent Account Id": "466158", "Email": "admin@abbiebox.com"}))  # line 5: ABBIE BOX's own admin
    writer.writerow(line(**{"Parent Account Id": GOOD[2][0], "Email": GOOD[2][1], "First name": GOOD[2][2], "Last name": GOOD[2][3]}))
    path = tmp_path / "new-people.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="CHECK AND IMPORT").click()
    job = ImportJob.objects.get()
    expect(page).to_have_url(f"{live_server.url}/imports/?job={job.pk}")
    expect(page.locator(f"#import-{job.pk} .status")).to_have_text("Pending")

    dispatch_due_imports()  # what the worker does about a second after the job falls due

    page.reload()
    row = page.locator(f"#import-{job.pk}")
    expect(row.locator(".status")).to_have_text("Completed with errors")
    cells = row.locator(".imports-main td.num")
    expect(cells.nth(0)).to_have_text("3")
    expect(cells.nth(1)).to_have_text("2")
    row.locator("summary").click()
    lines = row.locator("table.imports-rows")
    expect(lines.get_by_role("columnheader")).to_contain_text(["Line", "Parent Account Id", "Import type"])
    expect(lines.get_by_role("columnheader", name="User Id")).to_be_visible()
    expect(lines.get_by_role("columnheader", name="Account created")).to_be_visible()
    expect(lines.locator("td.imports-line")).to_have_text(["2", "3", "4", "5", "6"])
    for _parent, email, first, last in GOOD:
        user = User.objects.get(email=email)
        expect(lines.locator(".imports-created-email", has_text=email)).to_be_visible()
        expect(lines.locator(".imports-created-name", has_text=f"{first} {last}")).to_be_visible()
        expect(lines.get_by_role("link", name=str(user.pk), exact=True)).to_have_attribute("href", f"/users/{user.pk}/")
    expect(row.locator(".imports-error")).to_have_text([ANDES_EN, ABBIE_EN])
    page.screenshot(path=str(tmp_path / "bulk-results-en.png"), full_page=True)

    # The id of a created user opens its page.
    ana = User.objects.get(email="ana.rios@eritechperu.com")
    lines.get_by_role("link", name=str(ana.pk), exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/users/{ana.pk}/")
    expect(page.get_by_text("ana.rios@eritechperu.com").first).to_be_visible()

    # The lines page: the line in its column, the reason naming the address.
    page.goto(f"{live_server.url}/imports/{job.pk}/lines/")
    table = page.locator("table.imports-lines")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("3")
    expect(table.locator("tbody tr").nth(1).locator(".imports-error")).to_have_text(ANDES_EN.removeprefix("Line 3: "))

    # Spanish, from the language switch.
    page.goto(f"{live_server.url}/imports/?job={job.pk}")
    page.get_by_label("Language").select_option("es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    row = page.locator(f"#import-{job.pk}")
    expect(row.locator(".status")).to_have_text("Completada con errores")
    row.locator("summary").click()
    lines = row.locator("table.imports-rows")
    expect(lines.get_by_role("columnheader", name="Id de usuario")).to_be_visible()
    expect(lines.get_by_role("columnheader", name="Cuenta creada")).to_be_visible()
    expect(lines.locator(".imports-created-email", has_text="luis.paz@nortedigital.example")).to_be_visible()
    expect(row.locator(".imports-error")).to_have_text([ANDES_ES, ABBIE_ES])
    page.screenshot(path=str(tmp_path / "bulk-results-es.png"), full_page=True)
