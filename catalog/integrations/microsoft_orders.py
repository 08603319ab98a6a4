"""Microsoft's provisioning: what the vendor sender (imports.vendor.place) asks Partner Center for an order.

- A subscription on an existing customer tenant is a cart of one line item, then its checkout
  (https://learn.microsoft.com/en-us/partner-center/developer/create-a-cart): the line item's catalog
  item id, quantity, billing cycle and term duration come from the order and its service.
- A new customer tenant (a service with integration option {"creates_tenant": true}) is
  POST /v1/customers with its <domain>.onmicrosoft.com and the company's billing profile
  (https://learn.microsoft.com/en-us/partner-center/developer/create-a-customer).

The catalog item id: the service's integration option "catalog_item_id" when staff set it (Microsoft's
"<productId>:<skuId>:<availabilityId>"); otherwise a stable id derived from the service code,
"ICP-<code>", which the sandbox accepts (it takes any non-empty id) and production must replace by
setting the option on each Microsoft service.

Orders and companies are read duck-typed (catalog cannot import orders): order.quantity, .term,
.billing_frequency, .vendor_config, .service, .company.
"""

from .base import VendorProvisioning
from .partner_center.resources import CartLineItem, NewCustomer

CATALOG_ITEM_OPTION = "catalog_item_id"
DERIVED_CATALOG_ITEM_PREFIX = "ICP-"
# Our billing frequencies are Partner Center's billing cycles by name (catalog.models.BillingFrequency).
BILLING_CYCLES = {"monthly": "monthly", "annual": "annual", "triennial": "triennial"}
# Our terms are ISO 8601 durations already (catalog.models.Term: P1M, P1Y, P3Y), as Partner Center's termDuration.
TERM_DURATIONS = {"P1M": "P1M", "P1Y": "P1Y", "P3Y": "P3Y"}
# Country names as the company form stores them → ISO 3166 alpha-2, which Partner Center's address needs.
COUNTRY_CODES = {
    "peru": "PE", "perú": "PE", "mexico": "MX", "méxico": "MX", "colombia": "CO", "chile": "CL",
    "argentina": "AR", "ecuador": "EC", "costa rica": "CR", "guatemala": "GT", "panama": "PA", "panamá": "PA",
    "united states": "US", "usa": "US", "uruguay": "UY", "paraguay": "PY", "bolivia": "BO",
    "dominican republic": "DO", "república dominicana": "DO", "el salvador": "SV", "honduras": "HN",
    "nicaragua": "NI", "jamaica": "JM", "brazil": "BR", "brasil": "BR", "venezuela": "VE",
}
DEFAULT_COUNTRY = "US"


def catalog_item_id(service) -> str:
    """The service's Partner Center catalog item id (see the module's docstring)."""
    configured = str((service.integration_options or {}).get(CATALOG_ITEM_OPTION) or "").strip()
    return configured or f"{DERIVED_CATALOG_ITEM_PREFIX}{service.code}"


def country_code(country: str) -> str:
    text = (country or "").strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRY_CODES.get(text.lower(), DEFAULT_COUNTRY)


class MicrosoftProvisioning(VendorProvisioning):
    def operation(self, order) -> str:
        return self.CUSTOMER if (order.service.integration_options or {}).get("creates_tenant") else self.CART

    def customer_id(self, order) -> str:
        return "" if self.operation(order) == self.CUSTOMER else str(order.vendor_config.get("microsoft_tenant_id") or "").strip().lower()

    def cart_line_items(self, order) -> list[CartLineItem]:
        return [
            CartLineItem(
                catalog_item_id=catalog_item_id(order.service),
                quantity=int(order.quantity),
                billing_cycle=BILLING_CYCLES.get(order.billing_frequency, str(order.billing_frequency)),
                term_duration=TERM_DURATIONS.get(order.term, str(order.term)),
            )
        ]

    def new_customer(self, order, domain: str) -> NewCustomer:
        company = order.company
        return NewCustomer(
            domain=domain,
            company_name=company.name,
            email=company.email or company.technical_contact_email or order.created_by.email,
            country=country_code(company.country),
            city=company.city,
            address_line1=company.address,
            phone_number=company.contact_phone,
        )


PROVISIONING = MicrosoftProvisioning()
