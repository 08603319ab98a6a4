"""System checks of the catalog's vendor integrations (registered in CatalogConfig.ready)."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def microsoft_urls_check(app_configs=None, **kwargs):
    """Production sends Partner Center requests, and our client secret, only to https:// public hosts:
    a MICROSOFT_API_URL or MICROSOFT_TOKEN_URL naming a private, loopback or internal address (the
    sandbox, a metadata service) is refused. Development may point at the local sandbox."""
    if not settings.PRODUCTION:
        return []
    from catalog.integrations.partner_center import vendor_url_problems

    errors = []
    for name in ("MICROSOFT_API_URL", "MICROSOFT_TOKEN_URL"):
        for problem in vendor_url_problems(getattr(settings, name, "")):
            errors.append(Error(f"{name}: {problem}", hint="Point it at Microsoft over https:// (see .env.example).", id="catalog.E001"))
    return errors
