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

from accounts.company_page import ProvisioningTab, VendorCallLine, VendorLink
from accounts.models import Company
from catalog.integrations.microsoft import DOMAIN_ATTRIBUTE, TENANT_ATTRIBUTE
from catalog.models import VendorCall
from orders.selectors import tenant_subscriptions_of

CALLS_PAGE_SIZE = 20
# A tenant the vendor never provisioned through the portal (created before the connector, or with Send
# to backend off): the link is the tenant id the reseller gave.
LINK_LOCAL = _("Linked (not provisioned through the vendor)")

CALL_FIELDS = ("id", "at", "operation", "outcome", "status_code", "correlation_id")


def vendor_links(company: Company) -> list[VendorLink]:
    links = []
    for subscription in tenant_subscriptions_of(company):
        attributes = subscription.attributes or {}
        links.append(
            VendorLink(
                vendor=subscription.service.vendor.name,
                customer_id=str(attributes.get(TENANT_ATTRIBUTE, "")),
                domain=str(attributes.get(DOMAIN_ATTRIBUTE) or subscription.tenant_domain or ""),
                status=subscription.vendor_status or str(LINK_LOCAL),
                subscription_id=subscription.vendor_subscription_id,
                url=reverse("orders:subscription_detail", kwargs={"account_id": subscription.account_id}),
            )
        )
    return links


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


def provisioning_tab(company: Company, page: str | None) -> ProvisioningTab:
    return ProvisioningTab(links=vendor_links(company), calls_page=vendor_calls_page(company, page))


