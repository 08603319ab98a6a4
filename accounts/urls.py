"""Home, the company page and the global search (no app_name: the names `home`, `company_detail` and
`search` are part of the project's URL contract)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("companies/<int:account_id>/", views.company_detail, name="company_detail"),
    path("search/", views.search, name="search"),
]
