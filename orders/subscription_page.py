"""Contribution points of the subscription page: the import that created a subscription, and sections
other rooms add to the page (e.g. its scheduled changes and their wizard, imports.changes.page).

The page belongs to orders, but imports (above orders) owns import jobs and My imports, so orders
cannot look them up. Imports registers providers from its AppConfig.ready(); without them the page
shows no import and no section.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.safestring import SafeString

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


# A section of the page: provider(request, subscription) → its HTML (rendered by its room), or None.
SectionProvider = Callable[..., SafeString | None]
_section_providers: dict[str, SectionProvider] = {}


def register_section(name: str, provider: SectionProvider) -> None:
    """Add (or replace, by `name`) a section of the subscription page, shown in registration order."""
    _section_providers[name] = provider


def sections(request, subscription: Subscription) -> list[SafeString]:
    return [html for provider in _section_providers.values() if (html := provider(request, subscription))]
