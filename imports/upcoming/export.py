"""EXPORT of the Upcoming view: every item of the current view (its horizon, kinds and company), as
CSV or .xlsx through core.spreadsheets, read a keyset page at a time as the download goes."""

import datetime as dt
from collections.abc import Iterable, Iterator

from django.utils import timezone
from django.utils.translation import gettext as _

from core.spreadsheets import spreadsheet_response

from imports.upcoming.selectors import UpcomingItem

UTC = dt.timezone.utc


def header() -> list[str]:
    return [
        _("Date (UTC)"), _("Time (UTC)"), _("Kind"), _("Company"), _("Company Account Id"), _("Subscription"),
        _("Account Id"), _("What"), _("Renews at"), _("Changes at renewal"), _("Import Id"),
    ]


def lines(items: Iterable[UpcomingItem]) -> Iterator[list]:
    for item in items:
        at = item.at.astimezone(UTC)
        subscription = item.subscription
        yield [
            at.strftime("%Y-%m-%d"), at.strftime("%H:%M"), item.kind_label, item.company.name, item.company.account_id,
            subscription.name if subscription else "", subscription.account_id if subscription else "",
            item.text, item.price_text, "; ".join(item.changes), item.job.pk if item.job else "",
        ]


def export_response(fmt: str, items: Iterable[UpcomingItem]):
    stem = f"upcoming-{timezone.now():%Y%m%d-%H%M%S}"

    def rows():
        yield header()
        yield from lines(items)

    return spreadsheet_response(fmt, stem, rows(), sheet_title=_("Upcoming"))
