from django.db import migrations


def start_sequence(apps, schema_editor):
    # New account ids are handed out above the manual's demo ids; see AccountNumber.FIRST_ID.
    AccountNumber = apps.get_model("accounts", "AccountNumber")
    AccountNumber.objects.get_or_create(pk=900000)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(start_sequence, migrations.RunPython.noop)]
