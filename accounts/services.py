"""Writes on companies, users and the audit log."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.impersonation import current_impersonator_id
from accounts.models import AccountNumber, AuditLogEntry, Company, User
from core.stored_messages import stored


AUDIT_COMPANY_CREATED = _("Company %(name)s created.")
AUDIT_COMPANY_CHANGED = _("Company %(name)s changed: %(fields)s.")


def account_ids_allocate(*, count: int = 1) -> list[int]:
    """Reserve `count` new ICP account ids from the shared sequence (one INSERT for any count)."""
    if count <= 0:
        return []
    rows = AccountNumber.objects.bulk_create([AccountNumber() for _ in range(count)])
    ids = [row.pk for row in rows]
    if any(pk is None for pk in ids):  # backends without RETURNING: fall back to one insert each
        ids = [AccountNumber.objects.create().pk for _ in range(count)]
    return ids


def audit_log_record(
    *, company: Company, actor: User | None, action: str, message: str, target_user: User | None = None
) -> AuditLogEntry:
    """One audit entry. While staff impersonate `actor` (accounts.impersonation), the entry names
    the staff member too, whichever service writes it. `message` is stored text
    (core.stored_messages.stored: a message and its parameters), shown in the reader's language."""
    impersonator_id = current_impersonator_id()
    if actor is None or impersonator_id == actor.pk:
        impersonator_id = None
    return AuditLogEntry.objects.create(
        company=company,
        actor=actor,
        impersonator_id=impersonator_id,
        target_user=target_user,
        action=action,
        message=message,
    )


# The ICP ids of a company: left out (or None), they come from the shared account-number sequence.
COMPANY_ID_FIELDS = ("account_id", "numeric_id")


@transaction.atomic
def company_create(
    *, name: str, parent: Company | None, kind: str = Company.Kind.CUSTOMER, actor: User | None = None, **fields
) -> Company:
    """A new company in the tree (its path below `parent`), with its ids allocated when not given; audited."""
    missing = [field for field in COMPANY_ID_FIELDS if fields.get(field) is None]
    fields.update(zip(missing, account_ids_allocate(count=len(missing))))
    company = Company(name=name, parent=parent, kind=kind, **fields)
    company.full_clean()
    company.save()
    audit_log_record(company=company, actor=actor, action="company.created", message=stored(AUDIT_COMPANY_CREATED, name=name))
    return company


@transaction.atomic
def company_update(*, company: Company, actor: User | None, **fields) -> Company:
    """Change a company's details; a new parent moves its whole subtree (Company.save). Audited with
    the names of the fields that changed; nothing is written when nothing changed."""
    saved = Company.objects.get(pk=company.pk)
    changed = sorted(name for name, value in fields.items() if getattr(saved, name) != value)
    for name, value in fields.items():
        setattr(company, name, value)
    if not changed:
        return company
    company.full_clean()
    company.save()
    message = stored(AUDIT_COMPANY_CHANGED, name=company.name, fields=", ".join(changed))
    audit_log_record(company=company, actor=actor, action="company.changed", message=message)
    return company
