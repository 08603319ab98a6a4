"""What orders adds to the company page and the global search of accounts.

Accounts owns those pages but must not import orders or catalog, so it names contribution points
(accounts.company_page) and OrdersConfig.ready() registers the functions below. Orders, not catalog,
contributes the services offer: NEW SERVICE opens orders' wizard. Prices are shown by the page with
the `amount` filter (core.amounts, the one rule for an amount's decimals).
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.company_page import (
    Cell,
    SearchGroup,
    ServiceOffer,
    ServiceRow,
    StructureItem,
    register_search_group,
    register_service_offer,
    register_structure_items,
)
from accounts.models import Company, User
from catalog.billing import billing_type_label
from catalog.selectors import available_price_items_on, price_list_for

from .selectors import search_subscriptions, structure_subscriptions
from .services import new_service_refusal


def subscription_structure_items(company: Company, query: str) -> list[StructureItem]:
    return [
        StructureItem(
            label=subscription.display_name,
            css_class="subscription",
            url=reverse("orders:subscription_detail", kwargs={"account_id": subscription.account_id}),
        )
        for subscription in structure_subscriptions(company, query=query)
    ]


def service_offer(company: Company) -> ServiceOffer:
    price_list = price_list_for(company)
    can_order = new_service_refusal(company, price_list) is None

    def rows() -> list[ServiceRow]:
        return [
            ServiceRow(
                name=item.service.name,
                code=item.service.code,
                billing_type=billing_type_label(item.billing_frequency, item.term),
                selling_price=item.selling_price,  # shown by the `amount` filter
                currency=item.currency,
            )
            for item in available_price_items_on(price_list=price_list, day=timezone.now().date())
        ]

    return ServiceOffer(
        price_list_name=price_list.name if price_list else None,
        can_order=can_order,
        order_url=reverse("orders:new", kwargs={"account_id": company.account_id}) if can_order else "",
        rows=rows,
    )


def subscription_search_group(user: User, query: str, limit: int) -> SearchGroup | None:
    if not query:
        return None
    found = list(search_subscriptions(user, query)[: limit + 1])
    rows = []
    for subscription in found[:limit]:
        company_url = reverse("company_detail", kwargs={"account_id": subscription.company.account_id})
        rows.append(
            (
                Cell(subscription.display_name, company_url),
                Cell(str(subscription.account_id)),
                Cell(subscription.service.name),
                Cell(subscription.company.name, company_url),
            )
        )
    return SearchGroup(
        key="subscriptions",
        title=_("Subscriptions"),
        headers=(_("Subscription"), _("Account Id"), _("Service"), _("Company")),
        rows=rows,
        more=len(found) > limit,
    )


def register() -> None:
    register_structure_items(subscription_structure_items)
    register_service_offer(service_offer)
    register_search_group(subscription_search_group)
