"""The company page and the global search (no app_name: the names `company_detail` and `search`
are part of the project's URL contract)."""

from django.urls import path

from . import company_views

urlpatterns = [
    path("companies/<int:account_id>/", company_views.company_detail, name="company_detail"),
    # Search lists subscriptions too, so it lives beside the company page in orders.
    path("search/", company_views.search, name="search"),
]
