"""What orders adds to the company page and the global search of accounts.

Accounts owns those pages but must not import orders or catalog, so it names contribution points
(accounts.company_page) and OrdersConfig.ready() registers the functions below. Orders, not catalog,
contributes the services offer: NEW SERVICE opens orders' wizard. Prices are shown by the page with
the `amount` filter (core.amounts, the one rule for an amount's decimals).
"""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _, ngettext_lazy

from accounts.company_page import (
    Cell,
    CompanyTable,
    SearchGroup,
    ServiceOffer,
    ServiceRow,
    StructureItem,
    register_search_group,
    register_service_offer,
    register_structure_items,
    register_subscription_table,
    register_termination_check,
)
from accounts.models import Company, User
from catalog.billing import billing_type_label
from catalog.selectors import available_price_items_on, price_list_for

from core.amounts import format_amount

from .pricing import quote_from_prices
from .selectors import search_subscriptions, structure_subscriptions, subscriptions_of
from .services import new_service_refusal

# TERMINATE is refused while the company holds a live subscription (orders.models' rule of "live").
LIVE_SUBSCRIPTIONS = ngettext_lazy(
    "%(company)s still has %(count)s live subscription; it must end before the company can be terminated.",
    "%(company)s still has %(count)s live subscriptions; they must end before the company can be terminated.",
    "count",
)
SUBSCRIPTION_ACCOUNT_ID = _("Account Id %(id)s")


def subscription_structure_items(company: Company, query: str) -> list[StructureItem]:
    subscriptions = list(structure_subscriptions(company, query=query))
    # Two subscriptions may show the same label ("(NCE) Exchange Online Kiosk (1)" ordered twice): those
    # carry their account id, which is unique and is what the subscription's page and My imports show.
    repeated = {label for label, count in Counter(s.display_name for s in subscriptions).items() if count > 1}
    return [
        StructureItem(
            label=subscription.display_name,
            css_class="subscription",
            url=reverse("orders:subscription_detail", kwargs={"account_id": subscription.account_id}),
            detail=str(SUBSCRIPTION_ACCOUNT_ID % {"id": subscription.account_id})
            if subscription.display_name in repeated
            else "",
        )
        for subscription in subscriptions
    ]


def subscription_table(company: Company) -> CompanyTable:
    """The company's live subscriptions with what they are billed (the prices of the day each was
    created): the BILLING tab and the Subscriptions part of EXPORT."""
    rows, monthly = [], defaultdict(Decimal)
    for subscription in subscriptions_of(company):
        fee = ""
        if subscription.billing_frequency and subscription.term:
            quote = quote_from_prices(
                unit_cost=subscription.unit_cost, unit_price=subscription.unit_price, quantity=subscription.quantity,
                frequency=subscription.billing_frequency, term=subscription.term, currency=subscription.currency,
            )
            fee = format_amount(quote.monthly_price)
            monthly[subscription.currency] += quote.monthly_price
        rows.append([
            subscription.name,
            str(subscription.account_id),
            subscription.service.name,
            subscription.service.code,
            str(subscription.quantity),
            billing_type_label(subscription.billing_frequency, subscription.term) if subscription.term else "",
            format_amount(subscription.unit_price),
            fee,
            subscription.currency,
            subscription.get_status_display(),
            subscription.created_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        ])
    return CompanyTable(
        title=gettext("Subscriptions"),
        headers=[
            gettext("Subscription"), gettext("Account Id"), gettext("Service"), gettext("Product code"),
            gettext("Quantity"), gettext("Billing Type"), gettext("Unit price"), gettext("Monthly fee"),
            gettext("Currency"), gettext("Status"), gettext("Date created (UTC)"),
        ],
        rows=rows,
        totals=[
            gettext("Total (Monthly)") + f" {currency} {format_amount(amount)}" for currency, amount in sorted(monthly.items())
        ],
    )


def live_subscriptions_refusal(company: Company) -> str | None:
    count = subscriptions_of(company).count()
    if not count:
        return None
    return str(LIVE_SUBSCRIPTIONS % {"company": company.name, "count": count})


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
    register_subscription_table(subscription_table)
    register_termination_check(live_subscriptions_refusal)
