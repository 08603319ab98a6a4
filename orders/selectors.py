"""Reads on orders and subscriptions."""

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Company, User
from accounts.selectors import companies_visible_to, id_in_query
from catalog.models import PriceList, Service
from catalog.integrations.microsoft import TENANT_ATTRIBUTE
from catalog.selectors import services_on_price_list

from .models import Order, Subscription


def subscriptions_of(company: Company) -> QuerySet[Subscription]:
    """Live subscriptions of a company (terminated ones no longer count for checks or the sidebar)."""
    return (
        Subscription.objects.live()
        .filter(company=company)
        .select_related("service")
        .order_by("name", "id")
    )


def tenant_subscriptions_of(company: Company) -> QuerySet[Subscription]:
    """The company's live vendor tenants (e.g. its Microsoft Organization tenant: a subscription whose
    attributes hold the tenant id), oldest first: the PROVISIONING tab's vendor link."""
    return (
        Subscription.objects.live()
        .filter(company=company, attributes__has_key=TENANT_ATTRIBUTE)
        .select_related("service__vendor")
        .order_by("created_at", "id")
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


# --- The NEW SERVICE wizard (where a draft stands is orders.wizard's) --------------------------

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


def structure_subscriptions(company: Company, *, query: str = "") -> QuerySet[Subscription]:
    """Subscriptions for the COMPANY STRUCTURE sidebar, filtered by its search box."""
    subscriptions = subscriptions_of(company)
    if query:
        subscriptions = subscriptions.filter(_subscription_match(query))
    return subscriptions


def search_subscriptions(user: User, query: str) -> QuerySet[Subscription]:
    """Live subscriptions of the companies the user may see, matching by name, service or account id."""
    if not query:
        return Subscription.objects.none()
    return (
        Subscription.objects.live()
        .filter(company__in=companies_visible_to(user))
        .filter(_subscription_match(query))
        .select_related("company", "service")
        .order_by("name", "pk")
    )


def _subscription_match(query: str) -> Q:
    # icontains escapes LIKE wildcards, so "%" and "_" are matched literally.
    condition = Q(name__icontains=query) | Q(service__name__icontains=query)
    if (number := id_in_query(query)) is not None:
        condition |= Q(account_id=number)
    return condition


# --- The subscription page ----------------------------------------------------------------------


def subscription_for_user(user: User, *, account_id) -> Subscription:
    """A subscription (any status) of a company the user may see, by its account id; otherwise 404."""
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        raise Http404 from None
    subscription = (
        Subscription.objects.filter(account_id=account_id, company__in=companies_visible_to(user))
        .select_related("company", "company__parent", "service", "service__vendor", "order")
        .first()
    )
    if subscription is None:
        raise Http404
    return subscription
