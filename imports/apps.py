from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "imports"
    verbose_name = _("Imports")

    def ready(self):
        from imports.my_imports import subscription_link
        from imports.engine.periodic import ensure_schedule_after_migrate

        # The subscription page (orders) links the import that created it; orders cannot import us.
        subscription_link.register()

        # sender=self: once per migrate run (post_migrate fires once per app), after every
        # app's tables, django_q's included, exist.
        post_migrate.connect(ensure_schedule_after_migrate, sender=self, dispatch_uid="imports.dispatch_schedule")
