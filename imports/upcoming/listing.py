"""What the address of the Upcoming view asks for: the horizon (7, 30 or 90 days), the kinds, the
company, the page size and the keyset cursor. The page and `GET /api/v1/upcoming/` read the same
parameters: the page falls back to the default on a value it cannot use and says so; the API
answers 400 with the same messages (upcoming_problems). This module knows no SQL.
"""

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, replace

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from core.api.pagination import CURSOR_INVALID, PER_PAGE_INVALID
from core.numbers import parse_whole
from imports.my_imports.listing import VALUE_NOT_A_NUMBER, VALUE_NOT_ALLOWED, _quoted

UTC = dt.timezone.utc

HORIZONS = (7, 30, 90)
DEFAULT_HORIZON = 30
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = PAGE_SIZES[-1]

# The kinds of what is scheduled, in the order a day lists them (their rank breaks ties in time).
PROVISIONING = "provisioning"
CHANGE = "change"
RENEWAL = "renewal"
RENEWAL_CHANGES = "renewal_changes"
WINDOW = "window"
KINDS = {
    PROVISIONING: _("New subscription"),
    CHANGE: _("Change"),
    RENEWAL: _("Renewal"),
    RENEWAL_CHANGES: _("Renewal with changes"),
    WINDOW: _("Cancellation window closes"),
}
# Renewals with and without changes are one list (the subscriptions' term ends): one rank.
RANKS = {PROVISIONING: 0, CHANGE: 1, RENEWAL: 2, RENEWAL_CHANGES: 2, WINDOW: 3}

HORIZON_INVALID = _("“%(value)s” is not a horizon; days takes 7, 30 or 90.")


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or, `before`, before) the item with this time, rank and id.

    Opaque to clients (base64 of "time|rank|id"), like the API's other cursors."""

    at: dt.datetime
    rank: int
    id: int
    before: bool = False

    def encode(self) -> str:
        text = f"{'b' if self.before else 'a'}|{self.at.astimezone(UTC).isoformat()}|{self.rank}|{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor | None":
        """The cursor this module encoded; None for anything else (a tampered or truncated one)."""
        if not text or len(text) > 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            direction, at_text, rank_text, id_text = raw.split("|")
            at = dt.datetime.fromisoformat(at_text)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        rank, pk = parse_whole(rank_text, maximum=9), parse_whole(id_text)
        if direction not in ("a", "b") or at.tzinfo is None or rank is None or pk is None:
            return None
        return cls(at=at.astimezone(UTC), rank=rank, id=pk, before=direction == "b")


def _one(data: QueryDict, name: str) -> str:
    value = data.get(name, "")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _kinds(data: QueryDict) -> list[str]:
    return [v.strip() for value in data.getlist("kind") for v in value.split(",") if v.strip()]


@dataclass(frozen=True)
class UpcomingQuery:
    """One view of Upcoming, as the address says it (always valid)."""

    days: int = DEFAULT_HORIZON
    kinds: tuple[str, ...] = ()  # none: every kind
    company: int | None = None  # account id: that company and every company below it
    per_page: int = DEFAULT_PAGE_SIZE
    cursor: Cursor | None = None

    @classmethod
    def parse(cls, data: QueryDict) -> "UpcomingQuery":
        days = parse_whole(_one(data, "days"), maximum=999)
        per_page = parse_whole(_one(data, "per_page"), maximum=999)
        return cls(
            days=days if days in HORIZONS else DEFAULT_HORIZON,
            kinds=tuple(kind for kind in KINDS if kind in _kinds(data)),
            company=parse_whole(_one(data, "company")),
            per_page=per_page if per_page and 1 <= per_page <= MAX_PAGE_SIZE else DEFAULT_PAGE_SIZE,
            cursor=Cursor.decode(_one(data, "cursor")),
        )

    @property
    def shown_kinds(self) -> tuple[str, ...]:
        return self.kinds or tuple(KINDS)

    def params(self, *, cursor: bool = True) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        if self.days != DEFAULT_HORIZON:
            pairs.append(("days", str(self.days)))
        pairs += [("kind", kind) for kind in self.kinds]
        if self.company is not None:
            pairs.append(("company", str(self.company)))
        if self.per_page != DEFAULT_PAGE_SIZE:
            pairs.append(("per_page", str(self.per_page)))
        if cursor and self.cursor is not None:
            pairs.append(("cursor", self.cursor.encode()))
        return pairs

    def urlencode(self, *, cursor: bool = True) -> str:
        query = QueryDict(mutable=True)
        for name, value in self.params(cursor=cursor):
            query.appendlist(name, value)
        return query.urlencode()

    def with_(self, **changes) -> "UpcomingQuery":
        changes.setdefault("cursor", None)
        return replace(self, **changes)


def upcoming_problems(data: QueryDict) -> dict[str, list[str]]:
    """{parameter: [messages]} for every value UpcomingQuery.parse would ignore. Empty values are no
    filter (the form sends them), not a problem."""
    problems: dict[str, list[str]] = {}

    def add(name: str, message, **params):
        problems.setdefault(name, []).append(str(message) % {"name": name, **params})

    if (value := _one(data, "days")) and parse_whole(value, maximum=999) not in HORIZONS:
        add("days", HORIZON_INVALID, value=_quoted(value))
    for kind in _kinds(data):
        if kind not in KINDS:
            add("kind", VALUE_NOT_ALLOWED, value=_quoted(kind), allowed=", ".join(KINDS))
    if (value := _one(data, "company")) and parse_whole(value) is None:
        add("company", VALUE_NOT_A_NUMBER, value=_quoted(value))
    if value := _one(data, "per_page"):
        number = parse_whole(value, maximum=999)
        if not number or number > MAX_PAGE_SIZE:
            add("per_page", PER_PAGE_INVALID, value=_quoted(value), max=MAX_PAGE_SIZE)
    if (value := _one(data, "cursor")) and Cursor.decode(value) is None:
        problems.setdefault("cursor", []).append(str(CURSOR_INVALID))
    return problems
