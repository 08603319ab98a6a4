"""The `path__under` lookup behind every subtree query: same answer as a prefix match, on both
SQLite (GLOB, indexed) and PostgreSQL (LIKE)."""

import pytest

from accounts.models import Company
from tests.factories import CompanyFactory


def build_tree():
    root = CompanyFactory(name="Root", kind=Company.Kind.DISTRIBUTOR)
    reseller = CompanyFactory(name="Reseller", parent=root, kind=Company.Kind.RESELLER)
    other = CompanyFactory(name="Other reseller", parent=root, kind=Company.Kind.RESELLER)
    customers = [CompanyFactory(name=f"Customer {i}", parent=reseller) for i in range(3)]
    grandchild = CompanyFactory(name="Grandchild", parent=customers[0])
    CompanyFactory(name="Other customer", parent=other)
    return root, reseller, customers, grandchild


def assert_under_matches_prefix():
    for company in Company.objects.all():
        under = set(Company.objects.filter(path__under=company.path).values_list("name", flat=True))
        prefixed = {c.name for c in Company.objects.all() if c.path.startswith(company.path)}
        assert under == prefixed


@pytest.mark.django_db
def test_under_is_the_company_and_everything_below_it():
    root, reseller, customers, grandchild = build_tree()
    assert set(reseller.subtree().values_list("name", flat=True)) == {
        "Reseller", "Customer 0", "Customer 1", "Customer 2", "Grandchild"
    }
    assert list(grandchild.subtree().values_list("name", flat=True)) == ["Grandchild"]
    assert root.subtree().count() == Company.objects.count()
    assert_under_matches_prefix()


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["12/", "abc*", "0000000001/%", None, "0000000001/[0-9]"])
def test_under_refuses_anything_but_a_path(bad):
    with pytest.raises(ValueError):
        list(Company.objects.filter(path__under=bad))


@pytest.mark.postgres
@pytest.mark.django_db
def test_under_matches_prefix_on_postgresql():
    build_tree()
    assert_under_matches_prefix()
