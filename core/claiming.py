"""Claiming rows with a conditional UPDATE, safely under concurrency, on SQLite and PostgreSQL."""

from collections.abc import Callable

from django.db import connection
from django.db.models import QuerySet


def writers_serialized() -> bool:
    """True when, inside a transaction, rows this connection selected cannot be changed by
    another connection before commit: PostgreSQL's row locks (FOR UPDATE SKIP LOCKED) or
    SQLite's single writer (its transactions start with BEGIN IMMEDIATE, see settings)."""
    return connection.features.has_select_for_update_skip_locked or connection.vendor == "sqlite"


def claim_ids(
    queryset: QuerySet,
    *,
    limit: int | None,
    move: Callable[[list[int]], int],
    move_one: Callable[[int], bool],
) -> list[int]:
    """Select candidate ids and move them with a conditional update; returns the ids this call won.

    Must run inside a transaction. With row locks (PostgreSQL: select_for_update(skip_locked=True),
    so concurrent passes take disjoint sets without waiting for each other) or a single writer
    (SQLite), every selected row is still ours at UPDATE time and one UPDATE moves them all.
    Anywhere else each row gets its own conditional UPDATE and only the ones that won are returned.
    """
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    candidates = queryset.values_list("pk", flat=True)
    ids = list(candidates[:limit] if limit is not None else candidates)
    if not ids:
        return []
    if writers_serialized():
        moved = move(ids)
        if moved != len(ids):  # impossible under the guarantee above; never hand a row out twice
            raise RuntimeError(f"Moved {moved} of {len(ids)} selected rows; rolling back.")
        return ids
    return [pk for pk in ids if move_one(pk)]
