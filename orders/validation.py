"""The due-time checks: the one implementation of the rules an order must pass to be provisioned.

The worker runs them at the due time, before anything is created, for a whole batch of orders;
the wizard's Order review runs them early as a pre-check, for its one order (a batch of one);
bulk imports and the API run the same. Each check reads only the order and OrderFacts (loaded
once per batch), so the cost per order is flat however many are checked together.

Each check returns None when it passes or the user-facing reason it failed. The reasons are
module constants so tests and templates reuse them; a check returns one as stored text
(core.stored_messages.stored: the message and its parameters), because the worker writes it on the
row and the reseller reads it later in its own language. Whoever shows a reason renders it
(core.stored_messages.rendered; Wizard.precheck and ImportJob.precheck do).
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from catalog.billing import billing_type_label
from catalog.integrations import IntegrationContext, VendorWait, get_integration
from catalog.integrations.asking import questions_shared
from catalog.integrations.calls import calls_for
from core.stored_messages import stored

from .facts import OrderFacts, subscription_info
from .models import Order, Subscription

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
TENANT_DOMAIN_TAKEN = _(
    "The tenant domain %(domain)s is already taken; an onmicrosoft.com domain is unique across the platform. "
    "Choose another tenant domain."
)
QUANTITY_ABOVE_LIMIT = _("Quantity %(quantity)s is above the limit of %(limit)s for %(service)s.")

Check = Callable[[Order, OrderFacts], str | None]


def check_parent_account_active(order: Order, facts: OrderFacts) -> str | None:
    company = order.company
    if company.status != company.Status.ACTIVE:
        return parent_account_inactive(company)
    return None


def parent_account_inactive_params(company) -> dict:
    """PARENT_ACCOUNT_INACTIVE's parameters for `company`: its status label still to translate."""
    return {"company": company.name, "status": dict(company.Status.choices).get(company.status, company.status)}


def parent_account_inactive(company) -> str:
    """PARENT_ACCOUNT_INACTIVE for `company` (bulk lines say it too), its status label translated when shown."""
    return stored(PARENT_ACCOUNT_INACTIVE, **parent_account_inactive_params(company))


def no_price_on_day(order: Order, day: dt.date) -> str:
    billing_type = billing_type_label(order.billing_frequency, order.term)
    return stored(NO_PRICE_ON_DAY, service=order.service.name, billing_type=billing_type, day=day)


def check_service_accessible(order: Order, facts: OrderFacts) -> str | None:
    """The service is offered to the company (active, on its price list, priced on the day) and its terms are
    accepted at that price list."""
    return check_service_offered(order, facts) or check_terms_accepted(order, facts)


def check_service_offered(order: Order, facts: OrderFacts) -> str | None:
    service, company, book = order.service, order.company, facts.book
    if not service.active:
        return stored(SERVICE_INACTIVE, service=service.name)
    if not book.is_priced(company.pk, service.pk):
        return stored(SERVICE_NOT_ON_PRICE_LIST, service=service.name, company=company.name)
    if facts.price_item(order) is None:
        return no_price_on_day(order, facts.day)
    return None


def check_terms_accepted(order: Order, facts: OrderFacts) -> str | None:
    """The service's terms accepted at the company's price list (asked once check_service_offered passed: the
    company has a price list offering it)."""
    service, company, book = order.service, order.company, facts.book
    if not book.terms_accepted(company.pk, service):
        return stored(TERMS_NOT_ACCEPTED, service=service.name, price_list=book.price_list(company.pk).name)
    return None


def check_not_duplicate(order: Order, facts: OrderFacts) -> str | None:
    service = order.service
    if service.once_per_account and service.pk in facts.held_services[order.company_id]:
        return stored(DUPLICATE_SERVICE, company=order.company.name, service=service.name)
    return None


def check_dependencies_present(order: Order, facts: OrderFacts) -> str | None:
    """A service with dependencies needs one of them (any one: they are alternatives, e.g. a tenant
    of either kind), live on the same account."""
    required = list(order.service.dependencies.all())
    held = facts.held_services[order.company_id]
    if required and not any(dep.pk in held for dep in required):
        return stored(
            REQUIRED_SUBSCRIPTION_MISSING,
            service=order.service.name,
            required=" / ".join(dep.name for dep in required),
            company=order.company.name,
        )
    return None


def check_quantity_limit(order: Order, facts: OrderFacts) -> str | None:
    if order.quantity and order.quantity > order.service.max_quantity:
        return stored(QUANTITY_ABOVE_LIMIT, quantity=order.quantity, limit=order.service.max_quantity, service=order.service.name)
    return None


def check_domain_available(order: Order, facts: OrderFacts) -> str | None:
    """A domain the order would create (a new tenant's onmicrosoft.com) is held by no subscription
    on the platform, whichever reseller's customer holds it (the message does not say who)."""
    domain = facts.requested_domain(order)
    if domain and domain in facts.taken_domains:
        return stored(TENANT_DOMAIN_TAKEN, domain=domain)
    return None


# The parent account is checked first; when it is not active nothing else is worth saying.
CHECKS: tuple[Check, ...] = (
    check_service_accessible,
    check_not_duplicate,
    check_dependencies_present,
    check_quantity_limit,
    check_domain_available,
)


def order_problems(order: Order, facts: OrderFacts) -> list[str]:
    """Every reason the order cannot be provisioned on facts.day (empty when it can), as stored text.

    `order.company` and `order.service` (with its vendor) must be loaded; `facts` must cover the order.
    """
    inactive = check_parent_account_active(order, facts)
    if inactive:
        return [inactive]
    reasons = [reason for check in CHECKS if (reason := check(order, facts))]
    integration = get_integration(order.service.vendor.integration)
    reasons += integration.run_checks(facts.integration_context(order))
    return reasons


def order_goes_to_vendor(order: Order) -> bool:
    """Whether the vendor provisions this order (its checks ask the vendor, the worker places it there):
    Send to backend on, and the service's vendor has a connector (Microsoft, while MICROSOFT_ENABLED).
    Otherwise the worker provisions it locally. `order.service` (with its vendor) must be loaded."""
    return bool(order.send_to_backend) and get_integration(order.service.vendor.integration).connector() is not None


# --- The fifth check's remote half: asking the vendor ---------------------------------------------

VENDOR_NOT_ASKED = _("%(vendor)s could not be asked now (%(reason)s); the check runs again at the scheduled time.")


def _vendor_context(order: Order, facts: OrderFacts | None) -> IntegrationContext:
    """The integration's context: from the batch's facts, or from the order alone (one query: the
    company's live subscriptions, as OrderFacts reads them)."""
    if facts is not None:
        return facts.integration_context(order)
    live = Subscription.objects.live().filter(company_id=order.company_id).select_related("service").order_by("name", "id")
    return IntegrationContext(
        company=order.company,
        config=order.vendor_config,
        subscriptions=[subscription_info(subscription) for subscription in live],
        service_options=order.service.integration_options if order.service_id else {},
    )


def order_vendor_problems(order: Order, facts: OrderFacts | None = None) -> list[str] | VendorWait:
    """The fifth due-time check's remote half, the one implementation for the wizard's and the API's
    pre-checks, bulk lines and the worker at the due time: [] unless the vendor provisions this order
    (order_goes_to_vendor); else what the vendor's integration answers (vendor_checks): [] when it
    passes, the reasons (stored text) when it fails, VendorWait when the vendor could not say.

    It calls the vendor: never call it inside a transaction (the worker calls it from its sender,
    outside the batch's). Its calls are recorded as the order's company's (calls_for)."""
    if not order_goes_to_vendor(order):
        return []
    integration = get_integration(order.service.vendor.integration)
    context = _vendor_context(order, facts)
    with calls_for(order.company_id):
        return integration.vendor_checks(context)


def orders_vendor_problems(orders: Iterable[Order], facts: OrderFacts | None = None) -> list[list[str] | VendorWait]:
    """order_vendor_problems for many orders (a bulk file's lines), in their order, within bounds: the
    same tenant or domain is asked once, and at most catalog.integrations.asking.MAX_QUESTIONS distinct
    questions within BUDGET_SECONDS (the rest answer VendorWait: checked at the due time)."""
    with questions_shared():
        return [order_vendor_problems(order, facts) for order in orders]


def vendor_wait_note(order: Order, wait: VendorWait) -> str:
    """What a pre-check says when the vendor could not be asked: not a failure (stored text)."""
    return stored(VENDOR_NOT_ASKED, vendor=order.service.vendor.name, reason=wait.reason)


@dataclass
class Precheck:
    """The pre-check of one order (stored text): `reasons` it would fail for if it ran now (the local
    checks, then, when they pass, the vendor's), and `notes`: the vendor could not be asked now."""

    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def orders_precheck(orders: Iterable[Order], facts: OrderFacts, *, vendor: bool = True) -> list[Precheck]:
    """The pre-check of the wizard, the API and reschedules: order_problems, then, for the orders that
    pass them and when `vendor`, the vendor's check (orders_vendor_problems; outside transactions).
    An order that already fails locally is not asked about."""
    orders = list(orders)
    results = [Precheck(reasons=order_problems(order, facts)) for order in orders]
    asked = [(order, result) for order, result in zip(orders, results) if vendor and not result.reasons and order_goes_to_vendor(order)]
    if asked:
        answers = orders_vendor_problems([order for order, _result in asked], facts)
        for (order, result), answer in zip(asked, answers):
            if isinstance(answer, VendorWait):
                result.notes.append(vendor_wait_note(order, answer))
            else:
                result.reasons += answer
    return results


def validate_orders(orders: Iterable[Order], *, day: dt.date) -> dict[int, list[str]]:
    """order id → its reasons, for a batch checked against the same facts (nothing created between)."""
    orders = list(orders)
    facts = OrderFacts.load(orders, day=day)
    return {order.pk: order_problems(order, facts) for order in orders}


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
