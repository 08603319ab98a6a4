"""Staff impersonation (django-hijack): who may impersonate whom, and the audit trail it leaves.

Hijack logs the staff member in as the user and keeps the staff member's id in the session
("hijack_history"). ImpersonatorMiddleware hands that id to the audit log for the length of the
request, so every entry written meanwhile, by any service, names the staff member beside the user
(accounts.services.audit_log_record reads it). The start and the end are audited by
accounts.impersonation_audit, from hijack's signals.
"""

import contextvars

from django.utils.translation import gettext_lazy as _

NOT_STAFF = _("Only staff can impersonate users.")
IMPERSONATE_SELF = _("You cannot impersonate yourself.")
IMPERSONATE_SUPERUSER = _("A superuser cannot be impersonated.")
# Staff work in the admin with their own login; impersonation is for seeing the portal as a reseller.
IMPERSONATE_STAFF = _("A staff member cannot be impersonated.")
IMPERSONATE_INACTIVE = _("A terminated (inactive) user cannot be impersonated.")
IMPERSONATE_NO_COMPANY = _("This user belongs to no company, so there is no portal to see as this user.")

_impersonator_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("impersonator_id", default=None)


def impersonation_refusal(*, hijacker, hijacked) -> str | None:
    """Why `hijacker` may not impersonate `hijacked`, or None when it may."""
    if not (hijacker.is_authenticated and hijacker.is_active and hijacker.is_staff):
        return str(NOT_STAFF)
    if hijacked is None:
        return str(IMPERSONATE_NO_COMPANY)
    if hijacked.pk == hijacker.pk:
        return str(IMPERSONATE_SELF)
    if hijacked.is_superuser:
        return str(IMPERSONATE_SUPERUSER)
    if hijacked.is_staff:
        return str(IMPERSONATE_STAFF)
    if not hijacked.is_active:
        return str(IMPERSONATE_INACTIVE)
    if hijacked.company_id is None:
        return str(IMPERSONATE_NO_COMPANY)
    return None


def may_impersonate(*, hijacker, hijacked) -> bool:
    """HIJACK_PERMISSION_CHECK: hijack's acquire view and its admin button ask this."""
    return impersonation_refusal(hijacker=hijacker, hijacked=hijacked) is None


def impersonator_id_of(request) -> int | None:
    """The staff member's id while `request` runs as an impersonated user, else None."""
    session = getattr(request, "session", None)
    history = session.get("hijack_history") if session is not None else None
    if not history:
        return None
    try:
        return int(history[-1])
    except (TypeError, ValueError):
        return None


def current_impersonator_id() -> int | None:
    return _impersonator_id.get()


class ImpersonatorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _impersonator_id.set(impersonator_id_of(request))
        try:
            return self.get_response(request)
        finally:
            _impersonator_id.reset(token)
