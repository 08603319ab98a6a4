"""The search text moves from each job to a table of distinct texts (SearchText), which jobs point
at: the jobs of one service or one file share one text, so a search compares each distinct text
once and finds the jobs through the (search, company) index. The existing jobs' texts are moved,
in chunks; the trigram index (PostgreSQL, see _trigram) moves to the new table."""

import hashlib

import django.db.models.deletion
from django.db import migrations, models

from imports.migrations._trigram import trigram_index_create, trigram_index_drop

INDEX = "import_search_text_trgm"
CHUNK = 2000


def texts_move(apps, schema_editor):
    ImportJob, SearchText = apps.get_model("imports", "ImportJob"), apps.get_model("imports", "SearchText")
    # Read whole before writing (far fewer distinct texts than jobs): no cursor open over a table
    # being updated.
    texts = list(ImportJob.objects.exclude(search_text="").order_by().values_list("search_text", flat=True).distinct())
    for start in range(0, len(texts), CHUNK):
        entries = SearchText.objects.bulk_create(
            [SearchText(text=text, digest=hashlib.sha256(text.encode()).hexdigest()) for text in texts[start:start + CHUNK]]
        )
        for entry in entries:
            ImportJob.objects.filter(search_text=entry.text).update(search_id=entry.pk)


def texts_move_back(apps, schema_editor):
    ImportJob, SearchText = apps.get_model("imports", "ImportJob"), apps.get_model("imports", "SearchText")
    for entry in SearchText.objects.order_by("pk").iterator(chunk_size=CHUNK):
        ImportJob.objects.filter(search_id=entry.pk).update(search_text=entry.text)


def index_create(apps, schema_editor):
    trigram_index_create(schema_editor, name=INDEX, table="imports_searchtext", column="text")


def index_drop(apps, schema_editor):
    trigram_index_drop(schema_editor, name=INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0008_webhook_endpoint"),
        ("imports", "0008_search_text_trigram_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchText",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(editable=False, max_length=1000, verbose_name="search text")),
                ("digest", models.CharField(editable=False, max_length=64, unique=True)),
            ],
            options={
                "verbose_name": "search text",
                "verbose_name_plural": "search texts",
            },
        ),
        migrations.AddField(
            model_name="importjob",
            name="search",
            field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="jobs", to="imports.searchtext", verbose_name="search text"),
        ),
        migrations.RunPython(texts_move, texts_move_back),
        migrations.RemoveIndex(
            model_name="importjob",
            name="import_job_search_company",
        ),
        migrations.RemoveField(
            model_name="importjob",
            name="search_text",
        ),
        migrations.AddIndex(
            model_name="importjob",
            index=models.Index(fields=["search", "company"], name="import_job_search_company"),
        ),
        migrations.RunPython(index_create, index_drop),
    ]
