"""A company's status moves (Active or Suspended → Terminated) and what the company page's action bar
may offer: the one place that says which companies TERMINATE can move, and from which status.

Read from the company row alone (no query), so the page can grey a button out with its reason; what
depends on other rows (live subscriptions, companies below) is checked by
accounts.companies.services.company_terminate when the termination is asked for.
"""

from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User

Status = Company.Status

TERMINABLE_KINDS = frozenset({Company.Kind.CUSTOMER})
TERMINABLE_FROM = frozenset({Status.ACTIVE, Status.SUSPENDED})

CANNOT_TERMINATE_OWN = _("You cannot terminate your own company.")
ONLY_CUSTOMERS_TERMINATE = _("Only a customer company can be terminated here; resellers are ended by Intcomex staff.")
ALREADY_TERMINATED = _("This company is already terminated.")
TERMINATED_NO_CREDENTIALS = _("This company is terminated; its users cannot receive credentials.")


def termination_refusal(*, actor: User, company: Company) -> str | None:
    """Why `actor` may not terminate `company`, as far as the company itself says; None when it may."""
    if actor.company_id == company.pk:
        return str(CANNOT_TERMINATE_OWN)
    if company.status not in TERMINABLE_FROM:
        return str(ALREADY_TERMINATED)
    if company.kind not in TERMINABLE_KINDS:
        return str(ONLY_CUSTOMERS_TERMINATE)
    return None


def credentials_refusal(company: Company) -> str | None:
    """Why CREDENTIALS TO ALL USERS cannot be offered for `company`; None when it can."""
    return str(TERMINATED_NO_CREDENTIALS) if company.status == Status.TERMINATED else None
