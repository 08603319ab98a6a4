"""Contribution point of the subscription page: the import that created a subscription.

The page belongs to orders, but imports (above orders) owns import jobs and My imports, so orders
cannot look them up. Imports registers a provider from its AppConfig.ready(); without it the page
shows no import.
"""

from collections.abc import Callable
from dataclasses import dataclass

from .models import Subscription


@dataclass(frozen=True)
class ImportLink:
    label: str
    url: str


ImportLinkProvider = Callable[[Subscription], ImportLink | None]
_import_link_providers: list[ImportLinkProvider] = []


def register_import_link(provider: ImportLinkProvider) -> None:
    if provider not in _import_link_providers:
        _import_link_providers.append(provider)


def import_link(subscription: Subscription) -> ImportLink | None:
    for provider in _import_link_providers:
        if link := provider(subscription):
            return link
    return None
