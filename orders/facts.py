"""What the due-time checks, the wizard and provisioning read about a set of orders, loaded once.

OrderFacts is batch-native: the worker loads it for a batch of due jobs, the wizard for its one
order (a batch of one). Every lookup the checks use has its one implementation here or in
catalog.selectors.PriceBook: the price in force on a day, terms accepted, the live subscriptions
of a company (Subscription.objects.live) and the vendor integration's context.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import prefetch_related_objects

from catalog.integrations import CompanySubscriptionInfo, IntegrationContext, get_integration
from catalog.models import PriceListItem
from catalog.selectors import PriceBook, price_book

from .models import Order, Subscription


@dataclass(frozen=True)
class HeldElsewhere:
    """A subscription a company will hold that is not a Subscription row yet: e.g. an order with the
    vendor (imports.models.VendorOrder, open). `domain`: the platform-unique domain it claims, if any."""

    company_id: int
    service_id: int
    domain: str | None = None


# Who else knows of subscriptions about to exist: provider(company_ids, domains) → what those companies
# will hold and which of those domains are claimed. orders cannot import the apps above it (imports),
# so they register here (imports.apps: ImportsConfig.ready). Each is asked once per OrderFacts.load.
HeldElsewhereProvider = Callable[[set[int], set[str]], Iterable[HeldElsewhere]]
_held_elsewhere: dict[str, HeldElsewhereProvider] = {}


def held_elsewhere_register(name: str, provider: HeldElsewhereProvider) -> None:
    """Add (or replace, by `name`) a provider of subscriptions held elsewhere."""
    _held_elsewhere[name] = provider


def subscription_info(subscription: Subscription) -> CompanySubscriptionInfo:
    return CompanySubscriptionInfo(
        account_id=subscription.account_id,
        service_code=subscription.service.code,
        name=subscription.name,
        attributes=subscription.attributes,
        service_id=subscription.service_id,
    )


@dataclass
class OrderFacts:
    day: dt.date
    book: PriceBook
    # Company id → what the integration may know of its live subscriptions, by name.
    held: dict[int, list[CompanySubscriptionInfo]] = field(default_factory=lambda: defaultdict(list))
    # Company id → the service ids among them, kept beside `held` so a check is a set lookup.
    held_services: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # The platform-unique domains (tenant domains) that the orders ask for and someone already holds.
    taken_domains: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, orders: Iterable[Order], *, day: dt.date) -> "OrderFacts":
        """Five queries whatever the number of orders: price lists, items, acceptances, live
        subscriptions, and the services' dependencies (when not prefetched already); plus, when an
        order is of a once-per-account service or claims a domain, what the registered providers of
        subscriptions held elsewhere read (held_elsewhere_register: one query while a vendor connector is on)."""
        orders = list(orders)
        company_ids = {order.company_id for order in orders}
        services = [order.service for order in orders if order.service_id]
        prefetch_related_objects(services, "dependencies")
        facts = cls(day=day, book=price_book(company_ids=company_ids, service_ids={s.pk for s in services}, day=day))
        live = (
            Subscription.objects.live()
            .filter(company_id__in=company_ids)
            .order_by("name", "id")
            .values_list("company_id", "service_id", "account_id", "service__code", "name", "attributes")
        )
        for company_id, service_id, account_id, code, name, attributes in live:
            facts._add(company_id, CompanySubscriptionInfo(account_id, code, name, attributes, service_id))
        # One more query, only when an order asks for a domain: whoever holds it, on any account
        # (terminated subscriptions too: the domain is not released).
        requested = {domain for order in orders if (domain := facts.requested_domain(order))}
        if requested:
            facts.taken_domains = set(
                Subscription.objects.filter(tenant_domain__in=requested).values_list("tenant_domain", flat=True)
            )
        # Subscriptions on their way (an order with the vendor) count as held: a second order of a
        # once-per-account service, or of the same new tenant domain, is refused meanwhile. Asked only
        # when an order could be refused for it (check_not_duplicate, check_domain_available), and only
        # the service set and the domains: the integration's own list (`held`) is what exists already.
        once = {order.company_id for order in orders if order.service_id and order.service.once_per_account}
        if _held_elsewhere and (once or requested):
            for provider in _held_elsewhere.values():
                for held in provider(once, requested):
                    facts.held_services[held.company_id].add(held.service_id)
                    if held.domain and held.domain in requested:
                        facts.taken_domains.add(held.domain)
        return facts

    def _add(self, company_id: int, info: CompanySubscriptionInfo) -> None:
        self.held[company_id].append(info)
        self.held_services[company_id].add(info.service_id)

    def hold(self, subscription: Subscription) -> None:
        """Record a subscription just created, so later orders of the same batch see it (e.g. a
        tenant created for a Premium scheduled after it)."""
        self._add(subscription.company_id, subscription_info(subscription))
        if subscription.tenant_domain:
            self.taken_domains.add(subscription.tenant_domain)

    def requested_domain(self, order: Order) -> str | None:
        """The platform-unique domain the order would create (e.g. x.onmicrosoft.com), or None."""
        if not order.service_id:
            return None
        return get_integration(order.service.vendor.integration).claimed_domain(self.integration_context(order))

    def price_item(self, order: Order) -> PriceListItem | None:
        """The price in force on the day for the order's service and billing type."""
        if not order.service_id:
            return None
        return self.book.item(order.company_id, order.service_id, order.billing_frequency, order.term)

    def integration_context(self, order: Order, *, config: dict | None = None) -> IntegrationContext:
        """What the vendor integration needs to build its fields, run its checks or provision."""
        return IntegrationContext(
            company=order.company,
            config=order.vendor_config if config is None else config,
            # The list itself, not a copy: integrations only read it, and a batch asks once per order.
            subscriptions=self.held[order.company_id],
            service_options=order.service.integration_options if order.service_id else {},
        )
