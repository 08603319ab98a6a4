"""One page of My imports: the count, then the page's rows found by keyset or offset, whichever
reads less (imports.my_imports.selectors holds the filters, search and sort it pages through)."""

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db.models import Max, Q, QuerySet

from core.numbers import parse_whole
from accounts.models import User
from accounts.selectors import companies_visible_to

from imports.my_imports.listing import SORTS, Cursor, Listing
from imports.models import ImportJob
from imports.my_imports.selectors import LINES_SHOWN, FilterNames, imports_filtered, listing_ordered, with_rows_shown

UTC = dt.timezone.utc


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
        return parse_whole(cursor.value, maximum=10**9 - 1)  # a count: nine digits are plenty
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
    ids = listing_ordered(queryset, listing, reverse=reverse).values("pk")[start:end]
    page = listing_ordered(ImportJob.objects.filter(pk__in=ids), listing, reverse=reverse)
    jobs = list(with_rows_shown(page, lines=LINES_SHOWN))
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


def imports_page(user: User, listing: Listing, *, visible: QuerySet | None = None) -> ImportsPage:
    """One page of the user's jobs as `listing` asks.

    Two statements for the list whatever its size (the count, then the page), plus two for the
    page's rows and retries. Pages are found by keyset when the address carries a cursor (the next
    and previous links do), else by offset from whichever end is nearer: the last page (the
    manual's >|) is read backwards from the end, so no page needs to skip more than half the list.
    """
    visible = companies_visible_to(user) if visible is None else visible
    queryset, names = imports_filtered(user, listing, visible=visible)
    count = queryset.count()
    per_page = listing.per_page
    num_pages = max(1, math.ceil(count / per_page))
    past_end = listing.page > num_pages
    number = min(listing.page, num_pages)
    shown = listing.with_(page=number, cursor=None if past_end else listing.cursor)
    start, end = (number - 1) * per_page, min(number * per_page, count)
    if count and _walk_is_cheaper(count, min(end, count - start) if shown.cursor is None else per_page):
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
