"""Writes of the company page's action bar: TERMINATE and CREDENTIALS TO ALL USERS.

Each takes the company row locked (two clicks, or two resellers, are served one after the other),
refuses a company outside the actor's subtree like a missing page (404), writes through the one home
of each rule (a user is terminated by user_terminate, credentials go by user_credentials_send) and
audits. What a higher app ends with a company (its Pending import jobs) and what keeps a company from
ending (its live subscriptions) come through accounts.company_page: accounts cannot import them.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _, ngettext_lazy

from core.clock import db_now
from accounts import company_page
from accounts.company_status import (
    ALREADY_TERMINATED,
    TERMINABLE_FROM,
    credentials_refusal,
    termination_refusal,
)
from accounts.models import AuditLogEntry, Company, User
from accounts.selectors import companies_visible_to
from accounts.services import audit_log_record
from accounts.users.selectors import users_visible_to
from accounts.users.services import user_credentials_send, user_terminate
from core.stored_messages import stored

# Audit entries, stored as a message and its parameters (core.stored_messages): shown in the reader's language.
AUDIT_COMPANY_TERMINATED = _("Company %(name)s terminated; %(count)s active user(s) terminated with it.")
AUDIT_CREDENTIALS_SENT_ALL = _("Credentials (one-time set-password links) sent to the %(count)s active user(s) of %(name)s.")


Status = Company.Status

CHILD_COMPANIES_LIVE = ngettext_lazy(
    "%(company)s still has %(count)s company below it that is not terminated; terminate it first.",
    "%(company)s still has %(count)s companies below it that are not terminated; terminate them first.",
    "count",
)
CREDENTIALS_THROTTLED = _(
    "Credentials were already sent to the users of %(company)s at %(at)s (UTC); "
    "they can be sent to all users again %(minutes)s minutes after that."
)
NO_ACTIVE_USERS = _("%(company)s has no active user to send credentials to.")

CREDENTIALS_ACTION = "company.credentials_sent"


def _lock_visible(actor: User, company: Company) -> Company:
    """The company row, locked, if `actor` may see it; otherwise 404, as for any unknown company."""
    locked = companies_visible_to(actor).select_for_update(of=("self",)).filter(pk=company.pk).first()
    if locked is None:
        raise Http404
    return locked


def termination_blockers(company: Company) -> list[str]:
    """What must end before `company` can: companies below it, and what higher apps report (its live
    subscriptions). Empty when it may be terminated now."""
    reasons = []
    children = Company.objects.filter(path__under=company.path).exclude(pk=company.pk).exclude(status=Status.TERMINATED)
    if count := children.count():
        reasons.append(str(CHILD_COMPANIES_LIVE % {"company": company.name, "count": count}))
    return reasons + company_page.termination_refusals(company)


@dataclass(frozen=True)
class Termination:
    company: Company
    users_terminated: list[User]
    # What higher apps ended with the company, one line each, for the reseller (e.g. imports cancelled).
    notes: list[str] = field(default_factory=list)


@transaction.atomic
def company_terminate(*, actor: User, company: Company) -> Termination:
    """TERMINATE: Active or Suspended → Terminated, its active users terminated (they can no longer log
    in; their API tokens are revoked), and what higher apps end with it (its Pending import jobs are
    cancelled). Refused, with every reason, while anything that must end first is still live.
    Raises Http404 outside the actor's subtree and ValidationError for a refusal."""
    locked = _lock_visible(actor, company)
    if refusal := termination_refusal(actor=actor, company=locked):
        raise ValidationError(refusal, code="refused")
    if blockers := termination_blockers(locked):
        raise ValidationError(blockers, code="live")
    # The move itself is conditional, so it happens once whatever else raced to it.
    if not Company.objects.filter(pk=locked.pk, status__in=TERMINABLE_FROM).update(status=Status.TERMINATED):
        raise ValidationError(ALREADY_TERMINATED, code="terminated")
    locked.status = Status.TERMINATED
    users = list(users_visible_to(actor).filter(company=locked, is_active=True).order_by("email"))
    terminated = [user_terminate(actor=actor, user=user) for user in users]
    notes = company_page.termination_handlers_run(actor, locked)
    audit_log_record(
        company=locked,
        actor=actor,
        action="company.terminated",
        message=stored(AUDIT_COMPANY_TERMINATED, name=locked.name, count=len(terminated)),
    )
    return Termination(company=locked, users_terminated=terminated, notes=notes)


def credentials_last_sent(company: Company, *, now: dt.datetime | None = None) -> AuditLogEntry | None:
    """The last CREDENTIALS TO ALL USERS for `company` within the throttle's minutes, or None."""
    now = now or db_now()
    since = now - dt.timedelta(minutes=settings.COMPANY_CREDENTIALS_THROTTLE_MINUTES)
    return AuditLogEntry.objects.filter(company=company, action=CREDENTIALS_ACTION, created_at__gte=since).first()


@transaction.atomic
def company_credentials_send(*, actor: User, company: Company) -> list[User]:
    """CREDENTIALS TO ALL USERS: the credentials email (login and a one-time set-password link, as
    CREDENTIALS TO THIS USER sends it) to every active user of the company, after commit. Refused when
    it was done for this company within COMPANY_CREDENTIALS_THROTTLE_MINUTES (the audit log is the
    record; the company row's lock makes two clicks wait for each other, so only one sends)."""
    locked = _lock_visible(actor, company)
    if refusal := credentials_refusal(locked):
        raise ValidationError(refusal, code="terminated")
    if last := credentials_last_sent(locked):
        params = {
            "company": locked.name,
            "at": last.created_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "minutes": settings.COMPANY_CREDENTIALS_THROTTLE_MINUTES,
        }
        raise ValidationError(CREDENTIALS_THROTTLED % params, code="throttled")
    users = list(users_visible_to(actor).filter(company=locked, is_active=True).order_by("email"))
    if not users:
        raise ValidationError(NO_ACTIVE_USERS % {"company": locked.name}, code="no_users")
    for user in users:
        user_credentials_send(actor=actor, user=user, robust_email=True)
    audit_log_record(
        company=locked,
        actor=actor,
        action=CREDENTIALS_ACTION,
        message=stored(AUDIT_CREDENTIALS_SENT_ALL, name=locked.name, count=len(users)),
    )
    return users
