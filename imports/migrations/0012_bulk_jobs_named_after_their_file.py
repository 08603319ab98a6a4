from django.db import migrations
from django.db.models import OuterRef, Subquery


def name_bulk_jobs_after_their_file(apps, schema_editor):
    """Bulk imports were created without a name (My imports showed "-"); new ones are named after
    their uploaded file (imports.bulk.services). Earlier ones take the name of the upload that
    started them, kept as its ImportFile; a job without one (made outside the services) stays "-"."""
    ImportJob = apps.get_model("imports", "ImportJob")
    ImportFile = apps.get_model("imports", "ImportFile")
    file_name = ImportFile.objects.filter(job=OuterRef("pk")).values("name")[:1]
    unnamed = ImportJob.objects.filter(source="import", name="", file__isnull=False)
    unnamed.update(name=Subquery(file_name))


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0011_lease_only_in_progress"),
    ]

    operations = [
        migrations.RunPython(name_bulk_jobs_after_their_file, migrations.RunPython.noop),
    ]
