"""Contribution points of the company page and the global search.

Why this registry exists: the company page and the search belong to accounts (that is where a newcomer
looks for them), yet they show subscriptions (orders) and prices (catalog). Dependencies point one way,
`imports → orders → catalog → accounts`, so accounts may not import those apps. Instead accounts names
the places where a higher app may add to its pages, and the higher app registers what it adds from its
`AppConfig.ready()` (see `orders/apps.py`). Accounts never learns who contributes; a project without
orders still renders the pages, with no subscriptions and no services.

The hook points:
- structure items: entries of the COMPANY STRUCTURE sidebar below the child companies, filtered by the
  sidebar's search box (any number of contributors, shown in registration order);
- the service offer: the AVAILABLE SERVICES tab and whether NEW SERVICE can be offered (one contributor:
  two apps deciding what a company may buy would be two homes for one rule);
- search groups: result tables of the global search after the companies (any number of contributors);
- the subscriptions table: the BILLING tab and the subscriptions of EXPORT (one contributor: the app that
  owns subscriptions);
- + NEW: where a new customer company or user of a company is typed (one contributor: the app that holds
  the bulk import's checks of company and user lines, so that both refuse the same values);
- the PROVISIONING tab: the company's link with its vendors and its vendor calls, paged (one contributor:
  the app that sends orders to vendors);
- RECREATE PROVISIONING: the address of the action bar's button, or "" when there is nothing it could
  re-send (one contributor, the same app);
- TERMINATE: reasons a company may not be terminated yet (e.g. live subscriptions), and what a higher app
  ends with it (e.g. its Pending import jobs), run inside the termination's transaction.

Contributions hand over plain data (labels, formatted amounts, URLs); accounts' templates render it.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Page

from accounts.models import Company, User


@dataclass(frozen=True)
class StructureItem:
    """One line of the COMPANY STRUCTURE sidebar below the child companies."""

    label: str
    css_class: str
    # The item's own page (e.g. a subscription's), linked from the sidebar when set.
    url: str = ""
    # What tells it apart from another item with the same label (e.g. "Account Id 900123"), shown after it.
    detail: str = ""


@dataclass(frozen=True)
class ServiceRow:
    """One row of the AVAILABLE SERVICES tab (the price is shown by the `amount` filter, core.amounts)."""

    name: str
    code: str
    billing_type: str
    selling_price: Decimal
    currency: str


def _no_rows() -> list[ServiceRow]:
    return []


@dataclass(frozen=True)
class ServiceOffer:
    """What a company may buy: the AVAILABLE SERVICES tab and the NEW SERVICE button.

    `rows` is called only when the tab is shown, so the other tabs do not pay for reading prices.
    `price_list_name` is None when the company has no price list (the tab says so).
    """

    price_list_name: str | None = None
    can_order: bool = False
    order_url: str = ""
    rows: Callable[[], Sequence[ServiceRow]] = _no_rows


@dataclass(frozen=True)
class Cell:
    """A cell of a search result table; linked when `url` is set."""

    text: str
    url: str = ""


@dataclass(frozen=True)
class SearchGroup:
    """A result table of the global search. `key` names its CSS class (acc-results-<key>)."""

    key: str
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)
    # More rows matched than the limit the search asked for (the page then says "type more").
    more: bool = False


@dataclass(frozen=True)
class CompanyTable:
    """A titled table of plain values (already formatted), shown on a tab and written to EXPORT."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]] = field(default_factory=list)
    # Totals below the table on the page (e.g. "Total (Monthly) USD 12.04"); not exported.
    totals: Sequence[str] = field(default_factory=list)


@dataclass(frozen=True)
class VendorLink:
    """The company's link with a vendor: one customer tenant (the PROVISIONING tab's first table)."""

    vendor: str
    customer_id: str
    domain: str
    status: str
    # The subscription that holds the tenant (its page), when the company holds one.
    url: str = ""


@dataclass(frozen=True)
class VendorSubscriptionLine:
    """A subscription the vendor provisioned: the vendor's ids and last status (the tab's second table)."""

    name: str
    url: str
    vendor_subscription_id: str
    vendor_order_id: str
    vendor_status: str


@dataclass(frozen=True)
class VendorCallLine:
    """One vendor call of the company, as the PROVISIONING tab lists it (newest first)."""

    at: dt.datetime
    operation: str
    result: str
    # The result's key (done, refused, transient, unknown): its badge's CSS class.
    outcome: str
    status_code: int | None
    correlation_id: str


@dataclass(frozen=True)
class ProvisioningTab:
    """What the PROVISIONING tab shows: `calls_page` is a django Page of VendorCallLine (the portal's pager)."""

    links: Sequence[VendorLink] = ()
    subscriptions: Sequence[VendorSubscriptionLine] = ()
    calls_page: Page | None = None
    # Said above the tab's tables, e.g. that a vendor is unavailable and its orders are parked.
    notices: Sequence[str] = ()


StructureProvider = Callable[[Company, str], Sequence[StructureItem]]
ServiceOfferProvider = Callable[[Company], ServiceOffer]
# (user, query, limit): at most `limit` rows, `more` set when there were more.
SearchProvider = Callable[[User, str, int], SearchGroup | None]

_structure_providers: list[StructureProvider] = []
_search_providers: list[SearchProvider] = []
_service_offer_provider: ServiceOfferProvider | None = None
_subscription_table_provider: Callable[[Company], CompanyTable] | None = None
_new_account_provider: Callable[[User, Company], str] | None = None
# (company) -> why it may not be terminated now, or None.
# (company, page number as asked) -> the PROVISIONING tab's contents.
_provisioning_tab_provider: Callable[[Company, str | None], ProvisioningTab] | None = None
# (user, company) -> the address RECREATE PROVISIONING posts to, or "" when it is not offered.
_recreate_provisioning_provider: Callable[[User, Company], str] | None = None
_termination_checks: list[Callable[[Company], str | None]] = []
# (actor, company) -> a line for the reseller saying what was ended with it, or None.
_termination_handlers: list[Callable[[User, Company], str | None]] = []


def _register_one(current, provider, what: str):
    if current is not None and current is not provider:
        raise ImproperlyConfigured(f"Only one app may provide {what}.")
    return provider


def register_structure_items(provider: StructureProvider) -> None:
    # Registering twice (ready() run again by a test runner) must not show the items twice.
    if provider not in _structure_providers:
        _structure_providers.append(provider)


def register_search_group(provider: SearchProvider) -> None:
    if provider not in _search_providers:
        _search_providers.append(provider)


def register_service_offer(provider: ServiceOfferProvider) -> None:
    global _service_offer_provider
    if _service_offer_provider is not None and _service_offer_provider is not provider:
        raise ImproperlyConfigured("Only one app may decide which services a company can order.")
    _service_offer_provider = provider


def register_subscription_table(provider: Callable[[Company], CompanyTable]) -> None:
    global _subscription_table_provider
    _subscription_table_provider = _register_one(_subscription_table_provider, provider, "the subscriptions table")


def register_new_account(provider: Callable[[User, Company], str]) -> None:
    """`provider(user, company)`: the address of + NEW for this company, or "" when it cannot be offered."""
    global _new_account_provider
    _new_account_provider = _register_one(_new_account_provider, provider, "+ NEW")


def register_provisioning_tab(provider: Callable[[Company, str | None], ProvisioningTab]) -> None:
    global _provisioning_tab_provider
    _provisioning_tab_provider = _register_one(_provisioning_tab_provider, provider, "the PROVISIONING tab")


def register_recreate_provisioning(provider: Callable[[User, Company], str]) -> None:
    global _recreate_provisioning_provider
    _recreate_provisioning_provider = _register_one(_recreate_provisioning_provider, provider, "RECREATE PROVISIONING")


def provisioning_tab(company: Company, *, page: str | None = None) -> ProvisioningTab | None:
    return _provisioning_tab_provider(company, page) if _provisioning_tab_provider else None


def recreate_provisioning_url(user: User, company: Company) -> str:
    return _recreate_provisioning_provider(user, company) if _recreate_provisioning_provider else ""


def register_termination_check(check: Callable[[Company], str | None]) -> None:
    if check not in _termination_checks:
        _termination_checks.append(check)


def register_termination_handler(handler: Callable[[User, Company], str | None]) -> None:
    if handler not in _termination_handlers:
        _termination_handlers.append(handler)


def subscription_table(company: Company) -> CompanyTable | None:
    return _subscription_table_provider(company) if _subscription_table_provider else None


def new_account_url(user: User, company: Company) -> str:
    return _new_account_provider(user, company) if _new_account_provider else ""


def termination_refusals(company: Company) -> list[str]:
    return [reason for check in _termination_checks if (reason := check(company))]


def termination_handlers_run(actor: User, company: Company) -> list[str]:
    """Run by accounts' company_terminate inside its transaction (a handler failing undoes it all)."""
    return [note for handler in _termination_handlers if (note := handler(actor, company))]


def structure_items(company: Company, *, query: str = "") -> list[StructureItem]:
    return [item for provider in _structure_providers for item in provider(company, query)]


def service_offer(company: Company) -> ServiceOffer:
    if _service_offer_provider is None:
        return ServiceOffer()
    return _service_offer_provider(company)


def search_groups(user: User, query: str, *, limit: int) -> list[SearchGroup]:
    """The contributed result tables that found something, in registration order."""
    groups = (provider(user, query, limit) for provider in _search_providers)
    return [group for group in groups if group is not None and group.rows]
