"""Search forgives accents and case (SQLite and PostgreSQL alike, through Company.search_name), over the
whole visible subtree, in the global search and in the COMPANY STRUCTURE sidebar."""

import importlib
import re

import pytest
from django.apps import apps as global_apps

from accounts.models import Company
from accounts.services import company_create, company_update
from accounts.text import search_folded

pytestmark = pytest.mark.django_db

SEARCH_URL = "/search/"


def found_companies(response) -> list[str]:
    table = re.search(r'<table class="data acc-results-companies">.*?</table>', response.content.decode(), flags=re.DOTALL)
    return re.findall(r'<a href="/companies/\d+/">([^<]*)</a>', table.group(0)) if table else []


def sidebar_children(response) -> list[str]:
    sidebar = response.content.decode().split('class="card sidebar acc-structure"')[1].split("</aside>")[0]
    return re.findall(r'<li class="acc-child"><a href="/companies/\d+/">([^<]*)</a>', sidebar)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ERITECH PERU S.A.", "eritech peru s.a."),
        ("  Eritech   Perú ", "eritech peru"),
        ("ÑANDÚ Café", "nandu cafe"),
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_search_folded(text, folded):
    assert search_folded(text) == folded


@pytest.mark.parametrize("query", ["Eritech Perú", "eritech peru", "ERITECH PERÚ", "éritech", "  eritech  perú  "])
def test_global_search_forgives_accents_and_case(abbie_client, query):
    assert "ERITECH PERU S.A." in found_companies(abbie_client.get(SEARCH_URL, {"q": query}))


def test_an_accented_name_is_found_without_its_accents(abbie_client, demo):
    company_create(name="Compañía Andina de Café S.A.", parent=demo.eritech)
    assert found_companies(abbie_client.get(SEARCH_URL, {"q": "compania andina de cafe"})) == [
        "Compañía Andina de Café S.A."
    ]
    assert found_companies(abbie_client.get(SEARCH_URL, {"q": "CAFÉ"})) == ["Compañía Andina de Café S.A."]


def test_a_renamed_company_is_found_by_its_new_name(abbie_client, demo):
    company_update(company=demo.norte, actor=None, name="Norteña Digital S.A.C.")
    assert Company.objects.get(pk=demo.norte.pk).search_name == "nortena digital s.a.c."
    assert found_companies(abbie_client.get(SEARCH_URL, {"q": "nortena"})) == ["Norteña Digital S.A.C."]
    demo.norte.name = "NORTE DIGITAL DOS"
    demo.norte.save(update_fields=["name"])  # update_fields: search_name follows
    assert Company.objects.get(pk=demo.norte.pk).search_name == "norte digital dos"


def test_the_global_search_covers_the_whole_subtree_and_nothing_else(abbie_client, demo):
    grandchild = company_create(name="Sucursal Perú Norte", parent=demo.eritech)
    company_create(name="Sucursal Perú Sur", parent=demo.cusco)  # ANDES CLOUD's subtree
    assert found_companies(abbie_client.get(SEARCH_URL, {"q": "sucursal peru"})) == [grandchild.name]


def test_wildcards_are_literal(abbie_client):
    assert found_companies(abbie_client.get(SEARCH_URL, {"q": "%"})) == []
    assert found_companies(abbie_client.get(SEARCH_URL, {"q": "_"})) == []


def test_the_sidebar_searches_the_whole_subtree_below_the_company(abbie_client, demo):
    grandchild = company_create(name="Sucursal Perú Norte", parent=demo.eritech)
    company_create(name="Sucursal Perú Sur", parent=demo.cusco)
    response = abbie_client.get(f"/companies/{demo.abbiebox.account_id}/", {"structure_q": "SUCURSAL PERU"})
    assert sidebar_children(response) == [grandchild.name]
    # A company deeper than a child says where it is.
    assert "in ERITECH PERU S.A." in response.content.decode().split("</aside>")[0]

    response = abbie_client.get(f"/companies/{demo.abbiebox.account_id}/", {"structure_q": "eritech perú"})
    assert sidebar_children(response) == ["ERITECH PERU S.A."]


def test_the_sidebar_without_a_search_lists_direct_children_only(abbie_client, demo):
    company_create(name="Sucursal Perú Norte", parent=demo.eritech)
    response = abbie_client.get(f"/companies/{demo.abbiebox.account_id}/")
    names = sidebar_children(response)
    assert "ERITECH PERU S.A." in names
    assert "Sucursal Perú Norte" not in names


def test_the_sidebar_never_shows_the_company_itself_or_above(abbie_client, demo):
    response = abbie_client.get(f"/companies/{demo.eritech.account_id}/", {"structure_q": "s.a."})
    assert sidebar_children(response) == []


@pytest.mark.parametrize("query", ["\u0301", "ß" * 300, "<b>é</b>", "\x00é"])
def test_odd_queries_are_never_an_error(abbie_client, demo, query):
    assert abbie_client.get(SEARCH_URL, {"q": query}).status_code == 200
    assert abbie_client.get(f"/companies/{demo.abbiebox.account_id}/", {"structure_q": query}).status_code == 200


def test_the_migration_backfills_search_name(demo):
    Company.objects.update(search_name="")
    migration = importlib.import_module("accounts.migrations.0007_company_search_name")
    migration.backfill_search_name(global_apps, None)
    assert Company.objects.get(pk=demo.eritech.pk).search_name == "eritech peru s.a."
    assert not Company.objects.filter(search_name="").exists()
