"""The subscription page: what a subscription is, as captured when it was created. Read-only."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.selectors import company_breadcrumb
from catalog.billing import billing_type_label

from .selectors import subscription_for_user
from .subscription_page import import_link
from .timeline import subscription_timeline


@login_required
@require_safe
def subscription_detail(request, account_id):
    subscription = subscription_for_user(request.user, account_id=account_id)
    company = subscription.company
    order = subscription.order
    vendor_config = order.vendor_config if order else {}
    context = {
        "subscription": subscription,
        "company": company,
        "breadcrumb": company_breadcrumb(request.user, company) + [(company, True)],
        "billing_type": billing_type_label(subscription.billing_frequency, subscription.term)
        if subscription.term and subscription.billing_frequency
        else "",
        "import_link": import_link(subscription),
        "order": order,
        # The order's configuration as the manual's Configuration names it.
        "tenant_id": (subscription.attributes or {}).get("tenant_id") or vendor_config.get("microsoft_tenant_id", ""),
        "mpn_id": vendor_config.get("mpn_id", ""),
        # Past changes, the pending ones and the next renewal at the price it will renew at (orders.timeline).
        "timeline": subscription_timeline(subscription),
    }
    return render(request, "orders/subscription_detail.html", context)
