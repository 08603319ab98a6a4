"""Reads on users: which users a user may see and manage, and what their page shows."""

import datetime as dt
from dataclasses import dataclass

from axes.models import AccessLog
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditLogEntry, Company, User
from accounts.selectors import companies_visible_to
from core.stored_messages import rendered

LOGGED_IN_FROM = _("Logged in from %(address)s.")
IMPERSONATION_SESSION = _("Session opened by staff impersonation (from %(address)s).")


def users_visible_to(user: User, *, companies: QuerySet[Company] | None = None) -> QuerySet[User]:
    """Users of the companies `user` may see. Staff see everyone; others never see staff accounts,
    which belong to the distributor and are managed in the admin.

    `companies`: companies_visible_to(user) when the caller has already built it (saves its query);
    every lookup of a user by id (a page, a filter of a list) goes through here."""
    if companies is None:
        companies = companies_visible_to(user)
    users = User.objects.filter(company__in=companies).select_related("company", "company__parent")
    if not user.is_staff:
        users = users.filter(is_staff=False, is_superuser=False)
    return users


def user_for_user(user: User, *, user_id) -> User:
    """The user with this id if `user` may see it; otherwise 404 (no hint that it exists)."""
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise Http404 from None
    found = users_visible_to(user).filter(pk=user_id).first()
    if found is None:
        raise Http404
    return found


def user_audit_log_for(target: User) -> QuerySet[AuditLogEntry]:
    """AUDIT LOG of the user page: what was done to this user (renamed, password reset, ...)."""
    return AuditLogEntry.objects.filter(target_user=target).select_related("actor", "impersonator", "company")


@dataclass(frozen=True)
class UserLogLine:
    at: dt.datetime
    action: str
    message: str
    impersonator: User | None = None


def user_log_for(target: User, *, limit: int = 200) -> list[UserLogLine]:
    """USER LOG of the user page: the user's own actions (audit entries it wrote, impersonated
    ones included) and its logins (axes' access log), newest first."""
    entries = (
        AuditLogEntry.objects.filter(actor=target)
        .select_related("impersonator")
        .order_by("-created_at", "-id")[:limit]
    )
    # Stored messages (core.stored_messages) in the viewer's language; older entries as written.
    lines = [UserLogLine(e.created_at, e.action, rendered(e.message), e.impersonator) for e in entries]
    logins = AccessLog.objects.filter(username=target.email).order_by("-attempt_time")[:limit]
    for login in logins:
        # hijack logs staff in as the user: that session is the staff member's, not a login of the user.
        impersonated = (login.path_info or "").startswith("/hijack/")
        text = IMPERSONATION_SESSION if impersonated else LOGGED_IN_FROM
        action = "user.impersonated" if impersonated else "user.logged_in"
        lines.append(UserLogLine(login.attempt_time, action, str(text % {"address": login.ip_address or "-"})))
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:limit]
