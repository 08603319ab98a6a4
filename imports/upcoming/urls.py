"""Orders > Upcoming, at /orders/upcoming/ (config.urls)."""

from django.urls import path

from imports.upcoming import views

app_name = "upcoming"
urlpatterns = [
    path("", views.upcoming, name="list"),
    path("export/", views.export, name="export"),
]
