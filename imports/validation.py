"""orders.validation.validate_order for a whole batch of orders, reading the data once.

validate_order is the reference: it reads the company's price list, the price item, the
terms acceptance and the company's subscriptions with a few queries per order, which is
right for the wizard's pre-check but would be most of the cost of a dispatch pass of ten
thousand jobs. BatchValidator runs the same checks, in the same order and with the same
messages, over data read once per batch:

- the checks that need no query (parent account active, quantity limit) are the very
  functions of orders.validation;
- the vendor-integration checks are the integration's own run_checks, given a context built
  from the prefetched subscriptions;
- the three checks that query (service accessible, not a duplicate, dependencies present)
  are mirrored here over the prefetched data;
- any other check that orders.validation.CHECKS gains later runs as it is (with its queries),
  so nothing is ever skipped.

tests/imports/test_batch_validation.py proves, check by check, that BatchValidator and
validate_order give the same reasons.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from catalog.billing import billing_type_label
from catalog.integrations import CompanySubscriptionInfo, IntegrationContext, get_integration
from catalog.models import PriceList, PriceListAssignment, PriceListItem, TermsAcceptance
from orders import validation as order_validation
from orders.models import Order, Subscription


@dataclass
class BatchData:
    """Everything the checks and the provisioning of a batch read, fetched once."""

    day: dt.date
    price_list_of_company: dict[int, PriceList]
    items_in_force: dict[tuple[int, int, str, str], PriceListItem]
    services_on_price_list: set[tuple[int, int]]
    acceptances: set[tuple[int, int, int]]
    # Per company: the service ids and the integration's view of its live subscriptions.
    held_services: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    held_infos: dict[int, list[CompanySubscriptionInfo]] = field(default_factory=lambda: defaultdict(list))
    _contexts: dict[int, tuple[CompanySubscriptionInfo, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, orders: Iterable[Order], *, day: dt.date) -> "BatchData":
        orders = list(orders)
        company_ids = {order.company_id for order in orders}
        price_list_of_company = {
            a.company_id: a.price_list
            for a in PriceListAssignment.objects.filter(company_id__in=company_ids).select_related("price_list")
        }
        price_list_ids = {pl.pk for pl in price_list_of_company.values()}
        service_ids = {order.service_id for order in orders}
        items = PriceListItem.objects.filter(price_list_id__in=price_list_ids, service_id__in=service_ids).order_by(
            "-effective_from", "-id"
        )
        items_in_force: dict[tuple[int, int, str, str], PriceListItem] = {}
        services_on_price_list: set[tuple[int, int]] = set()
        for item in items:
            services_on_price_list.add((item.price_list_id, item.service_id))
            if item.effective_from <= day:  # the latest item effective on or before the day
                items_in_force.setdefault((item.price_list_id, item.service_id, item.billing_frequency, item.term), item)
        acceptances = set(
            TermsAcceptance.objects.filter(price_list_id__in=price_list_ids, service_id__in=service_ids).values_list(
                "price_list_id", "service_id", "terms_id"
            )
        )
        data = cls(day, price_list_of_company, items_in_force, services_on_price_list, acceptances)
        # The same set as orders.selectors.subscriptions_of (terminated ones do not count), as
        # plain values: a company may hold many subscriptions and only these fields are read.
        live = (
            Subscription.objects.filter(company_id__in=company_ids)
            .exclude(status=Subscription.Status.TERMINATED)
            .order_by("name", "id")
            .values_list("company_id", "service_id", "account_id", "service__code", "name", "attributes")
        )
        for company_id, service_id, account_id, code, name, attributes in live:
            data._hold(company_id, service_id, CompanySubscriptionInfo(account_id, code, name, attributes))
        return data

    def _hold(self, company_id: int, service_id: int, info: CompanySubscriptionInfo) -> None:
        self.held_services[company_id].add(service_id)
        self.held_infos[company_id].append(info)
        self._contexts.pop(company_id, None)

    def hold(self, subscription: Subscription) -> None:
        """Record a subscription the batch has just created, so the checks of later orders of
        the batch see it (e.g. a tenant created for a Premium scheduled after it)."""
        info = CompanySubscriptionInfo(
            subscription.account_id, subscription.service.code, subscription.name, subscription.attributes
        )
        self._hold(subscription.company_id, subscription.service_id, info)

    def price_item(self, order: Order) -> PriceListItem | None:
        price_list = self.price_list_of_company.get(order.company_id)
        if price_list is None:
            return None
        return self.items_in_force.get((price_list.pk, order.service_id, order.billing_frequency, order.term))

    def integration_context(self, order: Order) -> IntegrationContext:
        """orders.selectors.integration_context_for, from the prefetched subscriptions."""
        subscriptions = self._contexts.get(order.company_id)
        if subscriptions is None:
            subscriptions = self._contexts[order.company_id] = tuple(self.held_infos[order.company_id])
        return IntegrationContext(
            company=order.company,
            config=order.vendor_config,
            subscriptions=subscriptions,
            service_options=order.service.integration_options if order.service_id else {},
        )


# Checks of orders.validation that read only the order and its related objects.
QUERYLESS_CHECKS = frozenset({order_validation.check_parent_account_active, order_validation.check_quantity_limit})


class BatchValidator:
    def __init__(self, data: BatchData):
        self.data = data
        self._mirrors = {
            order_validation.check_service_accessible: self.check_service_accessible,
            order_validation.check_not_duplicate: self.check_not_duplicate,
            order_validation.check_dependencies_present: self.check_dependencies_present,
        }
        # True when a check of orders.validation has no mirror here and reads the database
        # itself: the batch must then write each subscription at once so that check sees it.
        self.reads_database = any(
            check not in self._mirrors and check not in QUERYLESS_CHECKS for check in order_validation.CHECKS[1:]
        )

    def validate(self, order: Order) -> list[str]:
        """What validate_order(order, day=data.day) returns; see the module docstring."""
        day = self.data.day
        inactive = order_validation.check_parent_account_active(order, day)
        if inactive:
            return [inactive]
        reasons = []
        for check in order_validation.CHECKS[1:]:
            mirror = self._mirrors.get(check)
            reason = mirror(order) if mirror else check(order, day)
            if reason:
                reasons.append(reason)
        integration = get_integration(order.service.vendor.integration)
        reasons += integration.run_checks(self.data.integration_context(order))
        return reasons

    # Mirrors of the checks of orders.validation that query the database.

    def check_service_accessible(self, order: Order) -> str | None:
        service, company = order.service, order.company
        if not service.active:
            return str(order_validation.SERVICE_INACTIVE % {"service": service.name})
        price_list = self.data.price_list_of_company.get(company.pk)
        if price_list is None or self.data.price_item(order) is None:
            if price_list is not None and (price_list.pk, service.pk) in self.data.services_on_price_list:
                return str(
                    order_validation.NO_PRICE_ON_DAY
                    % {
                        "service": service.name,
                        "billing_type": billing_type_label(order.billing_frequency, order.term),
                        "day": self.data.day,
                    }
                )
            return str(order_validation.SERVICE_NOT_ON_PRICE_LIST % {"service": service.name, "company": company.name})
        if service.terms_id is not None and (price_list.pk, service.pk, service.terms_id) not in self.data.acceptances:
            return str(order_validation.TERMS_NOT_ACCEPTED % {"service": service.name, "price_list": price_list.name})
        return None

    def check_not_duplicate(self, order: Order) -> str | None:
        service = order.service
        if service.once_per_account and service.pk in self.data.held_services[order.company_id]:
            return str(order_validation.DUPLICATE_SERVICE % {"company": order.company.name, "service": service.name})
        return None

    def check_dependencies_present(self, order: Order) -> str | None:
        required = list(order.service.dependencies.all())
        if not required:
            return None
        held = self.data.held_services[order.company_id]
        if not any(dep.pk in held for dep in required):
            return str(
                order_validation.REQUIRED_SUBSCRIPTION_MISSING
                % {
                    "service": order.service.name,
                    "required": " / ".join(dep.name for dep in required),
                    "company": order.company.name,
                }
            )
        return None
