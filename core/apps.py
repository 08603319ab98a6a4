from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: machinery every app may import and that imports no app. The label stays
    "icp" (the package's former name) so its tables and migration history do not move."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    label = "icp"
    verbose_name = "Core"

    def ready(self):
        from core.lookups import lookups_register

        lookups_register()
