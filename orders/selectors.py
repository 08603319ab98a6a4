"""Reads on orders and subscriptions."""

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Company, User
from accounts.selectors import companies_visible_to
from catalog.integrations import CompanySubscriptionInfo, IntegrationContext
from catalog.models import PriceList, Service
from catalog.selectors import price_list_for, services_on_price_list, terms_accepted

from .models import Order, Subscription


def subscriptions_of(company: Company) -> QuerySet[Subscription]:
    """Live subscriptions of a company (terminated ones no longer count for checks or the sidebar)."""
    return (
        Subscription.objects.filter(company=company)
        .exclude(status=Subscription.Status.TERMINATED)
        .select_related("service")
        .order_by("name", "id")
    )


def subscription_infos_for(company: Company) -> list[CompanySubscriptionInfo]:
    return [
        CompanySubscriptionInfo(account_id=s.account_id, service_code=s.service.code, name=s.name, attributes=s.attributes)
        for s in subscriptions_of(company)
    ]


def integration_context_for(order: Order, *, config: dict | None = None) -> IntegrationContext:
    """What the vendor integration needs to build its fields or run its checks for this order."""
    return IntegrationContext(
        company=order.company,
        config=order.vendor_config if config is None else config,
        subscriptions=subscription_infos_for(order.company),
        service_options=order.service.integration_options if order.service_id else {},
    )


def draft_for_user(user: User, *, order_uuid) -> Order:
    """A draft the user created, on a company it may still see; anything else is 404."""
    order = (
        Order.objects.select_related("company", "service", "service__vendor", "created_by")
        .filter(uuid=order_uuid, created_by=user, status=Order.Status.DRAFT)
        .filter(company__in=companies_visible_to(user))
        .first()
    )
    if order is None:
        raise Http404
    return order


# --- The NEW SERVICE wizard -------------------------------------------------------------------

# The wizard's steps, in order. Each is its own view (orders:select, orders:terms, ...).
STEP_SELECT = "select"
STEP_TERMS = "terms"
STEP_CONFIGURE = "configure"
STEP_REVIEW = "review"
WIZARD_STEPS = (STEP_SELECT, STEP_TERMS, STEP_CONFIGURE, STEP_REVIEW)

# How long the wizard's service search may be; longer input is cut, not refused.
SERVICE_QUERY_MAX_LENGTH = 200


def order_for_user(user: User, *, order_uuid) -> Order:
    """Any order (draft or submitted) the user created on a company it may still see; otherwise 404.

    Used where a submitted order must not end in an error page (a replayed Schedule provisioning POST).
    """
    order = (
        Order.objects.select_related("company", "service", "service__vendor", "created_by")
        .filter(uuid=order_uuid, created_by=user)
        .filter(company__in=companies_visible_to(user))
        .first()
    )
    if order is None:
        raise Http404
    return order


def drafts_of(user: User, *, company: Company) -> QuerySet[Order]:
    """The user's unfinished orders for a company, newest first (to resume one later)."""
    return (
        Order.objects.filter(created_by=user, company=company, status=Order.Status.DRAFT)
        .select_related("service")
        .order_by("-updated_at", "-id")
    )


def wizard_services(price_list: PriceList | None, *, query: str = "") -> QuerySet[Service]:
    """Services the wizard offers: the active services of the price list, optionally searched.

    The search looks at the service's name and code, its vendor, category and tags.
    """
    services = services_on_price_list(price_list)
    query = (query or "").strip()[:SERVICE_QUERY_MAX_LENGTH]
    if query:
        services = services.filter(
            Q(name__icontains=query)
            | Q(code__icontains=query)
            | Q(vendor__name__icontains=query)
            | Q(category__name__icontains=query)
            | Q(tags__name__icontains=query)
        ).distinct()
    return services


def wizard_step_done(order: Order, step: str) -> bool:
    """Whether a step's part of the draft is complete. Review is never done while the order is a draft."""
    if step == STEP_SELECT:
        if not order.service_id:
            return False
        return services_on_price_list(price_list_for(order.company)).filter(pk=order.service_id).exists()
    if step == STEP_TERMS:
        price_list = price_list_for(order.company)
        return bool(order.service_id and price_list and terms_accepted(price_list=price_list, service=order.service))
    if step == STEP_CONFIGURE:
        return order.configured_at is not None
    return False


def wizard_first_unfinished_step(order: Order) -> str:
    """The one place that decides where a draft stands: the first step not done yet (else the review)."""
    for step in WIZARD_STEPS[:-1]:
        if not wizard_step_done(order, step):
            return step
    return STEP_REVIEW
