from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms

from accounts.models import Company


@dataclass(frozen=True)
class CompanySubscriptionInfo:
    """What an integration may know about one of the company's existing subscriptions."""

    account_id: int
    service_code: str
    name: str
    attributes: dict = field(default_factory=dict)
    service_id: int | None = None


@dataclass(frozen=True)
class IntegrationContext:
    company: Company
    config: dict[str, Any]  # the vendor fields of the order, as cleaned by the configuration form
    subscriptions: Sequence[CompanySubscriptionInfo] = ()
    # Service.integration_options of the ordered service, e.g. {"creates_tenant": true}.
    service_options: dict[str, Any] = field(default_factory=dict)


# A due-time check returns None when it passes, or the user-facing reason it failed, as stored text
# (core.stored_messages.stored): the worker writes it on the import row, the reader sees it translated.
DueTimeCheck = Callable[[IntegrationContext], str | None]


@dataclass(frozen=True)
class VendorWait:
    """The vendor could not answer (unreachable, 5xx, 429, no answer): not a verdict on the order. The
    worker waits and asks again (after `retry_after` seconds when the vendor said so); a pre-check says
    it could not ask."""

    reason: str
    retry_after: float | None = None


class VendorProvisioning:
    """How a vendor with a connector provisions an order (imports.vendor.place places it): which operation,
    on which vendor customer, with what. Microsoft's is catalog.integrations.microsoft_orders."""

    CART = "cart"  # a subscription on an existing customer: a cart, then its checkout
    CUSTOMER = "customer"  # a new customer tenant

    def operation(self, order) -> str:
        return self.CART

    def customer_id(self, order) -> str:
        """The vendor customer the order is for ("" for a new customer)."""
        return ""

    def cart_line_items(self, order) -> list:
        raise NotImplementedError

    def new_customer(self, order, domain: str):
        """The new customer to create for the order, with the platform-unique `domain` it claims."""
        raise NotImplementedError


class VendorIntegration:
    key: str = ""

    def form_fields(self, context: IntegrationContext) -> dict[str, forms.Field]:
        """Extra configuration fields, in display order, with their initial values set."""
        return {}

    def due_time_checks(self) -> Sequence[DueTimeCheck]:
        return ()

    def subscription_attributes(self, context: IntegrationContext) -> dict[str, Any]:
        """Attributes stored on the subscription this order creates (e.g. a new tenant's id)."""
        return {}

    def subscription_display_name(self, name: str, attributes: dict[str, Any]) -> str:
        return name

    def claimed_domain(self, context: IntegrationContext) -> str | None:
        """The platform-wide unique domain the order would create (lower case), e.g. a Microsoft
        tenant's <domain>.onmicrosoft.com; None when it creates none or the field is not valid."""
        return None

    def connector(self):
        """The vendor's API client (one per process), or None when the vendor has none: orders of its
        services are provisioned locally. Microsoft: catalog.integrations.partner_center."""
        return None

    def provisioning(self) -> VendorProvisioning | None:
        """How the vendor provisions orders through its connector (see VendorProvisioning), or None: the
        vendor has no connector and orders are provisioned locally."""
        return None

    def vendor_checks(self, context: IntegrationContext) -> list[str] | VendorWait:
        """The fifth due-time check's remote half, asked of the vendor's API (e.g. the tenant exists at
        Microsoft and is this company's; a new tenant's domain is free): [] when it passes or the vendor
        has no connector, the reasons (stored text) when it fails, VendorWait when the vendor could not
        say. Called outside any transaction: at the pre-check (wizard, API, bulk lines) and by the worker
        before it places the order."""
        return []

    def run_checks(self, context: IntegrationContext) -> list[str]:
        return [reason for check in self.due_time_checks() if (reason := check(context))]


_registry: dict[str, VendorIntegration] = {}
_no_integration = VendorIntegration()


def register(integration_class: type[VendorIntegration]) -> type[VendorIntegration]:
    _registry[integration_class.key] = integration_class()
    return integration_class


def get_integration(key: str) -> VendorIntegration:
    """The integration for a vendor's key; vendors without one get a no-op integration."""
    return _registry.get(key or "", _no_integration)


def registered_keys() -> list[str]:
    return sorted(_registry)
