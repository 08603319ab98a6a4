"""In the browser, as a new user would: IMPORT ACCOUNTS → Products → the CSV template → two good
lines for ERITECH PERU S.A. and a Business Premium for a customer without a tenant → upload →
accept the terms → My imports shows the Import job, which ends with Imported accounts 2, Errors 1
and the reason; the subscriptions show on ERITECH's page; the email says so."""

import csv
import io

import pytest
from playwright.sync_api import expect

from devtools.demo import KIOSK, PREMIUM
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_import_products_from_the_csv_template(page, live_server, demo, log_in, tmp_path, mailoutbox):
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    page.get_by_role("link", name="IMPORT ACCOUNTS").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import accounts")
    page.get_by_label("Products").check()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Products template (CSV)").click()
    template = download_info.value.path().read_text(encoding="utf-8-sig")
    header, example = list(csv.reader(io.StringIO(template)))
    assert header[:2] == ["Parent Account Id", "Product code"] and len(example) == len(header)

    def line(**cells):
        return [cells.get(name, "") for name in header]

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(line(**{"Parent Account Id": "466158", "Product code": KIOSK, "Quantity": "2"}))
    writer.writerow(line(**{"Parent Account Id": "466158", "Product code": KIOSK, "Subscription Name": "Kiosk for the shop"}))
    writer.writerow(line(**{"Parent Account Id": "466201", "Product code": PREMIUM}))
    path = tmp_path / "eritech.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="CHECK AND IMPORT").click()
    # Business Premium's terms are not accepted yet for ABBIE BOX's price list: the page lists them.
    expect(page.get_by_text("eritech.csv: every line is correct")).to_be_visible()
    expect(page.locator(".terms-text")).to_contain_text("SPECIAL PRODUCT TERMS")
    page.get_by_label("I accept these terms and conditions").check()
    page.get_by_role("button", name="START IMPORT").click()

    job = ImportJob.objects.get()
    expect(page).to_have_url(f"{live_server.url}/imports/?job={job.pk}")
    row = page.locator(f"#import-{job.pk}")
    expect(row.locator(".imports-main")).to_contain_text("Import")
    expect(row.locator(".imports-main")).to_contain_text("Products")
    expect(row.locator(".status")).to_have_text("Pending")

    dispatch_due_imports()  # what the worker does about a second after the job falls due

    page.reload()
    row = page.locator(f"#import-{job.pk}")
    expect(row.locator(".status")).to_have_text("Completed with errors")  # 2 created, 1 failed (issue 24)
    cells = row.locator(".imports-main td.num")
    expect(cells.nth(0)).to_have_text("2")
    expect(cells.nth(1)).to_have_text("1")
    row.locator("summary").click()
    expect(row.locator(".imports-error")).to_contain_text("Required subscription missing")
    expect(row.get_by_role("link", name="Download CSV")).to_be_visible()

    page.goto(f"{live_server.url}/companies/466158/")
    expect(page.get_by_text("Kiosk for the shop").first).to_be_visible()

    (email,) = [m for m in mailoutbox if "Completed accounts" in m.body]
    assert "Completed accounts: 2" in email.body and "Failed accounts: 1" in email.body
