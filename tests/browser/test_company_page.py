"""In the browser: a reseller opens its customer from the company structure and reads the overview."""

import re

import pytest
from playwright.sync_api import expect


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]




def overview_value(page, label):
    return page.locator(f"dl.details dt:text-is('{label}') + dd")


def test_reseller_opens_eritech_from_the_company_structure(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")

    # Home is ABBIE BOX's own page; its sidebar lists the customer companies.
    expect(page).to_have_url(f"{live_server.url}/companies/{demo.abbiebox.account_id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("ABBIE BOX S.A.C.")
    structure = page.locator("aside.acc-structure")
    expect(structure.get_by_role("heading", name="COMPANY STRUCTURE")).to_be_visible()
    structure.get_by_role("link", name="ERITECH PERU S.A.").click()

    expect(page).to_have_url(f"{live_server.url}/companies/466158/")
    expect(page.get_by_role("heading", level=1)).to_have_text("ERITECH PERU S.A.")
    expect(page.locator("nav.breadcrumb")).to_have_text(
        re.compile(r"INTCOMEX PERU S\.A\.C\.\s*>\s*ABBIE BOX S\.A\.C\.\s*>\s*ERITECH PERU S\.A\. \(466158\)")
    )
    for label, value in [
        ("Numeric ID", "793131"),
        ("Parent numeric ID", "734772"),
        ("Domain", "eritechperu.com"),
        ("VAT ID", "EMPTY"),
        ("City", "Lima"),
        ("Country", "Peru"),
        ("Zip code", "15494"),
        ("Language", "English"),
        ("Marketplaces", "ABBIE BOX - Marketplace"),
        ("Send to backend", "true"),
        ("Billing start date", "2024-04-01 23:40 UTC"),
        ("Is billable", "true"),
        ("Currency", "USD"),
        ("Company contract end date", "2024-04-02 00:47 UTC"),
    ]:
        expect(overview_value(page, label)).to_have_text(value)
    for subscription in (
        "(NCE) Exchange Online Kiosk (1)",
        "(NCE) Microsoft 365 Business Basic (1)",
        "(NCE) Microsoft 365 Business Standard (2)",
        "Azure Plan (Eritech Perú)",
        "Microsoft Organization tenant (eritechperu.onmicrosoft.com)",
    ):
        expect(structure.get_by_text(subscription, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="NEW SERVICE")).to_be_enabled()
    # TERMINATE opens its confirm (ERITECH's live subscriptions refuse it then, with the reason).
    expect(page.get_by_role("link", name="TERMINATE")).to_be_visible()
    expect(page.get_by_role("link", name="RECREATE PROVISIONING")).to_be_visible()

    # The ancestor outside ABBIE BOX's subtree is plain text; ABBIE BOX is a link back.
    expect(page.locator("nav.breadcrumb").get_by_role("link", name="INTCOMEX PERU S.A.C.")).to_have_count(0)
    page.locator("nav.breadcrumb").get_by_role("link", name="ABBIE BOX S.A.C.").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ABBIE BOX S.A.C.")


def test_structure_search_and_tabs_work_without_javascript(browser, live_server, demo, log_in):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        structure = page.locator("aside.acc-structure")
        structure.get_by_role("searchbox").fill("norte")
        structure.get_by_role("button", name="Search").click()
        expect(structure.get_by_role("link", name="NORTE DIGITAL S.A.C.")).to_be_visible()
        expect(structure.get_by_role("link", name="ERITECH PERU S.A.")).to_have_count(0)

        page.goto(f"{live_server.url}/companies/466158/")
        page.get_by_role("link", name="AVAILABLE SERVICES").click()
        expect(page.locator("table.acc-services")).to_contain_text("(NCE) Microsoft 365 Business Basic")
        expect(page.locator("table.acc-services")).to_contain_text("6.02175")
    finally:
        context.close()


def test_other_reseller_gets_404_at_eritechs_address(page, live_server, demo, log_in):
    log_in("admin@andescloud.example")
    expect(page.get_by_role("heading", level=1)).to_have_text("ANDES CLOUD S.A.C.")
    response = page.goto(f"{live_server.url}/companies/466158/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("ERITECH")


def test_global_search_shows_escaped_text(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")
    box = page.get_by_placeholder("Search by account, service name...")
    box.fill("<script>window.hacked=1</script>")
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “<script>window.hacked=1</script>”")
    assert page.evaluate("window.hacked") is None
    box = page.get_by_placeholder("Search by account, service name...")
    expect(box).to_have_value("<script>window.hacked=1</script>")
    box.fill("kiosk")
    box.press("Enter")
    page.get_by_role("link", name="(NCE) Exchange Online Kiosk (1)").click()
    expect(page).to_have_url(f"{live_server.url}/companies/466158/")


def test_global_search_forgives_accents(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")
    box = page.get_by_placeholder("Search by account, service name...")
    box.fill("Eritech Perú")
    box.press("Enter")
    page.locator("table.acc-results-companies").get_by_role("link", name="ERITECH PERU S.A.").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ERITECH PERU S.A.")
