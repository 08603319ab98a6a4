"""Reads: which companies a user may see, and lookups scoped to that."""

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import AuditLogEntry, Company, User
from accounts.text import search_folded
from core.numbers import parse_whole


def user_sees_all(user: User) -> bool:
    """Staff see every company, and everything of every company: the one place that says so."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def companies_visible_to(user: User) -> QuerySet[Company]:
    """A user sees its own company's subtree; staff see every company; anyone else sees none."""
    if user_sees_all(user):
        return Company.objects.all()
    if not user.is_authenticated or not user.is_active:
        return Company.objects.none()
    if user.company_id is None:
        return Company.objects.none()
    own_path = Company.objects.filter(pk=user.company_id).values("path")
    return Company.objects.filter(path__under=own_path.get()["path"])


def company_visible_to(user: User, company_id: int) -> bool:
    """May `user` see (and act on) the company with primary key `company_id`?"""
    return companies_visible_to(user).filter(pk=company_id).exists()


def company_for_user(user: User, *, account_id) -> Company:
    """The company with this account id if the user may see it; otherwise 404 (no hint that it exists)."""
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        raise Http404 from None
    company = companies_visible_to(user).select_related("parent").filter(account_id=account_id).first()
    if company is None:
        raise Http404
    return company


def company_children(company: Company) -> QuerySet[Company]:
    return Company.objects.filter(parent=company).order_by("name")


def audit_log_for(company: Company) -> QuerySet[AuditLogEntry]:
    return AuditLogEntry.objects.filter(company=company).select_related("actor", "impersonator")


# --- Company page, home and search (brief A) --------------------------------------------


def home_companies_for(user: User) -> list[Company]:
    """Where "home" leads: the user's own company, or for staff every root company (distributors)."""
    if not user.is_authenticated or not user.is_active:
        return []
    if user_sees_all(user):
        return list(Company.objects.filter(parent__isnull=True).order_by("name"))
    if user.company_id is None:
        return []
    return list(companies_visible_to(user).filter(pk=user.company_id))


def company_breadcrumb(user: User, company: Company) -> list[tuple[Company, bool]]:
    """The ancestors of `company`, root first, each with whether the user may open it.

    Ancestors above the user's own company are shown (the manual's breadcrumb names the
    distributor) but not linked: opening them would answer 404. One query, read from the path.
    """
    ancestors = company.ancestors()
    ids = [a.pk for a in ancestors]
    if user_sees_all(user):
        first_visible = 0
    elif user.company_id in ids:
        first_visible = ids.index(user.company_id)
    else:
        first_visible = len(ids)
    return [(ancestor, index >= first_visible) for index, ancestor in enumerate(ancestors)]


def structure_children(company: Company, *, query: str = "") -> QuerySet[Company]:
    """Child companies for the COMPANY STRUCTURE sidebar; with a search, the matching companies of the
    whole subtree below `company` (its children's children too), shallowest first. The caller has
    checked that the user may see `company`, hence everything below it."""
    if not query:
        return company_children(company)
    return (
        Company.objects.filter(path__under=company.path)
        .exclude(pk=company.pk)
        .filter(_company_match(query))
        .select_related("parent")
        .order_by("depth", "name", "pk")
    )


def search_companies(user: User, query: str) -> QuerySet[Company]:
    """Visible companies whose name or domain contains `query`, or whose account id / numeric ID is it."""
    if not query:
        return Company.objects.none()
    return companies_visible_to(user).filter(_company_match(query)).select_related("parent").order_by("name", "pk")


def id_in_query(query: str) -> int | None:
    """The search text as an id (account id, numeric ID), or None when it cannot be one that is stored."""
    return parse_whole(query)


def _company_match(query: str) -> Q:
    # Accents and case forgiven on both databases: the folded query against the folded name kept by
    # Company.save. contains/icontains escape LIKE wildcards, so "%" and "_" are matched literally.
    condition = Q(domain__icontains=query)
    if folded := search_folded(query):
        condition |= Q(search_name__contains=folded)
    if (number := id_in_query(query)) is not None:
        condition |= Q(account_id=number) | Q(numeric_id=number)
    return condition


def structure_users(viewer: User, company: Company, *, query: str = "") -> QuerySet[User]:
    """The company's own users for the COMPANY STRUCTURE sidebar, filtered by its search box.
    The caller has already checked that `viewer` may see `company` (one query, no subtree check)."""
    users = User.objects.filter(company=company).order_by("email")
    if not viewer.is_staff:
        users = users.filter(is_staff=False, is_superuser=False)
    if query:
        condition = Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
        if id_in_query(query) is not None:
            condition |= Q(pk=id_in_query(query))
        users = users.filter(condition)
    return users
