from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    # POST from the company page's NEW SERVICE button: creates a draft and opens its first step.
    path("new/<int:account_id>/", views.order_new, name="new"),
]
