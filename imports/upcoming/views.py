"""Orders > Upcoming: what will happen next across the user's subtree (new subscriptions, changes,
renewals with and without changes, cancellation windows closing), grouped by day, filterable by
horizon, kind and company, and exportable. Thin: the address is imports.upcoming.listing's, the
reads imports.upcoming.selectors'."""

import html
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from core.clock import db_now
from core.spreadsheets import FORMATS

from imports.my_imports.selectors import FILTER_CHOICES_LIMIT
from imports.upcoming.export import export_response
from imports.upcoming.listing import HORIZONS, KINDS, PAGE_SIZES, UpcomingQuery, upcoming_problems
from imports.upcoming.selectors import UTC, UpcomingItem, UpcomingPage, upcoming_all, upcoming_page

# Stands for the account id in a URL reversed once a page (_linker); no account id has 13 digits.
_ACCOUNT_PLACEHOLDER = 1_234_567_890_123


def _url(query: UpcomingQuery | None, name: str = "upcoming:list", **extra) -> str:
    if query is None:
        return ""
    text = query.urlencode()
    for key, value in extra.items():
        text = f"{text}&{key}={value}" if text else f"{key}={value}"
    return f"{reverse(name)}?{text}" if text else reverse(name)


def _company_options(companies, selected: int | None) -> str:
    """The company filter's <option>s, escaped with the standard library's escape: a thousand of them
    through the template language cost more than the rest of the page (as on My imports)."""
    parts = []
    for account_id, name in companies:
        mark = " selected" if account_id == selected else ""
        parts.append(f'<option value="{account_id}"{mark}>{html.escape(name)} ({account_id})</option>')
    return mark_safe("".join(parts))  # every name escaped above


def _linker(name: str):
    """account id → `name`'s URL, reversed once a page: `{% url %}` twice a row was a fifth of the
    template's time on a page of 100 rows (the same text: an account id is a plain number)."""
    prefix, suffix = reverse(name, args=[_ACCOUNT_PLACEHOLDER]).split(str(_ACCOUNT_PLACEHOLDER))
    return lambda account_id: f"{prefix}{account_id}{suffix}"


@dataclass(frozen=True)
class Row:
    """One line of the page, with what the template would otherwise work out per row (time, links,
    the renewal's change sentences, asked once)."""

    item: UpcomingItem
    time: str  # HH:MM, UTC
    company_url: str
    link: str  # the subscription's page, or the new subscription's job on My imports
    link_text: str
    changes: list[str]


def _days(page: UpcomingPage) -> list[tuple]:
    company_url, subscription_url = _linker("company_detail"), _linker("orders:subscription_detail")
    my_imports = reverse("imports:my_imports")
    days = []
    for day, items in page.days:
        rows = []
        for item in items:
            if item.subscription is not None:
                link, text = subscription_url(item.subscription.account_id), item.subscription.display_name
            elif item.job is not None:
                link, text = f"{my_imports}?job={item.job.pk}", f"#{item.job.pk}"
            else:
                link = text = ""
            rows.append(Row(
                item=item, time=item.at.astimezone(UTC).strftime("%H:%M"),
                company_url=company_url(item.company.account_id), link=link, link_text=text, changes=item.changes,
            ))
        days.append((day, rows))
    return days


@login_required
@require_safe
def upcoming(request):
    query = UpcomingQuery.parse(request.GET)
    page = upcoming_page(request.user, query, now=db_now())
    shown = query.with_(cursor=None)
    companies = page.visible.order_by("path").values_list("account_id", "name")[:FILTER_CHOICES_LIMIT]
    context = {
        "page": page,
        "days": _days(page),
        "query": query,
        "horizons": HORIZONS,
        "kinds": list(KINDS.items()),
        "page_sizes": PAGE_SIZES,
        "company_options": _company_options(companies, query.company),
        "problems": [message for messages_ in upcoming_problems(request.GET).values() for message in messages_],
        "urls": {
            "next": _url(page.next()),
            "previous": _url(page.previous()),
            "first": _url(shown) if query.cursor is not None else "",
            "csv": _url(shown, "upcoming:export", format="csv"),
            "xlsx": _url(shown, "upcoming:export", format="xlsx"),
        },
    }
    return render(request, "imports/upcoming.html", context)


@login_required
@require_safe
def export(request):
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        raise Http404
    query = UpcomingQuery.parse(request.GET)
    return export_response(fmt, upcoming_all(request.user, query, now=db_now()))
