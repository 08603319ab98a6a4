"""The company page (/companies/<account_id>/): overview, structure sidebar, tabs, action bar, 404s."""

import datetime as dt
import re
import html as html_module

import pytest
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Company
from accounts.services import audit_log_record
from catalog.models import PriceListItem, Service
from accounts.views import AUDIT_LOG_PAGE_SIZE, TAB_NOT_AVAILABLE
from tests.factories import PriceListAssignmentFactory, SubscriptionFactory, UserFactory
from tests.factories import TreeCompanyFactory as CompanyFactory

pytestmark = pytest.mark.django_db

ERITECH_URL = "/companies/466158/"


def text_of(response) -> str:
    """The page's visible text, tags dropped and whitespace collapsed, for readable assertions."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def overview_pairs(response) -> dict[str, str]:
    html = response.content.decode()
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, flags=re.S)
    return {label.strip(): re.sub(r"<[^>]+>", "", value).strip() for label, value in pairs}


def test_url_name_and_address(demo):
    assert reverse("company_detail", kwargs={"account_id": 466158}) == ERITECH_URL


def test_overview_shows_the_manuals_values(abbie_client):
    response = abbie_client.get(ERITECH_URL)
    assert response.status_code == 200
    values = overview_pairs(response)
    assert values["Company name"] == "ERITECH PERU S.A."
    assert values["Domain"] == "eritechperu.com"
    assert values["Numeric ID"] == "793131"
    assert values["VAT ID"] == "EMPTY"
    assert values["Parent numeric ID"] == "734772"
    assert values["Account status"] == "Active"
    assert values["Language"] == "English"
    assert values["Sales Manager"] == ""
    assert values["Marketplaces"] == "ABBIE BOX - Marketplace"
    assert values["Send to backend"] == "true"
    assert values["CreateUserIdService"] == "false"
    assert values["Contract ID"] == ""
    assert values["Company contract end date"] == "2024-04-02 00:47 UTC"
    assert values["City"] == "Lima"
    assert values["Country"] == "Peru"
    assert values["Zip code"] == "15494"
    assert values["Billing start date"] == "2024-04-01 23:40 UTC"
    assert values["Is billable"] == "true"
    assert values["Currency"] == "USD"
    assert values["Bank name"] == ""
    text = text_of(response)
    for section in ("COMPANY DETAILS", "ACCOUNT INFORMATION", "CONTRACT DETAILS", "CONTACT DETAILS", "PAYMENT DETAILS"):
        assert section in text
    for label in ("Address", "Email", "Contact phone", "Contact person", "Technical contact",
                  "Technical Account Manager", "Technical contact email", "Bank Identifier Code", "Customer ID"):
        assert label in values


def test_breadcrumb_chain_with_ancestors_outside_the_subtree_as_plain_text(abbie_client, demo):
    response = abbie_client.get(ERITECH_URL)
    html = response.content.decode()
    breadcrumb = re.search(r'<nav class="breadcrumb".*?</nav>', html, flags=re.S).group(0)
    assert html_module.unescape(" ".join(re.sub(r"<[^>]+>", " ", breadcrumb).split())) == (
        "INTCOMEX PERU S.A.C. > ABBIE BOX S.A.C. > ERITECH PERU S.A. (466158)"
    )
    assert f'href="/companies/{demo.abbiebox.account_id}/"' in breadcrumb
    assert f'href="/companies/{demo.intcomex.account_id}/"' not in breadcrumb
    assert "<h1>ERITECH PERU S.A.</h1>" in html


def test_staff_breadcrumb_links_every_ancestor(client, demo):
    client.force_login(demo.staff)
    html = client.get(ERITECH_URL).content.decode()
    breadcrumb = re.search(r'<nav class="breadcrumb".*?</nav>', html, flags=re.S).group(0)
    assert f'href="/companies/{demo.intcomex.account_id}/"' in breadcrumb


def test_sidebar_lists_the_company_and_its_subscriptions(abbie_client):
    html = abbie_client.get(ERITECH_URL).content.decode()
    sidebar = re.search(r'<aside class="card sidebar acc-structure".*?</aside>', html, flags=re.S).group(0)
    items = [" ".join(re.sub(r"<[^>]+>", " ", li).split()) for li in re.findall(r"<li.*?</li>", sidebar, flags=re.S)]
    assert items == [
        "ERITECH PERU S.A.",
        "(NCE) Exchange Online Kiosk (1)",
        "(NCE) Microsoft 365 Business Basic (1)",
        "(NCE) Microsoft 365 Business Standard (2)",
        "Azure Plan (Eritech Perú)",
        "Microsoft Organization tenant (eritechperu.onmicrosoft.com)",
    ]
    assert "COMPANY STRUCTURE" in sidebar and "All companies" in sidebar
    assert 'name="structure_q"' in sidebar


def test_reseller_sidebar_links_its_child_companies(abbie_client, demo):
    response = abbie_client.get(f"/companies/{demo.abbiebox.account_id}/")
    html = response.content.decode()
    for child in (demo.eritech, demo.norte, demo.pacifico):
        assert f'<a href="/companies/{child.account_id}/">{child.name}</a>' in html
    assert "Suspended" in text_of(response)  # PACIFICO RETAIL is marked


def test_structure_search_filters_the_sidebar_server_side(abbie_client, demo):
    response = abbie_client.get(f"/companies/{demo.abbiebox.account_id}/", {"structure_q": "norte"})
    sidebar = re.search(r"<aside.*?</aside>", response.content.decode(), flags=re.S).group(0)
    assert "NORTE DIGITAL S.A.C." in sidebar
    assert "ERITECH PERU S.A." not in sidebar
    response = abbie_client.get(ERITECH_URL, {"structure_q": "azure"})
    sidebar = re.search(r"<aside.*?</aside>", response.content.decode(), flags=re.S).group(0)
    assert "Azure Plan (Eritech Perú)" in sidebar
    assert "Exchange Online Kiosk" not in sidebar
    assert 'value="azure"' in sidebar


def test_structure_search_bad_input_is_escaped(abbie_client):
    response = abbie_client.get(ERITECH_URL, {"structure_q": '<script>alert("x")</script>%_' + "z" * 500})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;%_" in html
    assert "No child company or subscription matches the search." in html


def test_tabs_are_links_in_the_manuals_order(abbie_client):
    html = abbie_client.get(ERITECH_URL).content.decode()
    tabs = re.search(r'<nav class="tabs".*?</nav>', html, flags=re.S).group(0)
    labels = [re.sub(r"<[^>]+>", "", a).strip() for a in re.findall(r"<a .*?</a>", tabs, flags=re.S)]
    assert labels == ["OVERVIEW", "AVAILABLE SERVICES", "CUSTOM CHARGE", "BILLING", "PROVISIONING", "SECURITY", "AUDIT LOG"]
    assert 'href="?tab=services"' in tabs and 'href="?tab=audit"' in tabs


@freeze_time("2024-07-18 22:01:00")
def test_available_services_tab_lists_active_services_with_todays_selling_price(abbie_client, demo):
    basic = Service.objects.get(code="100113_Micros365BusineBasic_14991")
    # A later price is not in force yet on the frozen day; an inactive service is not offered.
    PriceListItem.objects.create(
        price_list=demo.abbie_price_list, service=basic, term="P1Y", billing_frequency="monthly",
        effective_from=dt.date(2024, 8, 1), cost="5", selling_price="9.99", currency="USD",
    )
    Service.objects.filter(code="100113_AzurePlan_10002").update(active=False)

    response = abbie_client.get(ERITECH_URL, {"tab": "services"})
    assert response.status_code == 200
    text = text_of(response)
    assert "(NCE) Microsoft 365 Business Basic 100113_Micros365BusineBasic_14991 Monthly (with 1-year commitment) - P1Y 6.02175 USD" in text
    assert "Monthly (with 1-month commitment) - P1M 7.2261 USD" in text
    assert "9.99" not in text
    assert "Azure Plan 100113" not in text
    assert "Microsoft Organization tenant 100113_MicrosOrganiTenant_10001" in text


def test_available_services_without_price_list(abbie_client, demo):
    response = abbie_client.get(f"/companies/{demo.abbiebox.account_id}/", {"tab": "services"})
    assert "This company has no price list" in text_of(response)


def test_audit_log_tab_is_paginated_newest_first(abbie_client, demo):
    with freeze_time("2024-07-01 10:00:00") as frozen:
        for number in range(AUDIT_LOG_PAGE_SIZE + 3):
            audit_log_record(company=demo.eritech, actor=demo.admin_abbie, action="test.action", message=f"Entry {number:02d}")
            frozen.tick(dt.timedelta(minutes=1))
    audit_log_record(company=demo.norte, actor=None, action="other", message="Not ERITECH's")

    first = text_of(abbie_client.get(ERITECH_URL, {"tab": "audit"}))
    assert f"Entry {AUDIT_LOG_PAGE_SIZE + 2:02d}" in first
    assert "Entry 00" not in first
    assert "2024-07-01 10:22 UTC admin@abbiebox.com test.action Entry 22" in first
    assert "Page 1 of 2" in first
    assert "Not ERITECH's" not in first

    second = text_of(abbie_client.get(ERITECH_URL, {"tab": "audit", "page": "2"}))
    assert "Entry 00" in second and "Entry 02" in second and "Entry 03" not in second
    # A page number that is not a number still answers a page.
    assert abbie_client.get(ERITECH_URL, {"tab": "audit", "page": "x'; drop"}).status_code == 200


# SECURITY and PROVISIONING are real tabs now (tests/accounts/test_company_webhook.py,
# tests/vendor/test_ui_company_provisioning.py): no tab is a placeholder any more.
def test_no_tab_says_not_available_yet(abbie_client):
    for tab in ("provisioning", "security"):
        response = abbie_client.get(ERITECH_URL, {"tab": tab})
        assert response.status_code == 200
        assert str(TAB_NOT_AVAILABLE) not in text_of(response)
        assert "COMPANY DETAILS" not in text_of(response)


def test_unknown_tab_falls_back_to_overview(abbie_client):
    response = abbie_client.get(ERITECH_URL, {"tab": "<b>nope</b>"})
    assert response.status_code == 200
    assert "COMPANY DETAILS" in text_of(response)
    assert "<b>nope</b>" not in response.content.decode()


def test_action_bar(abbie_client, demo):
    html = abbie_client.get(ERITECH_URL).content.decode()
    bar = re.search(r'<div class="actionbar".*?</div>\s*</details>.*?</div>', html, flags=re.S).group(0)
    disabled = re.findall(r"<button type=\"button\"[^>]*disabled title=\"([^\"]*)\">([^<]*)</button>", bar)
    # Every button works: + NEW, RECREATE PROVISIONING, TERMINATE, EXPORT and CREDENTIALS TO ALL USERS.
    assert disabled == []
    links = dict((label, href) for href, label in re.findall(r'<a class="btn[^"]*" href="([^"]+)"[^>]*>([^<]+)</a>', bar))
    assert links == {
        "+ NEW": reverse("imports:new_account", kwargs={"account_id": 466158}),
        "RECREATE PROVISIONING": reverse("imports:recreate_provisioning", kwargs={"account_id": 466158}),
        "TERMINATE": reverse("company_terminate", kwargs={"account_id": 466158}),
        "CREDENTIALS TO ALL USERS": reverse("company_credentials", kwargs={"account_id": 466158}),
    }
    assert reverse("company_export", kwargs={"account_id": 466158, "fmt": "xlsx"}) in bar
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', bar, flags=re.S)
    assert form.group(1) == reverse("orders:new", kwargs={"account_id": 466158})
    assert "csrfmiddlewaretoken" in form.group(2)
    assert re.search(r"<button type=\"submit\"[^>]*>NEW SERVICE</button>", form.group(2))


def test_new_service_only_for_customers_with_a_price_list(abbie_client, demo):
    reseller_page = abbie_client.get(f"/companies/{demo.abbiebox.account_id}/").content.decode()
    assert "NEW SERVICE" not in reseller_page
    no_price_list = CompanyFactory(parent=demo.abbiebox, kind=Company.Kind.CUSTOMER)
    assert "NEW SERVICE" not in abbie_client.get(f"/companies/{no_price_list.account_id}/").content.decode()
    PriceListAssignmentFactory(company=no_price_list, price_list=demo.abbie_price_list)
    assert "NEW SERVICE" in abbie_client.get(f"/companies/{no_price_list.account_id}/").content.decode()


def test_foreign_company_is_404(client, demo):
    client.force_login(demo.admin_andes)
    assert client.get(ERITECH_URL).status_code == 404
    assert client.get(f"/companies/{demo.abbiebox.account_id}/").status_code == 404
    assert client.get(f"/companies/{demo.cusco.account_id}/").status_code == 200


def test_foreign_and_unknown_companies_answer_the_same_404(client, demo):
    client.force_login(demo.admin_andes)
    foreign = client.get(ERITECH_URL)
    unknown = client.get("/companies/999999/")
    assert foreign.status_code == unknown.status_code == 404
    # The pages differ only in the per-request CSRF token and the language switch's return address.
    assert _without_csrf(foreign.content) == _without_csrf(unknown.content)
    assert "ERITECH" not in foreign.content.decode()


def _without_csrf(content: bytes) -> bytes:
    content = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)
    return re.sub(rb'name="next" value="[^"]+"', b"", content)


@pytest.mark.parametrize("path", ["/companies/999999/", "/companies/99999999999999999999999999/", "/companies/abc/", "/companies/-1/"])
def test_unknown_or_malformed_ids_are_404(abbie_client, path):
    assert abbie_client.get(path).status_code == 404


def test_ancestor_outside_subtree_is_404(abbie_client, demo):
    assert abbie_client.get(f"/companies/{demo.intcomex.account_id}/").status_code == 404


def test_anonymous_user_is_sent_to_login(client, demo):
    response = client.get(ERITECH_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_user_without_company_gets_404(client, demo):
    client.force_login(UserFactory(company=None))
    assert client.get(ERITECH_URL).status_code == 404


def test_staff_sees_any_company(client, demo):
    client.force_login(demo.staff)
    assert client.get(ERITECH_URL).status_code == 200
    assert client.get(f"/companies/{demo.cusco.account_id}/").status_code == 200


def test_user_data_is_escaped(abbie_client, demo):
    company = CompanyFactory(parent=demo.abbiebox, name='<script>alert(1)</script> & "Co"', domain="<i>x</i>")
    SubscriptionFactory(company=company, name="<img src=x onerror=alert(2)>")
    html = abbie_client.get(f"/companies/{company.account_id}/").content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<i>x</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_company_page_query_count_does_not_grow_with_the_tree(abbie_client, demo, django_assert_max_num_queries):
    for number in range(30):
        child = CompanyFactory(parent=demo.eritech, name=f"Child {number}")
        SubscriptionFactory(company=demo.eritech, service=Service.objects.first(), name=f"Extra {number}")
        audit_log_record(company=demo.eritech, actor=demo.admin_abbie, action="x", message=str(child))
    for tab in ("overview", "services", "audit", "provisioning"):
        # session (read, and saved in a savepoint: every request pushes the idle expiry back), user, the
        # user's path, company, ancestors, children, the company's users, subscriptions, price list, the tab's own reads
        with django_assert_max_num_queries(14):
            response = abbie_client.get(ERITECH_URL, {"tab": tab})
        assert response.status_code == 200
    assert "Child 29" in response.content.decode()


def test_company_page_refuses_post(abbie_client):
    assert abbie_client.post(ERITECH_URL).status_code == 405
