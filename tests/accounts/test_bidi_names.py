"""Names of companies and users never keep bidirectional formatting characters (issue 23): they
reorder what is shown around them ("Trojan Source"), so one company could read as another."""

import pytest
from django.urls import reverse

from accounts.models import Company
from accounts.services import company_create
from accounts.text import without_bidi_controls

pytestmark = pytest.mark.django_db

CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def test_every_bidi_control_is_stripped_and_nothing_else():
    assert without_bidi_controls(f"AB{CONTROLS}C Perú ‏") == "ABC Perú "
    assert without_bidi_controls("") == ""


def test_a_company_name_loses_them_whoever_writes_it(demo):
    company = company_create(actor=demo.staff, name="ERITECH\u202eXOBEIBBA", parent=demo.abbiebox,
                             kind=Company.Kind.CUSTOMER)
    company.refresh_from_db()
    assert company.name == "ERITECHXOBEIBBA"
    demo.eritech.name = "\u2067ERITECH\u2069"
    demo.eritech.save(update_fields=["name"])
    demo.eritech.refresh_from_db()
    assert demo.eritech.name == "ERITECH"


def test_a_user_renamed_on_its_page_loses_them(client, demo):
    client.force_login(demo.admin_abbie)
    client.post(reverse("user_rename", args=[demo.admin_abbie.pk]),
                {"first_name": "Car\u202ela", "last_name": "\u200fMendoza\u200e"})
    demo.admin_abbie.refresh_from_db()
    assert (demo.admin_abbie.first_name, demo.admin_abbie.last_name) == ("Carla", "Mendoza")
