"""Reads on orders and subscriptions."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Company, User
from accounts.selectors import companies_visible_to
from catalog.integrations import CompanySubscriptionInfo, IntegrationContext

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
