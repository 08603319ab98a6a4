"""Reads of the Upcoming view: everything scheduled across the user's subtree in the next 7, 30 or
90 days, soonest first, a keyset page at a time.

Four sources, each an indexed range read in the order of its time column:
- new subscriptions: Pending provisioning jobs (ImportJob (status, due_at, company, id) index);
- changes at a chosen time: open SubscriptionChange (its (status, due_at) index);
- renewals, with and without changes: active auto-renewing subscriptions by term_end (its index);
  their open at-renewal changes are shown under them (orders.timeline.renewal_previews), not as
  items of their own;
- cancellation windows closing: active subscriptions by cancellation_window_ends_at (the index of
  imports' migration 0021).
A page reads at most `per_page + 1` rows of each source starting at the cursor (time, rank, id),
merges them and keeps the first `per_page`: a deep page costs what the first costs, whatever the
number of items (a reseller with 100,000 of them: `manage.py bench_upcoming`). The reads join
only what their filters need and return plain values: only the kept rows become model instances,
and their companies and services come in one query each for the whole page (joined into each
read, they cost more: PostgreSQL took ~3 ms to plan the changes' five-table join, and the four
sources built four times the instances a page shows). Then the page's own extras: the renewals'
changes and prices (orders.timeline), the jobs' products.
"""

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Company, User
from accounts.selectors import companies_visible_to, user_sees_all
from catalog.models import Service
from orders.changes.describe import change_text
from orders.models import Subscription, SubscriptionChange
from orders.timeline import RenewalPreview, open_renewal_changes, renewal_previews

from imports.models import ImportJob, ImportRow
from imports.upcoming.listing import (
    CHANGE, KINDS, PROVISIONING, RANKS, RENEWAL, RENEWAL_CHANGES, WINDOW, Cursor, UpcomingQuery,
)

UTC = dt.timezone.utc
OPEN = sorted(SubscriptionChange.OPEN_STATUSES)
# A subtree of up to this many companies is read by its ids, a larger one by a subquery (_ids).
SCOPE_IDS_MAX = 100
# Only the columns a page asks for: companies and services are wide rows, and each column of the reads is
# parsed for per_page + 1 rows of each source (a timestamp costs most). A subscription shows its name,
# seats and account id (the page, the API, the export); a renewal's preview reads its service, cycle,
# term end and auto-renew (orders.timeline), a window its end. Anything else would be read one by one.
COMPANY_FIELDS = ("id", "name", "account_id")
SERVICE_FIELDS = ("id", "name")
SUBSCRIPTION_FIELDS = ("id", "company_id", "name", "account_id", "quantity", "term")
RENEWAL_FIELDS = (*SUBSCRIPTION_FIELDS, "service_id", "billing_frequency", "term_end", "auto_renew")
WINDOW_FIELDS = (*SUBSCRIPTION_FIELDS, "cancellation_window_ends_at")
JOB_FIELDS = ("id", "name", "source", "due_at", "company_id")
CHANGE_FIELDS = (
    "id", "subscription_id", "kind", "when", "due_at", "quantity", "billing_frequency", "term", "service_id",
    "auto_renew", "before", "status",
)


def _columns(model, names) -> tuple[str, ...]:
    """`names` in the model's column order, the order Model.from_db takes values in (the others deferred)."""
    wanted = set(names)
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in wanted)


JOB_COLUMNS = _columns(ImportJob, JOB_FIELDS)
CHANGE_COLUMNS = _columns(SubscriptionChange, CHANGE_FIELDS)
SUBSCRIPTION_COLUMNS = _columns(Subscription, SUBSCRIPTION_FIELDS)
CHANGE_WITH_SUBSCRIPTION_COLUMNS = (*CHANGE_COLUMNS, *(f"subscription__{name}" for name in SUBSCRIPTION_COLUMNS))
RENEWAL_COLUMNS = _columns(Subscription, RENEWAL_FIELDS)
WINDOW_COLUMNS = _columns(Subscription, WINDOW_FIELDS)


@dataclass
class UpcomingItem:
    kind: str
    at: dt.datetime
    id: int  # the job's, change's or subscription's
    company: Company | None = None  # set for every item of a page (_attach)
    subscription: Subscription | None = None
    job: ImportJob | None = None
    change: SubscriptionChange | None = None
    renewal: RenewalPreview | None = None
    text: str = ""

    @property
    def rank(self) -> int:
        return RANKS[self.kind]

    @property
    def key(self) -> tuple:
        return (self.at, self.rank, self.id)

    @property
    def day(self) -> dt.date:
        return self.at.astimezone(UTC).date()

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])

    @property
    def price_text(self) -> str:
        return self.renewal.price_text if self.renewal is not None else ""

    @property
    def changes(self) -> list[str]:
        return self.renewal.change_texts if self.renewal is not None else []

    def cursor(self, *, before: bool) -> Cursor:
        return Cursor(at=self.at, rank=self.rank, id=self.id, before=before)


@dataclass
class UpcomingPage:
    query: UpcomingQuery
    items: list[UpcomingItem]
    since: dt.datetime
    until: dt.datetime
    has_next: bool = False
    has_previous: bool = False
    company: Company | None = None  # the company filter, when the user may see it
    days: list[tuple[dt.date, list[UpcomingItem]]] = field(default_factory=list)
    # The companies the user sees (accounts.selectors, unevaluated): the page's company filter lists them
    # without asking again where the user's subtree is.
    visible: QuerySet[Company] | None = None

    def next(self) -> UpcomingQuery | None:
        return self.query.with_(cursor=self.items[-1].cursor(before=False)) if self.has_next else None

    def previous(self) -> UpcomingQuery | None:
        return self.query.with_(cursor=self.items[0].cursor(before=True)) if self.has_previous else None


def _scope(
    user: User, query: UpcomingQuery, visible: QuerySet[Company]
) -> tuple[list[int] | QuerySet[Company] | None, Company | None, bool]:
    """(companies the items must belong to, or None for every company; the company filter; whether
    nothing is visible). A company filter the user cannot see is ignored, like any unknown value."""
    company = None
    if query.company is not None:
        company = visible.filter(account_id=query.company).only("pk", "name", "account_id", "path").first()
    if company is not None:
        return _ids(Company.objects.filter(path__under=company.path)), company, False
    if user_sees_all(user):
        return None, None, False
    if not user.is_authenticated or not user.is_active or user.company_id is None:
        return None, None, True
    return _ids(visible), None, False


def _ids(companies: QuerySet[Company]) -> list[int] | QuerySet[Company]:
    """A small subtree as its ids, a large one as a subquery. Given ids, PostgreSQL estimates each
    source's rows from company_id's statistics and reads a small company's items by its company
    index; given the path subquery, it guessed a dozen companies for any narrow prefix and walked
    the time index instead, filtering: 80 ms for a customer with no renewals among 100,000 items.
    A large subtree's estimate is sound, and a long list costs planning time (1.5 ms at 1,000 ids
    for each of the four reads)."""
    ids = list(companies.values_list("pk", flat=True)[: SCOPE_IDS_MAX + 1])
    return ids if len(ids) <= SCOPE_IDS_MAX else companies.values("pk")


def _beyond(field_name: str, rank: int, cursor: Cursor | None) -> Q:
    """Rows of a source of `rank` strictly after the cursor in (time, rank, id) order (before it, for
    a `before` cursor). Written as a range on the time column first, so it stays an index seek."""
    if cursor is None:
        return Q()
    op, op_eq = ("lt", "lte") if cursor.before else ("gt", "gte")
    if rank == cursor.rank:
        return Q(**{f"{field_name}__{op_eq}": cursor.at}) & (
            Q(**{f"{field_name}__{op}": cursor.at}) | Q(**{f"id__{op}": cursor.id})
        )
    ahead = rank > cursor.rank if not cursor.before else rank < cursor.rank
    return Q(**{f"{field_name}__{op_eq if ahead else op}": cursor.at})


def _read(queryset: QuerySet, field_name: str, kind: str, query: UpcomingQuery, since, until, limit, columns) -> list:
    """[(key, kind, values)] of one source: at most `limit` rows from the cursor on, in page order.
    Values, not instances: a page keeps `per_page` of the four sources' rows (see _instances)."""
    backwards = query.cursor is not None and query.cursor.before
    order = (f"-{field_name}", "-id") if backwards else (field_name, "id")
    rows = queryset.filter(**{f"{field_name}__gte": since, f"{field_name}__lt": until})
    rows = rows.filter(_beyond(field_name, RANKS[kind], query.cursor)).order_by(*order)
    at, rank, pk = columns.index(field_name), RANKS[kind], columns.index("id")
    return [((values[at], rank, values[pk]), kind, values) for values in rows.values_list(*columns)[:limit]]


def _sources(query: UpcomingQuery, companies, *, since, until, limit) -> Iterator[list]:
    kinds = query.shown_kinds
    if PROVISIONING in kinds:
        jobs = ImportJob.objects.filter(
            status=ImportJob.Status.PENDING, account_type=ImportJob.AccountType.PRODUCTS,
            source__in=[ImportJob.Source.SCHEDULED, ImportJob.Source.IMPORT],
        )
        if companies is not None:
            jobs = jobs.filter(company__in=companies)
        yield _read(jobs, "due_at", PROVISIONING, query, since, until, limit, JOB_COLUMNS)
    if CHANGE in kinds:
        # Only Pending: a change at a chosen time is never Sent (that is an at-renewal change's state), and
        # one status keeps the (status, due_at) index's order (two would be read whole and sorted).
        changes = SubscriptionChange.objects.filter(
            status=SubscriptionChange.Status.PENDING, when=SubscriptionChange.When.AT
        )
        if companies is not None:
            changes = changes.filter(subscription__company__in=companies)
        # The subscription's columns come with it: the scope's filter joins it anyway.
        yield _read(changes, "due_at", CHANGE, query, since, until, limit, CHANGE_WITH_SUBSCRIPTION_COLUMNS)
    live = Subscription.objects.filter(status=Subscription.Status.ACTIVE)
    if companies is not None:
        live = live.filter(company__in=companies)
    renewal_kinds = {RENEWAL, RENEWAL_CHANGES} & set(kinds)
    if renewal_kinds:
        renewals = live.filter(auto_renew=True)
        if len(renewal_kinds) == 1:
            with_changes = Exists(SubscriptionChange.objects.filter(
                subscription=OuterRef("pk"), status__in=OPEN, when=SubscriptionChange.When.RENEWAL
            ))
            renewals = renewals.filter(with_changes if RENEWAL_CHANGES in renewal_kinds else ~with_changes)
        yield _read(renewals, "term_end", RENEWAL, query, since, until, limit, RENEWAL_COLUMNS)
    if WINDOW in kinds:
        yield _read(live, "cancellation_window_ends_at", WINDOW, query, since, until, limit, WINDOW_COLUMNS)


def _instances(rows: list) -> list[UpcomingItem]:
    """The kept rows as items, with model instances built from the values read (as a queryset would)."""
    db = Subscription.objects.db
    n = len(CHANGE_COLUMNS)
    items = []
    for (at, _rank, pk), kind, values in rows:
        if kind == PROVISIONING:
            items.append(UpcomingItem(kind=kind, at=at, id=pk, job=ImportJob.from_db(db, JOB_COLUMNS, values)))
        elif kind == CHANGE:
            change = SubscriptionChange.from_db(db, CHANGE_COLUMNS, values[:n])
            change.subscription = Subscription.from_db(db, SUBSCRIPTION_COLUMNS, values[n:])
            items.append(UpcomingItem(kind=kind, at=at, id=pk, subscription=change.subscription, change=change))
        else:
            columns = RENEWAL_COLUMNS if kind == RENEWAL else WINDOW_COLUMNS
            items.append(UpcomingItem(kind=kind, at=at, id=pk, subscription=Subscription.from_db(db, columns, values)))
    return items


def _attach(items: list[UpcomingItem]) -> None:
    """The page's companies, in one query, set on its jobs and subscriptions; the services an upgrade
    names (its sentence), in one more when there are any; a renewal's service by its id alone."""
    subscriptions = [item.subscription for item in items if item.subscription is not None]
    changes = [item.change for item in items if item.change is not None]
    jobs = [item.job for item in items if item.job is not None]
    company_ids = {s.company_id for s in subscriptions} | {job.company_id for job in jobs}
    companies = Company.objects.only(*COMPANY_FIELDS).in_bulk(company_ids) if company_ids else {}
    service_ids = {c.service_id for c in changes if c.service_id}
    services = Service.objects.only(*SERVICE_FIELDS).in_bulk(service_ids) if service_ids else {}
    for subscription in subscriptions:
        subscription.company = companies[subscription.company_id]
    db = Service.objects.db
    for item in items:
        if item.kind == RENEWAL:
            # Its preview prices the service by id (orders.timeline.renewal_previews) and shows nothing
            # of it: an instance holding the id (the rest deferred, as .only("id") reads it) spares a query.
            item.subscription.service = Service.from_db(db, ("id",), (item.subscription.service_id,))
    for change in changes:
        change.service = services[change.service_id] if change.service_id else None
    for job in jobs:
        job.company = companies[job.company_id]
    for item in items:
        item.company = (item.subscription or item.job).company


def _describe(items: list[UpcomingItem]) -> None:
    """What each item of the page says: the renewals' changes and prices (orders.timeline, batch),
    the changes' sentence, the jobs' product."""
    renewals = [item for item in items if item.kind == RENEWAL]
    if renewals:
        changes = open_renewal_changes(item.id for item in renewals)
        previews = renewal_previews([item.subscription for item in renewals], changes=changes)
        for item in renewals:
            item.renewal = previews.get(item.id)
            if item.renewal is not None and item.renewal.changes:
                item.kind = RENEWAL_CHANGES
    jobs = {item.id: item for item in items if item.kind == PROVISIONING}
    if jobs:
        # A scheduled provisioning has one row (its order); a bulk import is named after its file.
        scheduled = [pk for pk, item in jobs.items() if item.job.source == ImportJob.Source.SCHEDULED]
        rows = {
            row.job_id: row
            for row in ImportRow.objects.filter(job_id__in=scheduled).select_related("order__service")
            .only("id", "job_id", "position", "order", "order__quantity", "order__service", "order__service__name")
            .order_by("-position")
        }
        for pk, item in jobs.items():
            item.text = _job_text(item.job, rows.get(pk))
    for item in items:
        if item.kind == CHANGE:
            item.text = change_text(item.change)
        elif item.kind in (RENEWAL, RENEWAL_CHANGES):
            item.text = _renewal_text(item.renewal)
        elif item.kind == WINDOW:
            item.text = _("Last day to cancel or reduce %(name)s with a refund") % {"name": item.subscription.display_name}


def _job_text(job: ImportJob, row: ImportRow | None) -> str:
    if job.source == ImportJob.Source.SCHEDULED and row is not None and row.order_id:
        order = row.order
        return _("%(product)s × %(quantity)s") % {"product": row.product_name, "quantity": order.quantity or 1}
    return job.display_name


def _renewal_text(renewal: RenewalPreview | None) -> str:
    if renewal is None:
        return ""
    if not renewal.renews:
        return _("Ends at term end (no renewal)")
    if renewal.price_text:
        return _("Renews at %(price)s") % {"price": renewal.price_text}
    return _("Renews (no price in force on that day)")


def _key(row) -> tuple:
    return row[0]


def upcoming_page(user: User, query: UpcomingQuery, *, now: dt.datetime) -> UpcomingPage:
    """One page of what is scheduled for `user` from `now` to `now + query.days`, soonest first."""
    since, until = now, now + dt.timedelta(days=query.days)
    visible = companies_visible_to(user)
    companies, company, nothing = _scope(user, query, visible)
    page = UpcomingPage(query=query, items=[], since=since, until=until, company=company, visible=visible)
    if nothing:
        return page
    limit = query.per_page + 1
    backwards = query.cursor is not None and query.cursor.before
    merged = heapq.merge(
        *(sorted(source, key=_key, reverse=backwards) for source in _sources(
            query, companies, since=since, until=until, limit=limit
        )),
        key=_key, reverse=backwards,
    )
    rows = [row for _index, row in zip(range(limit), merged)]
    more = len(rows) > query.per_page
    items = _instances(rows[: query.per_page])
    if backwards:
        items.reverse()
        page.has_previous, page.has_next = more, True
    else:
        page.has_next, page.has_previous = more, query.cursor is not None
    _attach(items)
    _describe(items)
    page.items = items
    page.days = _by_day(items)
    return page


def _by_day(items: list[UpcomingItem]) -> list[tuple[dt.date, list[UpcomingItem]]]:
    days: list[tuple[dt.date, list[UpcomingItem]]] = []
    for item in items:
        if not days or days[-1][0] != item.day:
            days.append((item.day, []))
        days[-1][1].append(item)
    return days


def upcoming_all(user: User, query: UpcomingQuery, *, now: dt.datetime, chunk: int = 500) -> Iterator[UpcomingItem]:
    """Every item of the view (the export), a keyset page at a time: never all in memory."""
    query = query.with_(per_page=chunk, cursor=None)
    while True:
        page = upcoming_page(user, query, now=now)
        yield from page.items
        if not page.has_next:
            return
        query = page.next()
