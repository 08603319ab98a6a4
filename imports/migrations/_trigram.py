"""A trigram index (pg_trgm) for a column searched with LIKE '%text%', on PostgreSQL only: a search
then reads the rows that can match, not every row. SQLite has no such index; there, and on a
PostgreSQL whose migrating user may not create the extension, searches still work by reading every
row (the index is an optimisation, never a requirement, so its absence is reported and the
migration goes on).

Not in a model's Meta.indexes: an index that exists on one database only cannot be declared there.
"""

import logging

from django.db import DatabaseError, transaction

logger = logging.getLogger("imports.migrations")


def trigram_index_create(schema_editor, *, name: str, table: str, column: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint: a refusal is not fatal
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")
    except DatabaseError as exc:
        logger.warning("My imports' search index %s was not created (searches read every row instead): %s", name, exc)


def trigram_index_drop(schema_editor, *, name: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
