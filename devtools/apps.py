from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Demo data (`seed_demo`) and the benchmark commands: installed in development and tests
    only (config.settings); no production module imports this package."""

    name = "devtools"
    verbose_name = "Developer tools"
