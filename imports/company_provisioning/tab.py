"""The company page's PROVISIONING tab: the company's link with its vendors and its vendor requests.

The link comes from the company's tenant subscriptions (orders.selectors.tenant_subscriptions_of: the
Microsoft customer id is the tenant id the subscription holds, its domain, and the vendor's subscription
id and last status when the vendor provisioned it). The requests are catalog.models.VendorCall, the
connector's record of every call made for the company (catalog.integrations.calls.calls_for), newest
first, a page at a time.
"""

from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.company_page import ProvisioningTab, VendorCallLine, VendorLink, VendorSubscriptionLine
from accounts.models import Company
from catalog.integrations.circuit import circuits_open
from catalog.integrations.microsoft import DOMAIN_ATTRIBUTE, TENANT_ATTRIBUTE
from catalog.models import Vendor, VendorCall
from core.datetimes import utc_text
from orders.selectors import tenant_subscriptions_of

CALLS_PAGE_SIZE = 20
# The link's status: what Microsoft last said of the tenant when the portal asked (the vendor check's
# GET /v1/customers/{id}), else that it was given by the reseller and never asked about yet.
LINK_CONFIRMED = _("Confirmed by the vendor")
LINK_NOT_FOUND = _("Not found at the vendor")
LINK_LOCAL = _("Linked (not checked with the vendor yet)")

# A vendor whose circuit is open (catalog.integrations.circuit).
VENDOR_DOWN = _(
    "%(vendor)s is unavailable since %(since)s: orders for it wait, and one at a time is tried to see whether it is back."
)

CALL_FIELDS = ("id", "at", "operation", "outcome", "status_code", "correlation_id")


def _link_status(company: Company, customer_id: str) -> str:
    last = (
        VendorCall.objects.filter(company=company, operation="customer_get", path=f"/v1/customers/{customer_id}")
        .exclude(outcome__in=[VendorCall.Outcome.TRANSIENT, VendorCall.Outcome.UNKNOWN])
        .order_by("-at", "-id")
        .values_list("outcome", flat=True)
        .first()
    )
    if last == VendorCall.Outcome.DONE:
        return str(LINK_CONFIRMED)
    if last == VendorCall.Outcome.REFUSED:
        return str(LINK_NOT_FOUND)
    return str(LINK_LOCAL)


def vendor_links(company: Company) -> tuple[list[VendorLink], list[VendorSubscriptionLine]]:
    """One link per customer tenant the company's subscriptions name (its domain and page from the
    subscription that holds the tenant, when there is one), and the subscriptions the vendor provisioned."""
    tenants: dict[str, dict] = {}
    provisioned = []
    for subscription in tenant_subscriptions_of(company):
        attributes = subscription.attributes or {}
        customer_id = str(attributes.get(TENANT_ATTRIBUTE, "")).lower()
        url = reverse("orders:subscription_detail", kwargs={"account_id": subscription.account_id})
        tenant = tenants.setdefault(customer_id, {"vendor": subscription.service.vendor.name, "domain": "", "url": ""})
        domain = str(attributes.get(DOMAIN_ATTRIBUTE) or subscription.tenant_domain or "")
        if domain and not tenant["domain"]:
            tenant.update(domain=domain, url=url)
        if subscription.vendor_subscription_id:
            provisioned.append(VendorSubscriptionLine(
                name=subscription.display_name, url=url, vendor_subscription_id=subscription.vendor_subscription_id,
                vendor_order_id=subscription.vendor_order_id, vendor_status=subscription.vendor_status,
            ))
    links = [
        VendorLink(vendor=tenant["vendor"], customer_id=customer_id, domain=tenant["domain"], url=tenant["url"],
                   status=_link_status(company, customer_id))
        for customer_id, tenant in tenants.items() if customer_id
    ]
    return links, provisioned


def vendor_calls_page(company: Company, page: str | None):
    """The company's vendor calls, newest first, as a page of VendorCallLine (a page number that is not
    one gives the first or last page, never an error)."""
    calls = VendorCall.objects.filter(company=company).only(*CALL_FIELDS).order_by("-at", "-id")
    page_obj = Paginator(calls, CALLS_PAGE_SIZE).get_page(page)
    results = dict(VendorCall.Outcome.choices)
    page_obj.object_list = [
        VendorCallLine(
            at=call.at,
            operation=call.operation,
            result=str(results.get(call.outcome, call.outcome)),
            outcome=call.outcome,
            status_code=call.status_code,
            correlation_id=call.correlation_id,
        )
        for call in page_obj.object_list
    ]
    return page_obj


def vendors_down() -> list[str]:
    """What the tab says of each vendor marked down by its circuit (none while they answer)."""
    down = circuits_open()
    if not down:
        return []
    names = dict(Vendor.objects.exclude(integration="").values_list("integration", "name"))
    return [
        str(VENDOR_DOWN % {"vendor": names.get(c.integration, c.integration), "since": utc_text(c.opened_at)}) for c in down
    ]


def provisioning_tab(company: Company, page: str | None) -> ProvisioningTab:
    links, subscriptions = vendor_links(company)
    return ProvisioningTab(
        links=links, subscriptions=subscriptions, calls_page=vendor_calls_page(company, page), notices=vendors_down()
    )


