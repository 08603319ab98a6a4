from django.urls import path

from . import views

# `search` and `company_detail` are declared in orders.company_urls: they show subscriptions and
# prices, and accounts must not import orders or catalog.
urlpatterns = [
    path("", views.home, name="home"),
]
