"""Cursor pagination: stable pages while jobs are being added, and a deep page costs what the
first costs. `per_page` as on My imports (10 by default, at most 100).

A cursor is the client's to send back as it was given: a tampered one (not base64, or a position
that is no value of the ordering's field, or one the database cannot hold) is a 400 with one
message, never a 500 from the query it would have made."""

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination

CURSOR_INVALID = _("The cursor is not one this API gave: follow the next and previous links as they are.")
PER_PAGE_INVALID = _("“%(value)s” is not a page size; per_page takes a whole number from 1 to %(max)d.")


class _CheckedCursor(CursorPagination):
    _ordering_field = None

    def get_page_size(self, request):
        """per_page as asked; a value that is no whole number from 1 to max_page_size is a 400 (DRF
        would quietly give the default page size instead, hiding the client's typo)."""
        text = request.query_params.get(self.page_size_query_param)
        if text is None or not text.strip():
            return self.page_size
        value = text.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 9 and 1 <= int(value) <= self.max_page_size):
            shown = value if len(value) <= 40 else value[:39] + "…"
            raise exceptions.ValidationError(
                {self.page_size_query_param: [str(PER_PAGE_INVALID % {"value": shown, "max": self.max_page_size})]}
            )
        return int(value)

    def paginate_queryset(self, queryset, request, view=None):
        self._ordering_field = queryset.model._meta.get_field(self.ordering[0].lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:  # DRF's "Invalid cursor", a 404 as if the list were not there
            raise invalid_cursor() from None
        if cursor is not None and cursor.position is not None and self._ordering_field is not None:
            try:
                value = self._ordering_field.clean(cursor.position, None)  # type and the database's range
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    value.astimezone(dt.timezone.utc)  # what the database is given: year 10000 overflows
            except (DjangoValidationError, ValueError, TypeError, OverflowError):
                raise invalid_cursor() from None
        return cursor


def invalid_cursor() -> exceptions.ValidationError:
    return exceptions.ValidationError({"cursor": [CURSOR_INVALID]})


class NewestFirstCursor(_CheckedCursor):
    ordering = ("-created_at", "-id")
    page_size = 10
    page_size_query_param = "per_page"
    max_page_size = 100


class AccountIdCursor(_CheckedCursor):
    ordering = ("account_id",)
    page_size = 50
    page_size_query_param = "per_page"
    max_page_size = 100
