"""Cursor pagination: stable pages while jobs are being added, and a deep page costs what the
first costs. `per_page` as on My imports (10 by default, at most 100)."""

from rest_framework.pagination import CursorPagination


class NewestFirstCursor(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 10
    page_size_query_param = "per_page"
    max_page_size = 100


class AccountIdCursor(CursorPagination):
    ordering = ("account_id",)
    page_size = 50
    page_size_query_param = "per_page"
    max_page_size = 100
