"""Reads for the company page and the global search, which show subscriptions next to companies.

They live in orders because accounts must not import orders; the company reads themselves stay
in accounts.selectors.
"""

from django.db.models import Q, QuerySet

from accounts.models import Company, User
from accounts.selectors import companies_visible_to, id_in_query

from .models import Subscription
from .selectors import subscriptions_of


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
        Subscription.objects.filter(company__in=companies_visible_to(user))
        .exclude(status=Subscription.Status.TERMINATED)
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
