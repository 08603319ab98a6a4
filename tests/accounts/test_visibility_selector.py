"""accounts.selectors.companies_visible_to: a user sees its own company's subtree, staff see all."""

import pytest

from accounts.models import Company
from accounts.selectors import company_breadcrumb, companies_visible_to, company_for_user, home_companies_for
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from tests.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db


def names(queryset):
    return sorted(c.name for c in queryset)


@pytest.fixture
def tree():
    """root > (r1 > (c1 > g1, c2), r2 > c3)"""
    root = CompanyFactory(name="root", kind=Company.Kind.DISTRIBUTOR)
    r1 = CompanyFactory(name="r1", parent=root, kind=Company.Kind.RESELLER)
    r2 = CompanyFactory(name="r2", parent=root, kind=Company.Kind.RESELLER)
    c1 = CompanyFactory(name="c1", parent=r1)
    c2 = CompanyFactory(name="c2", parent=r1)
    c3 = CompanyFactory(name="c3", parent=r2)
    g1 = CompanyFactory(name="g1", parent=c1)
    return {c.name: c for c in (root, r1, r2, c1, c2, c3, g1)}


def test_user_sees_its_own_company_and_everything_below(tree):
    user = UserFactory(company=tree["r1"])
    assert names(companies_visible_to(user)) == ["c1", "c2", "g1", "r1"]


def test_user_of_a_leaf_company_sees_only_it(tree):
    user = UserFactory(company=tree["g1"])
    assert names(companies_visible_to(user)) == ["g1"]


def test_user_never_sees_siblings_or_ancestors(tree):
    user = UserFactory(company=tree["r2"])
    visible = companies_visible_to(user)
    assert names(visible) == ["c3", "r2"]
    for other in ("root", "r1", "c1", "c2", "g1"):
        assert not visible.filter(pk=tree[other].pk).exists()


def test_staff_sees_every_company(tree):
    staff = UserFactory(company=tree["c3"], is_staff=True)
    assert names(companies_visible_to(staff)) == sorted(tree)


def test_staff_without_company_still_sees_all(tree):
    staff = UserFactory(company=None, is_staff=True)
    assert companies_visible_to(staff).count() == len(tree)


def test_user_without_company_sees_none(tree):
    user = UserFactory(company=None)
    assert companies_visible_to(user).count() == 0


def test_inactive_user_sees_none(tree):
    user = UserFactory(company=tree["root"], is_active=False)
    assert companies_visible_to(user).count() == 0
    staff = UserFactory(company=None, is_staff=True, is_active=False)
    assert companies_visible_to(staff).count() == 0


def test_anonymous_user_sees_none(tree):
    assert companies_visible_to(AnonymousUser()).count() == 0


def test_similar_path_prefixes_do_not_leak():
    """Ids 1 and 10 must not be confused: the path segments are fixed width."""
    companies = [CompanyFactory(name=f"top{i}") for i in range(12)]
    child_of_first = CompanyFactory(name="child", parent=companies[0])
    user = UserFactory(company=companies[0])
    assert names(companies_visible_to(user)) == ["child", "top0"]
    assert not companies_visible_to(UserFactory(company=companies[10])).filter(pk=child_of_first.pk).exists()


def test_deep_tree_subtree_costs_two_queries_whatever_the_depth(django_assert_num_queries):
    chain = [CompanyFactory(name="level0")]
    for level in range(1, 40):
        chain.append(CompanyFactory(name=f"level{level}", parent=chain[-1]))
    user = UserFactory(company=chain[10])
    # One query reads the user's path, one reads the subtree (a prefix match, no recursion).
    with django_assert_num_queries(2):
        visible = list(companies_visible_to(user))
    assert len(visible) == 30
    assert {c.depth for c in visible} == set(range(10, 40))
    # The leaf's page is reachable from level 10, its ancestors above level 10 are not.
    assert company_for_user(user, account_id=chain[-1].account_id) == chain[-1]
    with pytest.raises(Http404):
        company_for_user(user, account_id=chain[9].account_id)


def test_wide_tree():
    root = CompanyFactory(name="wide-root", kind=Company.Kind.RESELLER)
    other = CompanyFactory(name="other-root", kind=Company.Kind.RESELLER)
    for i in range(150):
        CompanyFactory(name=f"wide-{i}", parent=root)
    for i in range(20):
        CompanyFactory(name=f"other-{i}", parent=other)
    assert companies_visible_to(UserFactory(company=root)).count() == 151
    assert companies_visible_to(UserFactory(company=other)).count() == 21


def test_reparenting_moves_the_whole_subtree(tree):
    user_r1 = UserFactory(company=tree["r1"])
    user_r2 = UserFactory(company=tree["r2"])
    c1 = tree["c1"]
    c1.parent = tree["r2"]
    c1.save()

    assert names(companies_visible_to(user_r1)) == ["c2", "r1"]
    assert names(companies_visible_to(user_r2)) == ["c1", "c3", "g1", "r2"]
    g1 = Company.objects.get(name="g1")
    assert g1.depth == 3
    assert [a.name for a in g1.ancestors()] == ["root", "r2", "c1"]
    with pytest.raises(Http404):
        company_for_user(user_r1, account_id=g1.account_id)
    assert company_for_user(user_r2, account_id=g1.account_id) == g1


def test_company_for_user_rejects_unknown_and_malformed_ids(tree):
    user = UserFactory(company=tree["root"])
    for bad in (999999999, "abc", None, 10**30):
        with pytest.raises(Http404):
            company_for_user(user, account_id=bad)


def test_breadcrumb_links_only_the_users_subtree(tree):
    user = UserFactory(company=tree["r1"])
    crumbs = company_breadcrumb(user, tree["g1"])
    assert [(c.name, linkable) for c, linkable in crumbs] == [("root", False), ("r1", True), ("c1", True)]
    staff = UserFactory(company=None, is_staff=True)
    assert all(linkable for _c, linkable in company_breadcrumb(staff, tree["g1"]))
    assert company_breadcrumb(user, tree["root"]) == []


def test_home_companies(tree):
    assert home_companies_for(UserFactory(company=tree["c1"])) == [tree["c1"]]
    assert home_companies_for(UserFactory(company=None)) == []
    second_root = CompanyFactory(name="another root", kind=Company.Kind.DISTRIBUTOR)
    assert home_companies_for(UserFactory(company=None, is_staff=True)) == [second_root, tree["root"]]
