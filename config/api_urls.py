"""/api/v1/ (the resources, from each app's api.py), /api/schema/ and /api/docs/."""

from django.http import JsonResponse
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import CompanyDetail, CompanyList
from imports.api.changes import SubscriptionChangeCancel, SubscriptionChangeList, SubscriptionChangeReschedule
from imports.api.views import ImportCancel, ImportDetail, ImportList, ImportReschedule, ScheduledProvisioningCreate
from imports.upcoming.api import UpcomingList
from orders.api import CompanyServiceList, SubscriptionDetail, SubscriptionList

from core.api.errors import NOT_FOUND, error_body


def not_found(request, *args, **kwargs):
    """Any other address under /api/v1/: a JSON 404 like the API's own, not the portal's HTML page.
    (A plain view, so the schema does not list it.)"""
    return JsonResponse(error_body(NOT_FOUND), status=404)


v1 = [
    path("companies/", CompanyList.as_view(), name="companies"),
    path("companies/<int:account_id>/", CompanyDetail.as_view(), name="company"),
    path("companies/<int:account_id>/services/", CompanyServiceList.as_view(), name="company_services"),
    path(
        "companies/<int:account_id>/scheduled-provisionings/",
        ScheduledProvisioningCreate.as_view(),
        name="scheduled_provisionings",
    ),
    path("imports/", ImportList.as_view(), name="imports"),
    path("imports/<int:job_id>/", ImportDetail.as_view(), name="import"),
    path("imports/<int:job_id>/cancel/", ImportCancel.as_view(), name="import_cancel"),
    path("imports/<int:job_id>/reschedule/", ImportReschedule.as_view(), name="import_reschedule"),
    path("subscriptions/", SubscriptionList.as_view(), name="subscriptions"),
    path("subscriptions/<int:account_id>/", SubscriptionDetail.as_view(), name="subscription"),
    # The Upcoming view (Orders > Upcoming) with the page's filters.
    path("upcoming/", UpcomingList.as_view(), name="upcoming"),
    # Scheduled changes (issue 27): schedule and list; cancel and reschedule here or on their import job.
    path("subscriptions/<int:account_id>/changes/", SubscriptionChangeList.as_view(), name="subscription_changes"),
    path(
        "subscriptions/<int:account_id>/changes/<int:change_id>/cancel/", SubscriptionChangeCancel.as_view(),
        name="subscription_change_cancel",
    ),
    path(
        "subscriptions/<int:account_id>/changes/<int:change_id>/reschedule/", SubscriptionChangeReschedule.as_view(),
        name="subscription_change_reschedule",
    ),
    # Only addresses ending in "/": without it, APPEND_SLASH still redirects to the right one.
    re_path(r"^.*/$", not_found),
]

# The schema and its reference are public (they describe, they hold no data); the reference's
# assets are drf-spectacular-sidecar's static files, served like every other static file.
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    # The split view serves its init script from docs/?script instead of inline, and the template has no
    # inline style: the page needs no 'unsafe-inline' in its Content-Security-Policy (core/csp.py).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema",
            template_name="api/swagger_ui.html",
            authentication_classes=[],
            permission_classes=[],
        ),
        name="docs",
    ),
]
