from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = _("Orders and subscriptions")

    def ready(self):
        # Subscriptions and the services offer appear on accounts' company page and search, which
        # cannot import orders (dependencies point one way); orders hands them over here.
        from . import company_page

        company_page.register()
