"""On PostgreSQL, a trigram index (pg_trgm) on ImportJob.search_text: a search of My imports that
matches few jobs (a company name, an import name, one product code) then reads those jobs only, not
every job's text. SQLite has no such index; there, and on a PostgreSQL whose migrating user may not
create the extension, the search still works, by reading every job (the index is an optimisation,
never a requirement, so its absence is reported and the migration goes on).

Not in ImportJob.Meta.indexes: an index that exists on one database only cannot be declared there.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)
INDEX = "import_job_search_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint: a refusal is not fatal
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON imports_importjob USING gin (search_text gin_trgm_ops)"
            )
    except DatabaseError as exc:
        logger.warning("My imports' search index was not created (searches read every job instead): %s", exc)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0007_search_text_folded"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
