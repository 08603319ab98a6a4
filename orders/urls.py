from django.urls import path

from . import subscription_views, views

app_name = "orders"
urlpatterns = [
    # POST from the company page's NEW SERVICE button: creates a draft and opens its first step.
    path("new/<int:account_id>/", views.order_new, name="new"),
    # The wizard: one view per step, addressed by the draft's uuid (the QuoteId).
    path("<uuid:order_uuid>/select/", views.step_select, name="select"),
    path("<uuid:order_uuid>/terms/", views.step_terms, name="terms"),
    path("<uuid:order_uuid>/configuration/", views.step_configure, name="configure"),
    path("<uuid:order_uuid>/review/", views.step_review, name="review"),
    # Discard an unfinished order (GET: the confirm page without JavaScript; POST: delete it).
    path("<uuid:order_uuid>/discard/", views.order_discard_view, name="discard"),
    # A subscription's page, opened from the COMPANY STRUCTURE (read-only).
    path("subscriptions/<int:account_id>/", subscription_views.subscription_detail, name="subscription_detail"),
    # SYNC WITH MICROSOFT on that page (POST).
    path("subscriptions/<int:account_id>/sync/", subscription_views.subscription_sync_now, name="subscription_sync"),
]
