"""Reads on import jobs: My imports (one page of a filtered, sorted list), one job, the export."""

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db.models import (
    CharField,
    F,
    Func,
    IntegerField,
    Max,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404

from accounts.models import Company, User
from accounts.selectors import companies_visible_to, id_in_query
from accounts.text import search_folded

from .listing import SORTS, Cursor, Listing
from .models import ImportJob, ImportRow

UTC = dt.timezone.utc
# Company and creator choices offered by the filter form; a larger subtree is filtered by search
# (or an address naming the company's account id), the list stays instant.
FILTER_CHOICES_LIMIT = 1000


def _visible(user: User) -> QuerySet[ImportJob]:
    """Jobs whose company is in the user's subtree. Staff see every company, so no condition at all
    (a `company_id IN (every company)` would only cost)."""
    if user.is_authenticated and user.is_active and user.is_staff:
        return ImportJob.objects.all()
    return ImportJob.objects.filter(company__in=companies_visible_to(user))


def _with_rows(queryset: QuerySet[ImportJob]) -> QuerySet[ImportJob]:
    """What a row of My imports shows (creator, rows with parent company and product, retries),
    fetched up front: the same few queries for 10 or 100 rows."""
    rows = ImportRow.objects.select_related("parent_company", "order__service").order_by("position")
    retries = ImportJob.objects.only("id", "status", "retry_of_id").order_by("id")
    return queryset.select_related("created_by", "company").prefetch_related(
        Prefetch("rows", queryset=rows), Prefetch("retries", queryset=retries)
    )


def imports_visible_to(user: User) -> QuerySet[ImportJob]:
    """The jobs the user may see, without what My imports shows of them."""
    return _visible(user)


def imports_for(user: User) -> QuerySet[ImportJob]:
    """Jobs whose company is in the user's visible subtree (staff: all), newest first, with what
    My imports shows fetched up front."""
    return _with_rows(_visible(user)).order_by("-created_at", "-id")


def import_for_user(user: User, *, job_id) -> ImportJob:
    """A job the user may see; anything else is 404 (no hint that it exists)."""
    job = imports_for(user).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job


# --- My imports: filters, search, sort, pages ------------------------------------------------------


@dataclass
class FilterNames:
    """What the chips of the current filters say (the company's and the creator's names)."""

    company: Company | None = None
    creator: User | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=UTC)


def _search(visible: QuerySet[Company], text: str, *, company: str, pk: str) -> Q:
    """Import name, product name and code (ImportJob.search_text), company name, account id (of the
    company or of what a row created), as one statement: the companies are a subquery.

    Both sides are folded (accounts.text.search_folded: no accents, lower case), so the database
    compares plain strings; `contains` escapes LIKE's wildcards, so "%" and "_" match literally."""
    folded = search_folded(text)
    company_match = Q(search_name__contains=folded)
    number = id_in_query(text)
    if number is not None:
        company_match |= Q(account_id=number)
    companies = visible.filter(company_match).values("pk")
    condition = Q(search_text__contains=folded) | Q(**{f"{company}__in": companies})
    if number is not None:
        condition |= Q(**{f"{pk}__in": ImportRow.objects.filter(result_account_id=number).values("job_id")})
    return condition


class _NoIndex(Func):
    """`+column`: the same value, but the database may not use an index to find it.

    Used when a page is read by walking the sort's index (see imports_page): without it SQLite
    prefers the index of a filter (company, status, creator) and then sorts every matching row.
    """

    template = "+(%(expressions)s)"

    def as_sql(self, compiler, connection, **extra_context):
        # Only SQLite needs the hint (and PostgreSQL has no unary + for text): elsewhere, the column.
        if connection.vendor != "sqlite":
            return compiler.compile(self.source_expressions[0])
        return super().as_sql(compiler, connection, **extra_context)


def _scan_fields(queryset: QuerySet[ImportJob]) -> QuerySet[ImportJob]:
    return queryset.alias(
        _company=_NoIndex(F("company_id"), output_field=IntegerField()),
        _status=_NoIndex(F("status"), output_field=CharField()),
        _creator=_NoIndex(F("created_by_id"), output_field=IntegerField()),
        _id=_NoIndex(F("id"), output_field=IntegerField()),
    )


def imports_filtered(
    user: User,
    listing: Listing,
    *,
    walk: bool = False,
    visible: QuerySet[Company] | None = None,
    names: FilterNames | None = None,
) -> tuple[QuerySet[ImportJob], FilterNames]:
    """The user's jobs narrowed by the listing's filters and search (not yet ordered).

    walk=True writes the same conditions so that no index serves them (_NoIndex): for reading a page
    by walking the sort column's index, which holds the company too, so most rows are checked
    without reading the table.
    """
    if walk or listing.company is not None:  # (an unknown company only costs the aliases)
        # Walking: no index may serve a filter. With a company filter: only the company's may (a
        # subtree is far more selective than a status, which SQLite would otherwise prefer).
        company = "_company" if walk else "company_id"
        status, creator, pk = "_status", "_creator", "_id"
        queryset = _scan_fields(ImportJob.objects.all())
    else:
        company, status, creator, pk = "company_id", "status", "created_by_id", "pk"
        queryset = ImportJob.objects.all()
    # A second call for the same page (walk or not) passes what the first one read, so the page
    # costs the same statements whichever way it is read.
    visible = companies_visible_to(user) if visible is None else visible
    known = names is not None
    names = names if known else FilterNames()
    if listing.company is not None and not known:
        names.company = visible.filter(account_id=listing.company).only("pk", "name", "path").first()
    if names.company is not None:
        # A company the user can see: its subtree lies inside the user's, so it is the only condition.
        below = Company.objects.filter(path__under=names.company.path).values("pk")
        queryset = queryset.filter(**{f"{company}__in": below})
    elif not (user.is_authenticated and user.is_active and user.is_staff):
        # (A company the user cannot see is ignored, like any unknown value: no hint that it exists.)
        queryset = queryset.filter(**{f"{company}__in": visible.values("pk")})
    if listing.statuses:
        queryset = queryset.filter(**{f"{status}__in": listing.statuses})
    if listing.source:
        queryset = queryset.filter(source=listing.source)
    if listing.account_type:
        queryset = queryset.filter(account_type=listing.account_type)
    if listing.creator is not None and not known:
        names.creator = User.objects.filter(pk=listing.creator).only("pk", "email").first()
    if names.creator is not None:
        queryset = queryset.filter(**{creator: names.creator.pk})
    if listing.created_from:
        queryset = queryset.filter(created_at__gte=_day_start(listing.created_from))
    if listing.created_to:
        queryset = queryset.filter(created_at__lt=_day_start(listing.created_to + dt.timedelta(days=1)))
    if listing.due_from:
        queryset = queryset.filter(due_at__gte=_day_start(listing.due_from))
    if listing.due_to:
        queryset = queryset.filter(due_at__lt=_day_start(listing.due_to + dt.timedelta(days=1)))
    if listing.job is not None:
        queryset = queryset.filter(**{pk: listing.job})
    if listing.q:
        queryset = queryset.filter(_search(visible, listing.q, company=company, pk=pk))
    return queryset, names


def _order(queryset: QuerySet[ImportJob], listing: Listing, *, reverse: bool = False) -> QuerySet[ImportJob]:
    column = SORTS[listing.sort][0]
    descending = listing.descending != reverse
    prefix = "-" if descending else ""
    return queryset.order_by(f"{prefix}{column}", f"{prefix}id")


def _cursor_value(listing: Listing, cursor: Cursor):
    """The cursor's sort value as the column's type; None when it is not one (then: offset)."""
    column = SORTS[listing.sort][0]
    if column in ("created_at", "due_at"):
        try:
            value = dt.datetime.fromisoformat(cursor.value)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if column in ("imported_count", "error_count"):
        return int(cursor.value) if cursor.value.isascii() and cursor.value.isdigit() and len(cursor.value) < 10 else None
    return cursor.value if column == "status" else None


def _cursor_of(listing: Listing, job: ImportJob, *, before: bool) -> Cursor:
    value = getattr(job, SORTS[listing.sort][0])
    text = value.astimezone(UTC).isoformat() if isinstance(value, dt.datetime) else str(value)
    return Cursor(value=text, id=job.pk, before=before)


def _beyond(listing: Listing, cursor: Cursor, value) -> Q:
    """Rows strictly after the cursor in the list's order (before it, for a `before` cursor).

    Written as `col <= v AND (col < v OR id < i)` rather than a bare OR, so the first term is an
    index range the database can seek to: a deep page costs what page 1 costs.
    """
    column = SORTS[listing.sort][0]
    downwards = listing.descending != cursor.before
    op, op_eq = ("lt", "lte") if downwards else ("gt", "gte")
    return Q(**{f"{column}__{op_eq}": value}) & (Q(**{f"{column}__{op}": value}) | Q(**{f"id__{op}": cursor.id}))


@dataclass
class ImportsPage:
    """One page of My imports, with what the pagination bar says ("1-10 of N")."""

    listing: Listing  # as shown: the page number clamped to the pages there are
    jobs: list[ImportJob]
    count: int
    num_pages: int
    past_end: bool  # the address asked for a page after the last one: this is the last one
    names: FilterNames = field(default_factory=FilterNames)

    @property
    def number(self) -> int:
        return self.listing.page

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.listing.per_page + 1 if self.count else 0

    @property
    def end_index(self) -> int:
        return min(self.number * self.listing.per_page, self.count)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_live_jobs(self) -> bool:
        return any(job.is_live for job in self.jobs)

    def first(self) -> Listing:
        return self.listing.with_(page=1)

    def last(self) -> Listing:
        return self.listing.with_(page=self.num_pages)

    def next(self) -> Listing:
        """The next page, reached by keyset: it starts after this page's last row."""
        cursor = _cursor_of(self.listing, self.jobs[-1], before=False) if self.jobs else None
        return self.listing.with_(page=self.number + 1, cursor=cursor)

    def previous(self) -> Listing:
        """The previous page, by keyset: it ends before this page's first row (page 1 needs none)."""
        cursor = _cursor_of(self.listing, self.jobs[0], before=True) if self.jobs and self.number > 2 else None
        return self.listing.with_(page=self.number - 1, cursor=cursor)


def _page_jobs(queryset: QuerySet[ImportJob], listing: Listing, start: int, end: int, *, reverse: bool = False) -> list[ImportJob]:
    """Rows start..end of the ordered list (counted from the end when `reverse`), in the list's order.

    One statement: the page's ids are found by a subquery that reads only the sort index (sort value,
    id, company: no table row for the rows skipped), then only those rows are read whole.
    """
    ids = _order(queryset, listing, reverse=reverse).values("pk")[start:end]
    jobs = list(_with_rows(_order(ImportJob.objects.filter(pk__in=ids), listing, reverse=reverse)))
    return jobs[::-1] if reverse else jobs


def _walk_is_cheaper(count: int, rows_to_reach: int) -> bool:
    """Whether to read the page by walking the sort column's index (checking each row against the
    filters) rather than letting the database find every matching row first and sort them.

    Walking to the `rows_to_reach`-th match costs about rows_to_reach / density index entries, where
    density = count / all jobs; finding and sorting costs about `count`. The number of jobs is
    estimated by the largest id (one index lookup). Dense lists (a reseller's own, "Completed")
    walk; a sparse one (one small company, a rare status) is found by its index and sorted.
    """
    total = ImportJob.objects.aggregate(top=Max("id"))["top"] or count
    return rows_to_reach * total <= count * count


def imports_page(user: User, listing: Listing) -> ImportsPage:
    """One page of the user's jobs as `listing` asks.

    Two statements for the list whatever its size (the count, then the page), plus two for the
    page's rows and retries. Pages are found by keyset when the address carries a cursor (the next
    and previous links do), else by offset from whichever end is nearer: the last page (the
    manual's >|) is read backwards from the end, so no page needs to skip more than half the list.
    """
    # A search reads every job anyway (LIKE '%text%' has no index): then the company index would only
    # add a lookup per job, so the count, too, is written for a plain pass over the table.
    visible = companies_visible_to(user)
    queryset, names = imports_filtered(user, listing, walk=bool(listing.q), visible=visible)
    count = queryset.count()
    per_page = listing.per_page
    num_pages = max(1, math.ceil(count / per_page))
    past_end = listing.page > num_pages
    number = min(listing.page, num_pages)
    shown = listing.with_(page=number, cursor=None if past_end else listing.cursor)
    start, end = (number - 1) * per_page, min(number * per_page, count)
    if count and not listing.q and _walk_is_cheaper(count, min(end, count - start) if shown.cursor is None else per_page):
        queryset, _names = imports_filtered(user, listing, walk=True, visible=visible, names=names)

    jobs: list[ImportJob] = []
    if count:
        cursor = shown.cursor
        value = _cursor_value(listing, cursor) if cursor is not None else None
        if value is not None:
            beyond = queryset.filter(_beyond(listing, cursor, value))
            jobs = _page_jobs(beyond, listing, 0, per_page, reverse=cursor.before)
        elif start <= count - end:
            jobs = _page_jobs(queryset, listing, start, end)
        else:
            jobs = _page_jobs(queryset, listing, count - end, count - start, reverse=True)
        if not jobs and cursor is not None:
            # A cursor from a list that changed since (rows cancelled or deleted): read by offset.
            jobs = _page_jobs(queryset, listing, start, end)
    return ImportsPage(listing=shown, jobs=jobs, count=count, num_pages=num_pages, past_end=past_end, names=names)


def filter_choices(user: User) -> dict:
    """The company and creator choices of the filter form: companies of the user's subtree (with
    their account id, the value kept in the address) and users of those companies."""
    visible = companies_visible_to(user)
    companies = visible.order_by("path").values_list("account_id", "name", "depth")
    creators = User.objects.filter(company__in=visible.values("pk")).order_by("email").values_list("pk", "email")
    return {
        "companies": list(companies[:FILTER_CHOICES_LIMIT]),
        "creators": list(creators[:FILTER_CHOICES_LIMIT]),
    }


def imports_for_api(user: User, listing: Listing) -> QuerySet[ImportJob]:
    """The API's list: My imports' filters and search (not its sort: the API pages by cursor,
    newest first), with each job's rows fetched up front."""
    queryset, _names = imports_filtered(user, listing)
    return _with_rows(queryset)


def imports_for_export(user: User, listing: Listing) -> QuerySet[ImportJob]:
    """Every row of the filtered list (all pages), in the list's order, for EXPORT: iterated in
    chunks (the rows of each chunk prefetched together), never held whole in memory."""
    queryset, _names = imports_filtered(user, listing)
    return _with_rows(_order(queryset, listing))
