from django.db import migrations


def advance_sequence(apps, schema_editor):
    # 0002 inserted id 900000 explicitly; PostgreSQL's identity sequence does not follow explicit ids.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "SELECT setval(pg_get_serial_sequence('accounts_accountnumber', 'id'), "
            "GREATEST((SELECT COALESCE(MAX(id), 0) FROM accounts_accountnumber), 900000))"
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_account_number_start")]
    operations = [migrations.RunPython(advance_sequence, migrations.RunPython.noop)]
