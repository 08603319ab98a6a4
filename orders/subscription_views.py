"""The subscription page: what a subscription is, as captured when it was created, and its current term;
SYNC WITH MICROSOFT (a POST) asks the vendor again for a subscription it provisioned."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from accounts.selectors import company_breadcrumb
from catalog.billing import billing_type_label
from core.clock import db_now
from core.stored_messages import rendered

from .changes.describe import change_text
from .models import SubscriptionChange
from .selectors import subscription_for_user
from .subscription_page import import_link, sections
from .sync import is_vendor_subscription, subscription_sync
from .terms import in_cancellation_window
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
        # Sections other rooms add (e.g. scheduled changes: imports.changes.page).
        "sections": sections(request, subscription),
        "order": order,
        # The order's configuration as the manual's Configuration names it.
        "tenant_id": (subscription.attributes or {}).get("tenant_id") or vendor_config.get("microsoft_tenant_id", ""),
        "mpn_id": vendor_config.get("mpn_id", ""),
        # Past changes, the pending ones and the next renewal at the price it will renew at (orders.timeline).
        "timeline": subscription_timeline(subscription),
        # The term (issue 27): the window's end, or "closed"; the SYNC button only for what the vendor holds.
        # Whether the window is still open is the database clock's to say (core.clock), as at the due time.
        "window_open": in_cancellation_window(subscription, db_now()),
        "can_sync": is_vendor_subscription(subscription),
        # Changes the vendor lost (a mid-term change made elsewhere wiped them), with why: never silently.
        "wiped_changes": [
            (change_text(change), rendered(change.reason))
            for change in subscription.changes.filter(status=SubscriptionChange.Status.WIPED).order_by("-id")[:5]
        ],
    }
    return render(request, "orders/subscription_detail.html", context)


@login_required
@require_POST
def subscription_sync_now(request, account_id):
    """SYNC WITH MICROSOFT: one sync of the subscription with its vendor, now (orders.sync); what it found, or
    why it could not ask, is said on the page."""
    subscription = subscription_for_user(request.user, account_id=account_id)
    if not is_vendor_subscription(subscription):
        raise Http404
    result = subscription_sync(subscription.pk)
    (messages.success if result.ok else messages.error)(request, rendered(result.message))
    return redirect("orders:subscription_detail", account_id=subscription.account_id)
