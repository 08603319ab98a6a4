"""Reads on import jobs: My imports' filters, search and sort (a page of them: imports.my_imports.pages), one
job, the API's list, the export."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    CharField,
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.db import connection
from django.http import Http404

from accounts.models import Company, User
from accounts.selectors import companies_visible_to, id_in_query, user_sees_all
from accounts.text import search_folded
from accounts.users.selectors import users_visible_to

from core.lookups import IdArray
from imports.my_imports.listing import SORTS, Listing
from imports.models import ImportJob, ImportRow, SearchText
from imports.jobs.waiting import vendor_orders_prefetch

UTC = dt.timezone.utc
# Company and creator choices offered by the filter form; a larger subtree is filtered by search
# (or an address naming the company's account id), the list stays instant.
FILTER_CHOICES_LIMIT = 1000
# A search's matching companies and texts are passed to the jobs' query as ids up to this many each
# (see _search).
SEARCH_IDS_LIMIT = 100
# The user's companies are passed to the count's query as ids up to this many (see _subtree_ids).
SUBTREE_IDS_LIMIT = 5000


def _visible(user: User) -> QuerySet[ImportJob]:
    """Jobs whose company is in the user's subtree. Staff see every company, so no condition at all
    (a `company_id IN (every company)` would only cost)."""
    if user_sees_all(user):
        return ImportJob.objects.all()
    return ImportJob.objects.filter(company__in=companies_visible_to(user))


ROW_FIELDS_SHOWN = (
    "id", "job_id", "position", "import_type", "parent_company_id", "order_id", "payload", "status", "error",
    "result_account_id", "created", "processed_at",
)
# The lines of a job My imports shows inline, in its expanded row; the rest are one click away
# (imports:job_lines, paged). A bulk import holds up to 5,000: all of them made a page of two such
# jobs 4 MB and 4 s.
LINES_SHOWN = 5


def rows_shown() -> QuerySet[ImportRow]:
    """A job's lines as the list, the lines page, the export and the API show them: with their parent
    company and product (name and code), and only those columns (an order and its service are wide)."""
    return ImportRow.objects.select_related("parent_company", "order__service").only(
        *ROW_FIELDS_SHOWN, "parent_company__account_id", "parent_company__name",
        "parent_company__billing_start_date", "order__service_id", "order__service__code", "order__service__name",
    ).order_by("position")


def with_rows_shown(queryset: QuerySet[ImportJob], *, lines: int | None = None) -> QuerySet[ImportJob]:
    """What a row of My imports shows (creator, company, rows with parent company and product,
    retries), fetched up front: the same few queries for 10 or 100 rows.

    lines=N (the page): only each job's first N lines, as `job.lines_shown` (one statement for all
    the page's jobs, whatever they hold), and `job.line_count`, how many it has; without it, every
    line as `job.rows.all()` (the export, the API)."""
    retries = ImportJob.objects.only("id", "status", "retry_of_id").order_by("id")
    queryset = queryset.select_related("created_by", "company")
    if lines is None:
        return queryset.prefetch_related(
            Prefetch("rows", queryset=rows_shown()), Prefetch("retries", queryset=retries), vendor_orders_prefetch()
        )
    # Counted from the (job, position) unique index, one subquery per job of the page.
    count = ImportRow.objects.filter(job=OuterRef("pk")).order_by().values("job").annotate(n=Count("pk")).values("n")
    return queryset.annotate(line_count=Coalesce(Subquery(count), 0)).prefetch_related(
        # A sliced prefetch: the database keeps each job's first N (a window over the job's lines).
        Prefetch("rows", queryset=rows_shown()[:lines], to_attr="lines_shown"),
        Prefetch("retries", queryset=retries),
        # "Waiting for Microsoft, next try at ..." and the vendor's reason (imports.jobs.waiting).
        vendor_orders_prefetch(),
    )


def job_lines(job: ImportJob) -> QuerySet[ImportRow]:
    """Every line of one job, in file order, as the lines page shows them (paged by its caller)."""
    return rows_shown().filter(job=job)


def imports_visible_to(user: User) -> QuerySet[ImportJob]:
    """The jobs the user may see, without what My imports shows of them."""
    return _visible(user)


def imports_for(user: User, *, lines: int | None = None) -> QuerySet[ImportJob]:
    """Jobs whose company is in the user's visible subtree (staff: all), newest first, with what
    My imports shows fetched up front (lines: see with_rows_shown)."""
    return with_rows_shown(_visible(user), lines=lines).order_by("-created_at", "-id")


def import_for_user(user: User, *, job_id) -> ImportJob:
    """A job the user may see; anything else is 404 (no hint that it exists)."""
    job = imports_for(user).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job


# --- My imports: filters, search, sort, pages ------------------------------------------------------


@dataclass
class SearchMatches:
    """What a search matches besides the jobs' own ids: texts and companies (ids, or subqueries when
    there are many), and the account id the text may be."""

    texts: list[int] | QuerySet
    companies: list[int] | QuerySet
    number: int | None


@dataclass
class FilterNames:
    """What the chips of the current filters say (the company's and the creator's names), and what
    the search matched: read once per page, however many times the page's query is written."""

    company: Company | None = None
    creator: User | None = None
    search: SearchMatches | None = None
    subtree: "IdArray | QuerySet | None" = None  # the user's companies: ids or a subquery (_subtree_ids)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=UTC)


def _next_day_start(day: dt.date) -> dt.datetime | None:
    """Where a "to" date's day ends; None after the last day there is (9999-12-31: no end at all)."""
    return None if day == dt.date.max else _day_start(day + dt.timedelta(days=1))


def _ids_or_subquery(queryset: QuerySet):
    """The pks as a list when there are few (the database then looks each up in an index and can
    combine indexes), else the subquery itself."""
    ids = queryset.values_list("pk", flat=True)
    matched = list(ids[: SEARCH_IDS_LIMIT + 1])
    return matched if len(matched) <= SEARCH_IDS_LIMIT else ids


def _subtree_ids(visible: QuerySet[Company]) -> IdArray | QuerySet:
    """The user's companies as the condition of a page's queries. On PostgreSQL, an array of ids up
    to SUBTREE_IDS_LIMIT: the count finds the jobs by index lookups of those ids, where the
    subquery is a join over every job (a reseller's count of 100,000 jobs: 8.3 -> 5.1 ms), and a
    walk of the sort's index checks each entry by a hash lookup in the array (see _NoIndex).
    SQLite, and a larger subtree, keep the subquery."""
    subquery = visible.values("pk")
    if connection.vendor != "postgresql":
        return subquery
    ids = list(visible.values_list("pk", flat=True)[: SUBTREE_IDS_LIMIT + 1])
    return IdArray.of(ids) if len(ids) <= SUBTREE_IDS_LIMIT else subquery


def _search_matches(visible: QuerySet[Company], text: str) -> SearchMatches:
    """Import name, product name and code (the jobs' SearchText), company name, account id (of the
    company or of what a row created): the texts and companies that match.

    Read first (two small statements: there are far fewer of them than jobs), so the jobs are then
    found and counted through the (search, company) and company indexes. Both sides are folded
    (accounts.text.search_folded: no accents, lower case), so the database compares plain strings;
    `contains` escapes LIKE's wildcards, so "%" and "_" match literally."""
    folded = search_folded(text)
    company_match = Q(search_name__contains=folded)
    number = id_in_query(text)
    if number is not None:
        company_match |= Q(account_id=number)
    return SearchMatches(
        texts=_ids_or_subquery(SearchText.objects.filter(text__contains=folded)),
        companies=_ids_or_subquery(visible.filter(company_match)),
        number=number,
    )


def _search(matches: SearchMatches, *, company: str, search: str, pk: str) -> Q:
    condition = Q(**{f"{search}__in": matches.texts}) | Q(**{f"{company}__in": matches.companies})
    if matches.number is not None:
        condition |= Q(**{f"{pk}__in": ImportRow.objects.filter(result_account_id=matches.number).values("job_id")})
    return condition


class _NoIndex(Func):
    """`+column`: the same value, but the database may not use an index to find it.

    Used when a page is read by walking the sort's index (see imports.my_imports.pages.imports_page): without it SQLite
    prefers the index of a filter (company, status, creator) and then sorts every matching row.
    """

    template = "+(%(expressions)s)"

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor == "postgresql" and isinstance(self.output_field, IntegerField):
            # PostgreSQL has no unary + for numbers' indexes to ignore, but `+ 0` does the same: a
            # reseller's companies as an array (`(company_id + 0) = ANY(...)`) are then checked on
            # each entry of the sort's index by a hash lookup, never by its company index and a
            # sort of every job (a middle page of 100,000: 8.9 -> 3.6 ms).
            sql, params = compiler.compile(self.source_expressions[0])
            return f"({sql} + 0)", params
        if connection.vendor != "sqlite":
            return compiler.compile(self.source_expressions[0])  # (no unary + for text)
        return super().as_sql(compiler, connection, **extra_context)


def _scan_fields(queryset: QuerySet[ImportJob]) -> QuerySet[ImportJob]:
    return queryset.alias(
        _company=_NoIndex(F("company_id"), output_field=IntegerField()),
        _status=_NoIndex(F("status"), output_field=CharField()),
        _creator=_NoIndex(F("created_by_id"), output_field=IntegerField()),
        _search=_NoIndex(F("search_id"), output_field=IntegerField()),
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
        status, creator, search, pk = "_status", "_creator", "_search", "_id"
        queryset = _scan_fields(ImportJob.objects.all())
    else:
        company, status, creator, search, pk = "company_id", "status", "created_by_id", "search_id", "pk"
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
    elif not user_sees_all(user):
        # (A company the user cannot see is ignored, like any unknown value: no hint that it exists.)
        if names.subtree is None:
            names.subtree = _subtree_ids(visible)
        if isinstance(names.subtree, IdArray):
            queryset = queryset.filter(**{f"{company}__any": names.subtree})
        else:
            queryset = queryset.filter(**{f"{company}__in": names.subtree})
    if listing.statuses:
        queryset = queryset.filter(**{f"{status}__in": listing.statuses})
    if listing.source:
        queryset = queryset.filter(source=listing.source)
    if listing.account_type:
        queryset = queryset.filter(account_type=listing.account_type)
    if listing.creator is not None and not known:
        # Through the one visibility rule, like the company: a user the viewer may not see is ignored
        # like any unknown value (no chip, no filter, no hint that the id exists).
        names.creator = (
            users_visible_to(user, companies=visible).select_related(None).filter(pk=listing.creator).only("pk", "email").first()
        )
    if names.creator is not None:
        queryset = queryset.filter(**{creator: names.creator.pk})
    if listing.created_from:
        queryset = queryset.filter(created_at__gte=_day_start(listing.created_from))
    if listing.created_to and (end := _next_day_start(listing.created_to)):
        queryset = queryset.filter(created_at__lt=end)
    if listing.due_from:
        queryset = queryset.filter(due_at__gte=_day_start(listing.due_from))
    if listing.due_to and (end := _next_day_start(listing.due_to)):
        queryset = queryset.filter(due_at__lt=end)
    if listing.job is not None:
        queryset = queryset.filter(**{pk: listing.job})
    if listing.q:
        if names.search is None:
            names.search = _search_matches(visible, listing.q)
        queryset = queryset.filter(_search(names.search, company=company, search=search, pk=pk))
    return queryset, names


def listing_ordered(queryset: QuerySet[ImportJob], listing: Listing, *, reverse: bool = False) -> QuerySet[ImportJob]:
    column = SORTS[listing.sort][0]
    descending = listing.descending != reverse
    prefix = "-" if descending else ""
    return queryset.order_by(f"{prefix}{column}", f"{prefix}id")


def filter_choices(user: User, *, visible: QuerySet[Company] | None = None) -> dict:
    """The company and creator choices of the filter form: companies of the user's subtree (with
    their account id, the value kept in the address) and users of those companies."""
    visible = companies_visible_to(user) if visible is None else visible
    companies = visible.order_by("path").values_list("account_id", "name", "depth")
    creators = (
        users_visible_to(user, companies=visible).select_related(None).order_by("email").values_list("pk", "email")
    )
    return {
        "companies": list(companies[:FILTER_CHOICES_LIMIT]),
        "creators": list(creators[:FILTER_CHOICES_LIMIT]),
    }


def imports_for_api(user: User, listing: Listing) -> QuerySet[ImportJob]:
    """The API's list: My imports' filters and search (not its sort: the API pages by cursor,
    newest first), with each job's rows fetched up front."""
    queryset, _names = imports_filtered(user, listing)
    return with_rows_shown(queryset)


def imports_for_export(user: User, listing: Listing) -> QuerySet[ImportJob]:
    """Every row of the filtered list (all pages), in the list's order, for EXPORT: iterated in
    chunks (the rows of each chunk prefetched together), never held whole in memory."""
    queryset, _names = imports_filtered(user, listing)
    return with_rows_shown(listing_ordered(queryset, listing))
