"""In Chromium, under the portal's Content-Security-Policy (core/csp.py, issue 23): the main pages and
what their scripts do (the wizard's service details, My imports' htmx dialog, the language switch,
the API reference) run without a single violation: no inline script, handler or style is left."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.imports.helpers import schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVICE = "(NCE) Microsoft 365 Business Basic"
KIOSK = "(NCE) Exchange Online Kiosk(Microsoft)"

# Runs before any script of every document: records what the policy blocked.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture
def csp_watch(page):
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)

    def assert_no_violation(where: str):
        page.wait_for_load_state("load")
        page.wait_for_timeout(100)  # the event is dispatched in a task of its own
        recorded = page.evaluate("window.__csp || []")
        blocked = [text for text in console if "Content Security Policy" in text or "Content-Security-Policy" in text]
        assert recorded == [] and blocked == [], (where, recorded, blocked)

    return assert_no_violation


def test_the_watch_sees_a_violation(page, live_server, db, csp_watch):
    """The check itself works: an inline script on a portal page is reported."""
    page.goto(f"{live_server.url}/login/")
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "1"; document.body.append(s); }""")
    with pytest.raises(AssertionError):
        csp_watch("inline script")


def test_the_main_pages_run_under_the_policy(page, live_server, demo, log_in, csp_watch):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=9))
    response = page.goto(f"{live_server.url}/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    csp_watch("login")

    log_in("admin@abbiebox.com")
    csp_watch("home")
    page.goto(f"{live_server.url}/companies/{demo.eritech.account_id}/")  # a customer: NEW SERVICE
    expect(page.get_by_role("button", name="NEW SERVICE")).to_be_visible()
    csp_watch("company page")

    # The language switch submits on change (static/js/portal.js, no inline handler).
    page.get_by_label("Language").select_option("es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    csp_watch("company page in Spanish")
    page.get_by_label("Idioma").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # NEW SERVICE: the four steps, with the service details loaded beside the list.
    page.get_by_role("button", name="NEW SERVICE").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Order service")
    page.get_by_role("searchbox", name="Search services").fill("business basic")
    page.get_by_role("button", name="Search").click()
    page.get_by_label(SERVICE, exact=True).check()
    expect(page.locator(".wz-detail").get_by_role("heading")).to_have_text(SERVICE)
    csp_watch("Select service")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("You have accepted these Terms and Conditions.")).to_be_visible()
    csp_watch("Terms and Conditions")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Subscription Name")).to_have_value(SERVICE)
    csp_watch("Configuration")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".wz-price .amount")).to_have_text("6.02 $")
    page.get_by_label("Schedule provisioning", exact=True).fill(
        (timezone.now() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    )
    page.locator("#id_scheduled_for_tz").select_option("America/Lima")
    expect(page.locator("#id_scheduled_for_utc")).to_contain_text("Stored as ")  # static/js/datetimes.js asked the server
    csp_watch("Order review")

    # My imports: htmx (no injected indicator style), the reschedule dialog swapped in, the live refresh.
    page.goto(f"{live_server.url}/imports/")
    row = page.locator(f"#import-{job.pk}")
    expect(row.locator(".imports-schedule time")).to_contain_text(" UTC")
    row.get_by_role("link", name=f"Reschedule the import {KIOSK}").click()
    dialog = page.locator("#reschedule-dialog")
    expect(dialog.get_by_label("New schedule time")).to_be_visible()
    csp_watch("My imports")
    dialog.press("Escape")

    page.get_by_role("link", name="IMPORT ACCOUNTS").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    csp_watch("IMPORT ACCOUNTS")

    page.goto(f"{live_server.url}/users/{demo.admin_abbie.pk}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    csp_watch("user page")
    page.goto(f"{live_server.url}/users/{demo.admin_abbie.pk}/?tab=security")
    csp_watch("user page, SECURITY")


def test_the_api_reference_runs_under_the_policy(page, live_server, db, csp_watch):
    response = page.goto(f"{live_server.url}/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ICP portal API")
    expect(page.locator(".opblock").first).to_be_visible()
    csp_watch("/api/docs/")
