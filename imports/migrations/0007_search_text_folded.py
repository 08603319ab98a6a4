"""ImportJob.search_text is now stored folded (no accents, lower case), as imports.jobs.services writes it:
fold what the existing jobs have. The indexes stay; only the values change."""

import unicodedata

from django.db import migrations

CHUNK = 2000


def _folded(text):
    # accounts.text.search_folded as it was when this migration was written (frozen here).
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(unicodedata.normalize("NFKC", stripped.casefold()).split())[:1000]


def fold_search_text(apps, schema_editor):
    ImportJob = apps.get_model("imports", "ImportJob")
    last = 0
    while True:
        # Read a chunk, then write it: no UPDATE while a SELECT on the same table is open (SQLite),
        # and never the whole table in memory.
        rows = list(ImportJob.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "search_text")[:CHUNK])
        if not rows:
            return
        last = rows[-1][0]
        changed = [ImportJob(pk=pk, search_text=_folded(text)) for pk, text in rows if _folded(text) != text]
        ImportJob.objects.bulk_update(changed, ["search_text"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0006_webhook_deliveries"),
    ]

    operations = [
        migrations.RunPython(fold_search_text, migrations.RunPython.noop),
    ]
