"""The engine's configuration (imports.engine.config) as a Django system check: `manage.py check`,
`imports_worker`, `migrate` and `runserver` refuse a configuration that could run a job twice."""

from django.core import checks

from imports.engine.config import engine_config


@checks.register(checks.Tags.compatibility)
def engine_config_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    config = engine_config()
    return [checks.Error(message, id=check_id, obj="settings") for check_id, message in config.errors()] + [
        checks.Warning(message, id=check_id, obj="settings") for check_id, message in config.warnings()
    ]
