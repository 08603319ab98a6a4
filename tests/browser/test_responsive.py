"""At 390 px (a phone) no page of the portal scrolls sideways: the top bar, the action bar and the wizard
wrap, and wide tables scroll inside their card. English and Spanish (longer words)."""

import pytest
from playwright.sync_api import expect

from imports.models import ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# The outermost elements that stick out on the right, to say what to fix when the assertion fails.
OVERFLOW_REPORT = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    const p = el.parentElement && el.parentElement.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0 && (!p || p.right <= width + 1)) out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(r.right)}`);
  }
  return {scroll: document.scrollingElement.scrollWidth, inner: width, over: out.slice(0, 12)};
}"""


def assert_no_sideways_scroll(page, what):
    page.wait_for_load_state("load")  # after a click: the new page and its stylesheet, not a mix
    report = page.evaluate(OVERFLOW_REPORT)
    assert report["scroll"] <= report["inner"], (what, report)


def walk_the_portal(page, base_url):
    """Visit the pages a reseller sees, yielding a name for each once it is loaded."""
    page.goto(f"{base_url}/companies/466158/")
    yield "company page"
    page.goto(f"{base_url}/companies/466158/?tab=services")
    yield "available services"
    page.goto(f"{base_url}/companies/466158/?tab=audit")
    yield "audit log"
    page.goto(f"{base_url}/search/?q=peru")
    yield "search"
    page.goto(f"{base_url}/companies/410002/")  # ABBIE BOX S.A.C., which has users
    page.locator("aside.acc-structure li.acc-user a").first.click()
    yield "user page"
    page.goto(f"{base_url}/companies/466158/")
    page.locator(".actionbar form button").first.click()  # NEW SERVICE
    expect(page.locator(".wizard-steps")).to_be_visible()
    yield "select service"
    page.locator(".service-list input[type=radio]").first.check()  # nothing is pre-selected (issue 24)
    page.locator("#select-service-form button.primary").click()
    if page.locator(".terms-text").count():
        yield "terms"
        page.locator("button[value=accept]").click()
        page.locator("button[value=next]").click()
    expect(page.locator("form.wz-config")).to_be_visible()
    yield "configuration"
    page.locator("form.wz-config button.primary").click()
    expect(page.locator("form.wz-schedule")).to_be_visible()
    yield "order review"
    page.locator("form.wz-schedule button.primary").click()
    expect(page.locator(".imports-table")).to_be_visible()
    assert ImportJob.objects.exists()
    yield "my imports"


@pytest.mark.parametrize(("language", "width"), [("en", 390), ("es", 390), ("es", 360)])
def test_no_page_scrolls_sideways_on_a_phone(browser, live_server, demo, log_in, language, width):
    viewport = {**PHONE, "width": width}
    context = browser.new_context(viewport=viewport, locale=language, extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login/")
        assert_no_sideways_scroll(page, "login")
        log_in("admin@abbiebox.com", on=page) if language == "en" else _log_in_spanish(page, live_server)
        for what in walk_the_portal(page, live_server.url):
            assert_no_sideways_scroll(page, what)
    finally:
        context.close()


def _log_in_spanish(page, live_server):
    from tests.conftest import DEMO_PASSWORD

    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username], input[type=email]").first.fill("admin@abbiebox.com")
    page.locator("input[type=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".userbox")).to_be_visible()


def test_wide_tables_scroll_inside_their_card(browser, live_server, demo, log_in):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        page.goto(f"{live_server.url}/companies/466158/?tab=services")
        table = page.locator("table.data").first
        expect(table).to_be_visible()
        scroller = table.evaluate_handle("t => { let e = t; while (e && getComputedStyle(e).overflowX !== 'auto') e = e.parentElement; return e; }")
        assert scroller.evaluate("e => e !== null && e.scrollWidth >= e.clientWidth && e.getBoundingClientRect().right <= window.innerWidth")
    finally:
        context.close()


def test_my_imports_dates_stay_on_one_line_at_1024_px(browser, live_server, demo, log_in):
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        for what in walk_the_portal(page, live_server.url):
            assert_no_sideways_scroll(page, what)
        # (select), Import name, Company, Account type, Source, Date created: its UTC value on one line
        # (the local time is the cell's second line, by design: core.datetimes).
        created = page.locator("tr.imports-main td").nth(5).locator("time").first
        line_height = created.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 20")
        text_height = created.evaluate("el => { const r = document.createRange(); r.selectNodeContents(el); return r.getBoundingClientRect().height; }")
        assert text_height < 2 * line_height
    finally:
        context.close()
