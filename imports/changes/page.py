"""The subscription page's SCHEDULED CHANGES section (orders.subscription_page.register_section,
registered by imports.apps): the open changes with their Cancel, the last ones that failed or were wiped
with their reason, and SCHEDULE A CHANGE (the wizard, imports.changes.views)."""

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from core.stored_messages import rendered
from orders.changes.describe import change_text
from orders.models import Subscription, SubscriptionChange

Status = SubscriptionChange.Status
# Failed or wiped changes shown with their reason (the newest), so none is silently lost.
RECENT_PROBLEMS = 5


def changes_section(request, subscription: Subscription) -> SafeString:
    changes = SubscriptionChange.objects.filter(subscription=subscription).select_related("service")
    open_changes = [
        {"change": change, "text": change_text(change)}
        for change in changes.filter(status__in=SubscriptionChange.OPEN_STATUSES).order_by("due_at", "id")
    ]
    problems = [
        {"change": change, "text": change_text(change), "reason": rendered(change.reason)}
        for change in changes.filter(status__in=[Status.FAILED, Status.WIPED]).order_by("-id")[:RECENT_PROBLEMS]
    ]
    context = {
        "subscription": subscription, "open_changes": open_changes, "problems": problems,
        "can_change": subscription.status == Subscription.Status.ACTIVE,
    }
    return render_to_string("imports/changes/_section.html", context, request=request)
