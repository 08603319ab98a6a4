"""The audit trail of impersonation: hijack's start and end signals, written to the company's
audit log. Apart from accounts.impersonation because writing the log is accounts.services', which
reads the impersonator from accounts.impersonation: one way, no cycle. Connected in accounts.apps."""

from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from hijack.signals import hijack_ended, hijack_started

from accounts.services import audit_log_record
from core.stored_messages import stored


# Stored as a message and its parameters (core.stored_messages): shown in the reader's language.
AUDIT_IMPERSONATION_STARTED = _("%(staff)s started impersonating %(user)s.")
AUDIT_IMPERSONATION_ENDED = _("%(staff)s stopped impersonating %(user)s.")


def _audit(action: str, message: str, *, hijacker, hijacked) -> None:
    company = hijacked.company or hijacker.company
    if company is None:
        return
    audit_log_record(company=company, actor=hijacker, action=action, message=message, target_user=hijacked)


@receiver(hijack_started, dispatch_uid="accounts.impersonation.started")
def _started(sender, hijacker, hijacked, request, **kwargs):
    _audit(
        "impersonation.started",
        stored(AUDIT_IMPERSONATION_STARTED, staff=hijacker.email, user=hijacked.email),
        hijacker=hijacker,
        hijacked=hijacked,
    )


@receiver(hijack_ended, dispatch_uid="accounts.impersonation.ended")
def _ended(sender, hijacker, hijacked, request, **kwargs):
    _audit(
        "impersonation.ended",
        stored(AUDIT_IMPERSONATION_ENDED, staff=hijacker.email, user=hijacked.email),
        hijacker=hijacker,
        hijacked=hijacked,
    )
