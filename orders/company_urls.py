from django.urls import path

from . import company_views

urlpatterns = [
    path("companies/<int:account_id>/", company_views.company_detail, name="company_detail"),
]
