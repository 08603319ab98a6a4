from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Companies and users")

    def ready(self):
        # Audits the start and the end of staff impersonation (django-hijack's signals).
        from accounts import impersonation_audit  # noqa: F401
