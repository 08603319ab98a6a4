"""In Chromium at 1440 px, the company page's action bar: + NEW, TERMINATE, EXPORT and CREDENTIALS TO
ALL USERS, one reseller's flow each; at 390 px, NEW SERVICE is on screen without scrolling sideways."""

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from accounts.models import AuditLogEntry, Company, User
from tests.factories import CompanyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
YELLOW = "rgb(245, 197, 24)"


@pytest.fixture
def desktop(page):
    page.set_viewport_size(DESKTOP)
    return page


@pytest.fixture
def customer(demo):
    company = CompanyFactory(parent=demo.abbiebox, name="LIMA FOODS S.A.C.", kind=Company.Kind.CUSTOMER)
    UserFactory(company=company, email="ana@limafoods.example")
    UserFactory(company=company, email="luis@limafoods.example")
    return company


def action_bar(page):
    return page.get_by_role("toolbar", name="Actions")


def test_new_company_and_its_errors(desktop, live_server, demo, log_in):
    page = desktop
    log_in("admin@abbiebox.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("ABBIE BOX S.A.C.")
    action_bar(page).get_by_role("link", name="+ NEW").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New in ABBIE BOX S.A.C.")
    page.get_by_label("Currency").fill("dollars")
    page.get_by_role("button", name="Create company").click()
    expect(page.locator(".fielderror")).to_contain_text(["This field is required.", "Currency must be a three-letter code"])
    page.get_by_label("Company name").fill("LIMA FOODS S.A.C.")
    page.get_by_label("Currency").fill("PEN")
    page.get_by_label("Domain").fill("limafoods.example")
    page.get_by_role("button", name="Create company").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("LIMA FOODS S.A.C.")
    expect(page.locator(".message")).to_contain_text("The company LIMA FOODS S.A.C.")
    company = Company.objects.get(name="LIMA FOODS S.A.C.")
    assert (company.parent_id, company.currency) == (demo.abbiebox.pk, "PEN")

    # A button that stays disabled is grey, not a dimmed yellow (+ NEW on a suspended company).
    page.goto(f"{live_server.url}/companies/{demo.pacifico.account_id}/")
    new = action_bar(page).get_by_role("button", name="+ NEW")
    expect(new).to_be_disabled()
    assert new.evaluate("b => getComputedStyle(b).backgroundColor") != YELLOW
    assert new.evaluate("b => getComputedStyle(b).opacity") == "1"


def test_terminate_asks_then_ends_the_company(desktop, live_server, customer, log_in):
    page = desktop
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/companies/{customer.account_id}/")
    action_bar(page).get_by_role("link", name="TERMINATE").click()
    dialog = page.locator("#company-terminate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Are you sure you want to terminate LIMA FOODS S.A.C.?")
    dialog.get_by_role("button", name="NO").click()
    expect(dialog).to_be_hidden()
    action_bar(page).get_by_role("link", name="TERMINATE").click()
    dialog.get_by_role("button", name="YES, DO IT").click()
    expect(page.locator(".message").first).to_have_text("LIMA FOODS S.A.C. was terminated.")
    expect(page.locator(".details .status")).to_have_text("Terminated")
    expect(action_bar(page).get_by_role("button", name="TERMINATE")).to_be_disabled()
    assert not User.objects.filter(company=customer, is_active=True).exists()

    # ERITECH holds live subscriptions: refused, with the reason on the page.
    page.goto(f"{live_server.url}/companies/466158/")
    action_bar(page).get_by_role("link", name="TERMINATE").click()
    page.locator("#company-terminate-dialog").get_by_role("button", name="YES, DO IT").click()
    # The demo's three, and its two licences provisioned through Microsoft (issue 27).
    expect(page.locator(".message.error")).to_contain_text("still has 5 live subscriptions")
    assert Company.objects.get(account_id=466158).status == Company.Status.ACTIVE


def test_export_downloads_the_company_as_xlsx(desktop, live_server, demo, log_in):
    page = desktop
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/companies/466158/")
    action_bar(page).get_by_text("EXPORT").click()
    with page.expect_download() as info:
        action_bar(page).get_by_role("link", name="Excel (.xlsx)").click()
    download = info.value
    assert download.suggested_filename == "company-466158-eritech-peru-sa.xlsx"
    workbook = load_workbook(io.BytesIO(open(download.path(), "rb").read()), read_only=True)
    assert workbook.sheetnames == ["Overview", "Users", "Subscriptions"]


def test_credentials_to_all_users_asks_sends_and_then_waits(desktop, live_server, customer, log_in):
    page = desktop
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/companies/{customer.account_id}/")
    action_bar(page).get_by_role("link", name="CREDENTIALS TO ALL USERS").click()
    dialog = page.locator("#company-credentials-dialog")
    expect(dialog).to_contain_text("Send the credentials email to every active user of LIMA FOODS S.A.C.?")
    dialog.get_by_role("button", name="YES, DO IT").click()
    expect(page.locator(".message")).to_contain_text("to each of the 2 users of LIMA FOODS S.A.C.")
    assert AuditLogEntry.objects.filter(action="user.credentials_sent", company=customer).count() == 2

    action_bar(page).get_by_role("link", name="CREDENTIALS TO ALL USERS").click()
    page.locator("#company-credentials-dialog").get_by_role("button", name="YES, DO IT").click()
    expect(page.locator(".message.error")).to_contain_text("Credentials were already sent to the users of LIMA FOODS S.A.C.")
    assert AuditLogEntry.objects.filter(action="company.credentials_sent", company=customer).count() == 1


def test_new_service_is_on_screen_at_390_px(browser, live_server, demo, log_in):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        page.goto(f"{live_server.url}/companies/466158/")
        bar = action_bar(page)
        box = bar.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        new_service = bar.get_by_role("button", name="NEW SERVICE")
        expect(new_service).to_be_in_viewport(ratio=1)
        button = new_service.bounding_box()
        assert 0 <= button["x"] and button["x"] + button["width"] <= PHONE["width"], button
        assert bar.evaluate("b => b.scrollWidth <= b.clientWidth")  # nothing hidden inside the bar either
        new_service.click()
        expect(page.locator(".wizard-steps")).to_be_visible()
    finally:
        context.close()
