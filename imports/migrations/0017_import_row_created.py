# Issue 24: what a bulk import's company or user line created, kept on its row.

from django.db import migrations, models


def backfill(apps, schema_editor):
    """Rows completed before: a company line's company by its account id; a user line's user by the
    email its line gave (stored lowercased, as user_create writes it). What cannot be found stays empty."""
    ImportRow = apps.get_model("imports", "ImportRow")
    Company = apps.get_model("accounts", "Company")
    User = apps.get_model("accounts", "User")
    rows = ImportRow.objects.filter(status="completed", import_type__in=["company", "user"]).only(
        "id", "import_type", "payload", "result_account_id"
    )
    changed = []
    for row in rows.iterator(chunk_size=1000):
        if row.import_type == "company" and row.result_account_id:
            company = Company.objects.filter(account_id=row.result_account_id).only("name").first()
            if company is not None:
                row.created = {"name": company.name}
                changed.append(row)
        elif row.import_type == "user":
            values = (row.payload or {}).get("values") or {}
            email = str(values.get("email") or "").strip().lower()
            user = User.objects.filter(email__iexact=email).only("id", "email", "first_name", "last_name").first() if email else None
            if user is not None:
                name = f"{user.first_name} {user.last_name}".strip()
                row.created = {"user_id": user.pk, "email": user.email, "name": name}
                changed.append(row)
        if len(changed) >= 1000:
            ImportRow.objects.bulk_update(changed, ["created"])
            changed = []
    if changed:
        ImportRow.objects.bulk_update(changed, ["created"])


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0016_engine_worker'),
        ('accounts', '0010_stored_audit_messages'),
    ]

    operations = [
        migrations.AddField(
            model_name='importrow',
            name='created',
            field=models.JSONField(blank=True, default=dict, verbose_name='created account'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
