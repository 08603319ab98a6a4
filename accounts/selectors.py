"""Reads: which companies a user may see, and lookups scoped to that."""

from django.db.models import QuerySet
from django.http import Http404

from .models import AuditLogEntry, Company, User


def companies_visible_to(user: User) -> QuerySet[Company]:
    """A user sees its own company's subtree; staff see every company; anyone else sees none."""
    if not user.is_authenticated or not user.is_active:
        return Company.objects.none()
    if user.is_staff:
        return Company.objects.all()
    if user.company_id is None:
        return Company.objects.none()
    own_path = Company.objects.filter(pk=user.company_id).values("path")
    return Company.objects.filter(path__startswith=own_path.get()["path"])


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
    return AuditLogEntry.objects.filter(company=company).select_related("actor")
