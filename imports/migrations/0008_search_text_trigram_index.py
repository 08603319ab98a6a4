"""On PostgreSQL, a trigram index (pg_trgm) on ImportJob.search_text (see _trigram). Migration 0009
moves the search text to its own table (SearchText); dropping the column drops this index."""

from django.db import migrations

from imports.migrations._trigram import trigram_index_create, trigram_index_drop

INDEX = "import_job_search_trgm"


def create_index(apps, schema_editor):
    trigram_index_create(schema_editor, name=INDEX, table="imports_importjob", column="search_text")


def drop_index(apps, schema_editor):
    trigram_index_drop(schema_editor, name=INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0007_search_text_folded"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
