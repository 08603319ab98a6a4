"""home (/): a user lands on its company's page, staff on the root distributor, others on a friendly page."""

import pytest

from accounts.models import Company
from tests.factories import UserFactory
from tests.factories import TreeCompanyFactory as CompanyFactory

pytestmark = pytest.mark.django_db


def test_reseller_is_redirected_to_its_own_company(client, demo):
    client.force_login(demo.admin_abbie)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{demo.abbiebox.account_id}/"


def test_staff_is_redirected_to_the_root_distributor(client, demo):
    client.force_login(demo.staff)
    response = client.get("/")
    assert response["Location"] == f"/companies/{demo.intcomex.account_id}/"


def test_staff_chooses_among_several_roots(client, demo):
    other = CompanyFactory(name="INTCOMEX CHILE S.A.", kind=Company.Kind.DISTRIBUTOR)
    client.force_login(demo.staff)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/companies/{other.account_id}/"' in html
    assert f'href="/companies/{demo.intcomex.account_id}/"' in html


def test_user_without_company_gets_a_friendly_page(client, demo):
    user = UserFactory(company=None, email="lost@nowhere.example")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your user has no company" in html
    assert "lost@nowhere.example is not linked to a company yet" in html


def test_staff_on_an_empty_database(client):
    client.force_login(UserFactory(company=None, is_staff=True))
    response = client.get("/")
    assert response.status_code == 200
    assert "There are no companies yet" in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"
