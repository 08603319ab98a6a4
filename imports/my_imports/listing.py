"""What the address of My imports asks for: rows per page, page, sort, filters and search.

Everything the list shows is kept in the query string, so a view can be bookmarked and shared.
Parsing never fails: an unknown value, a page size we do not offer or a page number that is not a
number falls back to the default, never to an error page. The reading of the database for it is
imports.my_imports.pages.imports_page's; this module knows no SQL.
"""

import datetime as dt
from dataclasses import dataclass, field, replace

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from core.numbers import parse_whole
from imports.models import ImportJob

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = PAGE_SIZES[0]
# Search text longer than this is cut, not refused (a pasted paragraph still searches).
SEARCH_MAX_LENGTH = 200
# Page numbers are bounded before int(): "9" * 5000 must not cost a big-number parse.
_PAGE_MAX_DIGITS = 9

# Sort key in the address → (model field, column label). The manual's default is Date created UTC ↓.
SORTS = {
    "created": ("created_at", _("Date created UTC")),
    "schedule": ("due_at", _("Import schedule date (UTC)")),
    "status": ("status", _("Status")),
    "imported": ("imported_count", _("Imported accounts (No.)")),
    "errors": ("error_count", _("Errors (No.)")),
}
DEFAULT_SORT = "created"
DEFAULT_DESCENDING = True

STATUS_VALUES = frozenset(ImportJob.Status.values)
SOURCE_VALUES = frozenset(ImportJob.Source.values)
ACCOUNT_TYPE_VALUES = frozenset(ImportJob.AccountType.values)
DATE_FORMAT = "%Y-%m-%d"


def _one(data: QueryDict, name: str) -> str:
    value = data.get(name, "")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _positive_int(text: str) -> int | None:
    number = parse_whole(text, maximum=10**_PAGE_MAX_DIGITS - 1)
    return number if number else None


def _big_id(text: str) -> int | None:
    """An account id or user id from the address (ids are 64-bit: larger ones cannot exist)."""
    return parse_whole(text)


def _date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, DATE_FORMAT).date() if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Cursor:
    """Where a page starts for keyset pagination: after (or before) the row with this sort value and id."""

    value: str
    id: int
    before: bool = False

    def encode(self) -> str:
        return f"{self.value}~{self.id}"


def _cursor(text: str, *, before: bool) -> Cursor | None:
    value, sep, pk = text.rpartition("~")
    pk_value = _big_id(pk)
    if not sep or pk_value is None or not value or len(value) > 40:
        return None
    return Cursor(value=value, id=pk_value, before=before)


@dataclass(frozen=True)
class Listing:
    """One view of My imports, as the address says it (always valid)."""

    per_page: int = DEFAULT_PAGE_SIZE
    page: int = 1
    sort: str = DEFAULT_SORT
    descending: bool = DEFAULT_DESCENDING
    statuses: tuple[str, ...] = ()
    source: str = ""
    account_type: str = ""
    company: int | None = None  # account id: that company and every company below it
    creator: int | None = None  # user id
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    q: str = ""
    job: int | None = None  # one job by its number: the links between a failed job and its retry
    # Keyset pagination: set only on the links to the next and previous page (see selectors).
    cursor: Cursor | None = field(default=None, compare=False)

    FILTER_FIELDS = ("statuses", "source", "account_type", "company", "creator",
                     "created_from", "created_to", "due_from", "due_to", "q", "job")

    @classmethod
    def parse(cls, data: QueryDict, *, default_per_page: int = DEFAULT_PAGE_SIZE) -> "Listing":
        """default_per_page: the user's remembered rows per page (imports.my_imports.preferences),
        for an address that does not say (links say any size but the manual's 10, as before)."""
        default_per_page = default_per_page if default_per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE
        per_page = _positive_int(_one(data, "per_page"))
        sort_text = _one(data, "sort")
        descending = sort_text.startswith("-") if sort_text else DEFAULT_DESCENDING
        sort = sort_text.lstrip("-")
        if sort not in SORTS:
            sort, descending = DEFAULT_SORT, DEFAULT_DESCENDING
        statuses = tuple(sorted({s for s in data.getlist("status") if s in STATUS_VALUES}))
        source = _one(data, "source")
        account_type = _one(data, "account_type")
        cursor = None
        if after := _one(data, "after"):
            cursor = _cursor(after, before=False)
        elif before := _one(data, "before"):
            cursor = _cursor(before, before=True)
        return cls(
            per_page=per_page if per_page in PAGE_SIZES else default_per_page,
            page=_positive_int(_one(data, "page")) or 1,
            sort=sort,
            descending=descending,
            statuses=statuses,
            source=source if source in SOURCE_VALUES else "",
            account_type=account_type if account_type in ACCOUNT_TYPE_VALUES else "",
            company=_big_id(_one(data, "company")),
            creator=_big_id(_one(data, "creator")),
            created_from=_date(_one(data, "created_from")),
            created_to=_date(_one(data, "created_to")),
            due_from=_date(_one(data, "due_from")),
            due_to=_date(_one(data, "due_to")),
            q=_one(data, "q")[:SEARCH_MAX_LENGTH],
            job=_big_id(_one(data, "job")),
            cursor=cursor,
        )

    # --- Back to the address -----------------------------------------------------------------------

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort

    @property
    def has_filters(self) -> bool:
        return any(getattr(self, name) for name in self.FILTER_FIELDS)

    def params(self, *, page: bool = True) -> list[tuple[str, str]]:
        """The query string as pairs; defaults left out (the page number is kept when asked for)."""
        pairs: list[tuple[str, str]] = []
        if page:
            pairs.append(("page", str(self.page)))
        if self.per_page != DEFAULT_PAGE_SIZE:
            pairs.append(("per_page", str(self.per_page)))
        if (self.sort, self.descending) != (DEFAULT_SORT, DEFAULT_DESCENDING):
            pairs.append(("sort", self.sort_param))
        pairs += [("status", status) for status in self.statuses]
        for name in ("source", "account_type", "company", "creator", "q", "job"):
            if value := getattr(self, name):
                pairs.append((name, str(value)))
        for name in ("created_from", "created_to", "due_from", "due_to"):
            if value := getattr(self, name):
                pairs.append((name, value.isoformat()))  # 0001-01-01, where strftime says 1-01-01
        if page and self.cursor is not None:
            pairs.append(("before" if self.cursor.before else "after", self.cursor.encode()))
        return pairs

    def urlencode(self, *, page: bool = True) -> str:
        query = QueryDict(mutable=True)
        for name, value in self.params(page=page):
            query.appendlist(name, value)
        return query.urlencode()

    def with_(self, **changes) -> "Listing":
        """A copy with `changes`; without a cursor unless one is given (it belongs to one link)."""
        changes.setdefault("cursor", None)
        return replace(self, **changes)

    def sorted_by(self, key: str) -> "Listing":
        """The column header's link: the same view sorted by `key`, flipping the direction when it
        is already the sort (first click: newest / largest first, as the manual's ↓)."""
        descending = not self.descending if key == self.sort else True
        return self.with_(sort=key, descending=descending, page=1)

    def cleared(self) -> "Listing":
        """Clear all: no filters and no search; rows per page and sort stay."""
        return Listing(per_page=self.per_page, sort=self.sort, descending=self.descending)


# --- What the address says that parsing had to leave out ------------------------------------------
#
# The page falls back and says so (a message above the list); the API answers 400 with them
# (imports.api.views), so a client's typo never silently widens what it reads.

VALUE_NOT_ALLOWED = _("“%(value)s” is not a value of %(name)s; allowed values: %(allowed)s.")
VALUE_NOT_A_NUMBER = _("“%(value)s” is not a whole number (%(name)s takes an id).")
VALUE_NOT_A_DATE = _("“%(value)s” is not a date; %(name)s takes YYYY-MM-DD, e.g. 2024-07-31.")
# What is quoted back of a value: a pasted paragraph is not repeated whole.
QUOTED_MAX = 40


def _quoted(value: str) -> str:
    return value if len(value) <= QUOTED_MAX else value[: QUOTED_MAX - 1] + "…"


def listing_problems(data: QueryDict) -> dict[str, list[str]]:
    """{parameter: [messages]} for every filter value in the address that Listing.parse ignores
    (an unknown status, a company id that is not a number, a date that is not one). Empty values
    are no filter (the filter form sends them), not a problem."""
    problems: dict[str, list[str]] = {}

    def add(name: str, message, value: str, **extra):
        problems.setdefault(name, []).append(str(message) % {"value": _quoted(value), "name": name, **extra})

    choices = {"status": ImportJob.Status.values, "source": ImportJob.Source.values,
               "account_type": ImportJob.AccountType.values}
    for name, allowed in choices.items():
        for value in data.getlist(name):
            value = value.strip() if isinstance(value, str) else ""
            if value and value not in allowed:
                add(name, VALUE_NOT_ALLOWED, value, allowed=", ".join(allowed))
    for name in ("company", "creator", "job"):
        if (value := _one(data, name)) and _big_id(value) is None:
            add(name, VALUE_NOT_A_NUMBER, value)
    for name in ("created_from", "created_to", "due_from", "due_to"):
        if (value := _one(data, name)) and _date(value) is None:
            add(name, VALUE_NOT_A_DATE, value)
    return problems


# --- The date filters of the form: ISO text boxes, as every date typed in the portal ------------------
#
# Not <input type=date>: its picker shows the browser's locale (mm/dd/yyyy, even in Spanish), where the
# portal has one way to type dates (core.datetimes: YYYY-MM-DD). The parameters and their values are
# the address's (other tools build it); a value that is not a date stays in its box, marked, with
# the message under it (listing_problems says it above the list too).

DATE_FILTERS = (
    ("created_from", _("Created from")),
    ("created_to", _("Created until")),
    ("due_from", _("Scheduled from")),
    ("due_to", _("Scheduled until")),
)
DATE_PLACEHOLDER = _("YYYY-MM-DD")
DATE_FILTER_INVALID = _("Enter the date as YYYY-MM-DD, e.g. 2024-07-31.")
# A date is 10 characters; room for one pasted with white space around it (trimmed when read).
DATE_MAX_LENGTH = 40


def date_filters(data: QueryDict, listing: Listing) -> list[dict]:
    """One box per date filter: its parameter, label, the value shown (the date as the list reads
    it, or the text typed when it is not a date) and the message for a text that is not one."""
    boxes = []
    for name, label in DATE_FILTERS:
        typed = _one(data, name)[:DATE_MAX_LENGTH]
        value = getattr(listing, name)
        invalid = bool(typed) and _date(typed) is None
        boxes.append({
            "name": name, "label": label,
            "value": typed if invalid else (value.isoformat() if value else ""),
            "error": DATE_FILTER_INVALID if invalid else "",
        })
    return boxes


# --- Chips: the current filters, each removable --------------------------------------------------

CHIP_STATUS = _("Status: %(value)s")
CHIP_SOURCE = _("Source: %(value)s")
CHIP_ACCOUNT_TYPE = _("Account type: %(value)s")
CHIP_COMPANY = _("Company: %(value)s (and below)")
CHIP_CREATOR = _("Creator: %(value)s")
CHIP_CREATED_FROM = _("Created from: %(value)s")
CHIP_CREATED_TO = _("Created until: %(value)s")
CHIP_DUE_FROM = _("Scheduled from: %(value)s")
CHIP_DUE_TO = _("Scheduled until: %(value)s")
CHIP_SEARCH = _("Search: “%(value)s”")
CHIP_JOB = _("Import #%(value)s")


def chips(listing: Listing, *, company_name: str | None, creator_email: str | None) -> list[tuple[str, Listing]]:
    """(label, the same view without that filter) for every filter in force, page 1."""
    found: list[tuple[str, Listing]] = []

    def add(label, value, **without):
        found.append((str(label % {"value": value}), listing.with_(page=1, **without)))

    for status in listing.statuses:
        add(CHIP_STATUS, ImportJob.Status(status).label, statuses=tuple(s for s in listing.statuses if s != status))
    if listing.source:
        add(CHIP_SOURCE, ImportJob.Source(listing.source).label, source="")
    if listing.account_type:
        add(CHIP_ACCOUNT_TYPE, ImportJob.AccountType(listing.account_type).label, account_type="")
    if listing.company is not None and company_name is not None:
        add(CHIP_COMPANY, f"{company_name} ({listing.company})", company=None)
    if listing.creator is not None and creator_email is not None:
        add(CHIP_CREATOR, creator_email, creator=None)
    for name, label in (("created_from", CHIP_CREATED_FROM), ("created_to", CHIP_CREATED_TO),
                        ("due_from", CHIP_DUE_FROM), ("due_to", CHIP_DUE_TO)):
        if value := getattr(listing, name):
            add(label, value.isoformat(), **{name: None})
    if listing.q:
        add(CHIP_SEARCH, listing.q, q="")
    if listing.job is not None:
        add(CHIP_JOB, listing.job, job=None)
    return found
