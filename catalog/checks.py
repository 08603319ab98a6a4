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


@register()
def vendor_budget_check(app_configs=None, **kwargs):
    """The tenant budget gives each slot of 5 s a share of VENDOR_TENANT_REQUESTS_PER_MINUTE (see
    catalog/integrations/budget.py): below one request a slot nothing could be sent; above Microsoft's
    limit the guarantee would be gone."""
    from catalog.integrations.budget import SLOTS_PER_WINDOW, VENDOR_LIMIT_PER_MINUTE, requests_per_minute

    limit = requests_per_minute()
    if SLOTS_PER_WINDOW <= limit <= VENDOR_LIMIT_PER_MINUTE:
        return []
    return [Error(
        f"VENDOR_TENANT_REQUESTS_PER_MINUTE must be from {SLOTS_PER_WINDOW} to {VENDOR_LIMIT_PER_MINUTE} (it is {limit}).",
        hint="450 keeps a margin under Microsoft's 500 requests a minute per customer tenant.", id="catalog.E002",
    )]
