"""Global search (/search/?q=): only what the user may see; bad input is escaped, never an error."""

import re

import pytest
from django.urls import reverse

from accounts.models import Company
from accounts.views import SEARCH_MAX_LENGTH, SEARCH_RESULTS_LIMIT, SEARCH_TOO_MANY, SEARCH_TRUNCATED, clean_query
from tests.factories import SubscriptionFactory, UserFactory
from tests.factories import TreeCompanyFactory as CompanyFactory

pytestmark = pytest.mark.django_db

SEARCH_URL = "/search/"


def result_links(response) -> list[str]:
    return re.findall(r'<td><a href="(/companies/\d+/)">', response.content.decode())


def company_rows(response) -> list[str]:
    table = re.search(r'<table class="data acc-results-companies">.*?</table>', response.content.decode(), flags=re.S)
    if not table:
        return []
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<tr>\s*<td>(.*?)</td>", table.group(0), flags=re.S)]


def subscription_rows(response) -> list[str]:
    table = re.search(r'<table class="data acc-results-subscriptions">.*?</table>', response.content.decode(), flags=re.S)
    if not table:
        return []
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<tr>\s*<td>(.*?)</td>", table.group(0), flags=re.S)]


def test_url_name():
    assert reverse("search") == SEARCH_URL


@pytest.mark.parametrize(
    "query, expected",
    [
        ("eritech", ["ERITECH PERU S.A."]),  # name, any case
        ("466158", ["ERITECH PERU S.A."]),  # account id
        ("793131", ["ERITECH PERU S.A."]),  # numeric ID
        ("nortedigital.example", ["NORTE DIGITAL S.A.C."]),  # domain
        ("S.A.C.", ["ABBIE BOX S.A.C.", "NORTE DIGITAL S.A.C.", "PACIFICO RETAIL S.A.C."]),
    ],
)
def test_companies_by_name_account_id_numeric_id_and_domain(abbie_client, query, expected):
    response = abbie_client.get(SEARCH_URL, {"q": query})
    assert response.status_code == 200
    assert company_rows(response) == expected


def test_results_link_to_the_company_page(abbie_client, demo):
    response = abbie_client.get(SEARCH_URL, {"q": "eritech"})
    assert "/companies/466158/" in result_links(response)


def test_subscriptions_by_name_link_to_their_company(abbie_client):
    response = abbie_client.get(SEARCH_URL, {"q": "kiosk"})
    assert subscription_rows(response) == ["(NCE) Exchange Online Kiosk (1)"]
    assert result_links(response) == ["/companies/466158/", "/companies/466158/"]
    assert subscription_rows(abbie_client.get(SEARCH_URL, {"q": "Perú"})) == ["Azure Plan (Eritech Perú)"]


def test_search_never_shows_other_subtrees(client, demo):
    client.force_login(demo.admin_andes)
    for query in ("eritech", "466158", "kiosk", "ABBIE", "INTCOMEX"):
        response = client.get(SEARCH_URL, {"q": query})
        assert response.status_code == 200
        assert company_rows(response) == [] and subscription_rows(response) == []
        assert "Nothing found" in response.content.decode()
    assert company_rows(client.get(SEARCH_URL, {"q": "cusco"})) == ["CUSCO TECH E.I.R.L."]


def test_staff_searches_everything(client, demo):
    client.force_login(demo.staff)
    assert company_rows(client.get(SEARCH_URL, {"q": "S.A.C."})) == [
        "ABBIE BOX S.A.C.", "ANDES CLOUD S.A.C.", "INTCOMEX PERU S.A.C.", "NORTE DIGITAL S.A.C.", "PACIFICO RETAIL S.A.C."
    ]


def test_user_without_company_finds_nothing(client, demo):
    client.force_login(UserFactory(company=None))
    response = client.get(SEARCH_URL, {"q": "eritech"})
    assert response.status_code == 200
    assert company_rows(response) == []


def test_empty_query_shows_a_hint(abbie_client):
    for params in ({}, {"q": ""}, {"q": "   "}):
        response = abbie_client.get(SEARCH_URL, params)
        assert response.status_code == 200
        assert "Type a company name" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    ['"', "'", "O'Brien \"quoted\"", "%", "_", "100%_off", "\\", "<script>alert(1)</script>", "' OR 1=1 --", "\x00abc", "²", "١٢٣"],
)
def test_bad_input_is_answered_and_escaped(abbie_client, query):
    response = abbie_client.get(SEARCH_URL, {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert company_rows(response) == []  # wildcards and quotes are matched literally


def test_script_is_shown_escaped_in_the_title_and_the_search_box(abbie_client):
    html = abbie_client.get(SEARCH_URL, {"q": "<script>alert(1)</script>"}).content.decode()
    assert "Results for “&lt;script&gt;alert(1)&lt;/script&gt;”" in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_percent_and_underscore_match_literally(abbie_client, demo):
    CompanyFactory(parent=demo.abbiebox, name="100%_REAL S.A.")
    CompanyFactory(parent=demo.abbiebox, name="100X REAL S.A.")
    assert company_rows(abbie_client.get(SEARCH_URL, {"q": "100%_"})) == ["100%_REAL S.A."]
    assert company_rows(abbie_client.get(SEARCH_URL, {"q": "%"})) == ["100%_REAL S.A."]


def test_long_query_is_truncated_with_a_notice(abbie_client):
    response = abbie_client.get(SEARCH_URL, {"q": "eritech" + " x" * 250})
    assert response.status_code == 200
    html = response.content.decode()
    assert str(SEARCH_TRUNCATED % {"limit": SEARCH_MAX_LENGTH}) in html
    box_value = re.search(r'<input type="search" name="q"[^>]*value="([^"]*)"', html, flags=re.S).group(1)
    assert len(box_value) <= SEARCH_MAX_LENGTH


def test_five_hundred_characters(abbie_client):
    response = abbie_client.get(SEARCH_URL, {"q": "a" * 500})
    assert response.status_code == 200
    assert "a" * (SEARCH_MAX_LENGTH + 1) not in response.content.decode()


def test_huge_number_is_not_an_error(abbie_client):
    response = abbie_client.get(SEARCH_URL, {"q": "9" * 40})
    assert response.status_code == 200
    assert company_rows(response) == []


def test_result_count_is_capped(abbie_client, demo):
    for number in range(SEARCH_RESULTS_LIMIT + 2):
        CompanyFactory(parent=demo.eritech, name=f"Bulk customer {number}")
    response = abbie_client.get(SEARCH_URL, {"q": "bulk customer"})
    assert len(company_rows(response)) == SEARCH_RESULTS_LIMIT
    assert str(SEARCH_TOO_MANY % {"limit": SEARCH_RESULTS_LIMIT}) in response.content.decode()


def test_terminated_subscriptions_are_not_found(abbie_client, demo):
    SubscriptionFactory(company=demo.eritech, name="Old terminated plan", status="terminated")
    assert subscription_rows(abbie_client.get(SEARCH_URL, {"q": "terminated plan"})) == []


def test_anonymous_is_sent_to_login(client):
    response = client.get(SEARCH_URL, {"q": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_clean_query():
    assert clean_query("  a \t b\n ") == ("a b", False)
    assert clean_query("x\x00y") == ("xy", False)
    assert clean_query(None) == ("", False)
    text, truncated = clean_query("z" * 500)
    assert (len(text), truncated) == (SEARCH_MAX_LENGTH, True)


def test_search_query_is_kept_in_the_box(abbie_client):
    html = abbie_client.get(SEARCH_URL, {"q": 'say "hi"'}).content.decode()
    assert 'value="say &quot;hi&quot;"' in html
    assert Company.objects.count() > 0
