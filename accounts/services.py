"""Writes on companies, users and the audit log."""

from django.db import transaction

from .models import AccountNumber, AuditLogEntry, Company, User


def account_ids_allocate(*, count: int = 1) -> list[int]:
    """Reserve `count` new ICP account ids from the shared sequence (one INSERT for any count)."""
    if count <= 0:
        return []
    rows = AccountNumber.objects.bulk_create([AccountNumber() for _ in range(count)])
    ids = [row.pk for row in rows]
    if any(pk is None for pk in ids):  # backends without RETURNING: fall back to one insert each
        ids = [AccountNumber.objects.create().pk for _ in range(count)]
    return ids


def audit_log_record(*, company: Company, actor: User | None, action: str, message: str) -> AuditLogEntry:
    return AuditLogEntry.objects.create(company=company, actor=actor, action=action, message=message)


@transaction.atomic
def company_create(*, name: str, parent: Company | None, kind: str = Company.Kind.CUSTOMER, actor: User | None = None, **fields) -> Company:
    if "account_id" not in fields or "numeric_id" not in fields:
        account_id, numeric_id = account_ids_allocate(count=2)
        fields.setdefault("account_id", account_id)
        fields.setdefault("numeric_id", numeric_id)
    company = Company(name=name, parent=parent, kind=kind, **fields)
    company.full_clean()
    company.save()
    if parent is not None:
        audit_log_record(company=company, actor=actor, action="company.created", message=f"Company {name} created.")
    return company
