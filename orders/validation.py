"""Due-time validation of an order: the checks the worker runs before creating anything, and that
the Order review step runs early as a pre-check.

Each check is a small function returning None when it passes or the user-facing reason it failed.
The reasons are module constants so tests and templates reuse them.
"""

import datetime as dt
from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

from catalog.billing import billing_type_label
from catalog.integrations import get_integration
from catalog.selectors import price_item_on, price_list_for, terms_accepted

from .models import Order
from .selectors import integration_context_for, subscriptions_of

PARENT_ACCOUNT_INACTIVE = _("The parent account %(company)s is not active (status: %(status)s).")
SERVICE_INACTIVE = _("The service %(service)s is no longer active.")
# Messages never end with a company name: names such as "S.A.C." would end in a double period.
SERVICE_NOT_ON_PRICE_LIST = _("The price list of %(company)s does not offer the service %(service)s.")
TERMS_NOT_ACCEPTED = _("The terms and conditions of %(service)s have not been accepted for the price list %(price_list)s.")
NO_PRICE_ON_DAY = _("The price list has no price for %(service)s (%(billing_type)s) on %(day)s.")
DUPLICATE_SERVICE = _("%(company)s already has %(service)s; it can be ordered only once per account.")
REQUIRED_SUBSCRIPTION_MISSING = _(
    "Required subscription missing: the account %(company)s has no %(required)s, which %(service)s needs."
)
QUANTITY_ABOVE_LIMIT = _("Quantity %(quantity)s is above the limit of %(limit)s for %(service)s.")

Check = Callable[[Order, dt.date], str | None]


def check_parent_account_active(order: Order, day: dt.date) -> str | None:
    company = order.company
    if company.status != company.Status.ACTIVE:
        return str(PARENT_ACCOUNT_INACTIVE % {"company": company.name, "status": company.get_status_display()})
    return None


def check_service_accessible(order: Order, day: dt.date) -> str | None:
    service, company = order.service, order.company
    if not service.active:
        return str(SERVICE_INACTIVE % {"service": service.name})
    price_list = price_list_for(company)
    if price_list is None or price_item_on(
        price_list=price_list, service=service, frequency=order.billing_frequency, term=order.term, day=day
    ) is None:
        if price_list is not None and service.price_items.filter(price_list=price_list).exists():
            return str(
                NO_PRICE_ON_DAY
                % {"service": service.name, "billing_type": billing_type_label(order.billing_frequency, order.term), "day": day}
            )
        return str(SERVICE_NOT_ON_PRICE_LIST % {"service": service.name, "company": company.name})
    if not terms_accepted(price_list=price_list, service=service):
        return str(TERMS_NOT_ACCEPTED % {"service": service.name, "price_list": price_list.name})
    return None


def check_not_duplicate(order: Order, day: dt.date) -> str | None:
    service = order.service
    if service.once_per_account and subscriptions_of(order.company).filter(service=service).exists():
        return str(DUPLICATE_SERVICE % {"company": order.company.name, "service": service.name})
    return None


def check_dependencies_present(order: Order, day: dt.date) -> str | None:
    required = list(order.service.dependencies.all())
    if not required:
        return None
    held = set(subscriptions_of(order.company).values_list("service_id", flat=True))
    if not any(dep.pk in held for dep in required):
        return str(
            REQUIRED_SUBSCRIPTION_MISSING
            % {
                "service": order.service.name,
                "required": " / ".join(dep.name for dep in required),
                "company": order.company.name,
            }
        )
    return None


def check_quantity_limit(order: Order, day: dt.date) -> str | None:
    if order.quantity and order.quantity > order.service.max_quantity:
        return str(QUANTITY_ABOVE_LIMIT % {"quantity": order.quantity, "limit": order.service.max_quantity, "service": order.service.name})
    return None


CHECKS: tuple[Check, ...] = (
    check_parent_account_active,
    check_service_accessible,
    check_not_duplicate,
    check_dependencies_present,
    check_quantity_limit,
)


def validate_order(order: Order, *, day: dt.date) -> list[str]:
    """Every reason the order cannot be provisioned on `day` (empty when it can).

    The parent account is checked first; when it is not active nothing else is worth saying.
    """
    inactive = check_parent_account_active(order, day)
    if inactive:
        return [inactive]
    reasons = [reason for check in CHECKS[1:] if (reason := check(order, day))]
    integration = get_integration(order.service.vendor.integration)
    reasons += integration.run_checks(integration_context_for(order))
    return reasons


# --- Schedule provisioning (UTC): when a scheduled order may be due -------------------------------

SCHEDULE_MAX_DAYS = 365
SCHEDULE_IN_PAST = _(
    "The schedule time is in the past. Enter a later UTC time, or leave the field empty for as soon as possible."
)
SCHEDULE_TOO_FAR = _("The schedule time can be at most 365 days ahead.")


def schedule_time_error(due_at: dt.datetime, *, now: dt.datetime) -> str | None:
    """Why `due_at` cannot be a schedule time at `now`, or None.

    The field has minute precision, so the current minute still counts as "now" (as soon as possible).
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if due_at < now.replace(second=0, microsecond=0):
        return str(SCHEDULE_IN_PAST)
    if due_at > now + dt.timedelta(days=SCHEDULE_MAX_DAYS):
        return str(SCHEDULE_TOO_FAR)
    return None
