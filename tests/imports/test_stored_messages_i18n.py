"""Failure reasons and audit entries are written by a worker (in English) and read later in the reader's
language: Spanish pages, the API in the request's language, emails in the recipient's, while the
English reader sees exactly what it saw before (core.stored_messages)."""

import datetime as dt
import importlib
import re

import pytest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import override
from freezegun import freeze_time

from accounts.models import AuditLogEntry
from accounts.users.selectors import user_log_for
from core.stored_messages import _lazy_parts, rendered, stored
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, Notification
from imports.notify.content import email_build
from orders.validation import PARENT_ACCOUNT_INACTIVE

from tests.api.conftest import client_for, token_for

from .helpers import UTC, schedule

pytestmark = pytest.mark.django_db

DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)
ENGLISH_REASON = "The parent account ERITECH PERU S.A. is not active (status: Suspended)."
SPANISH_REASON = "La cuenta padre ERITECH PERU S.A. no está activa (estado: Suspendida)."

# Every module whose messages are stored (failure reasons, audit entries and their parts).
STORING_MODULES = [
    "orders.validation", "catalog.integrations.microsoft", "imports.engine.runner", "imports.engine.plugins",
    "imports.bulk.rows", "accounts.models", "catalog.services", "orders.services", "imports.jobs.services",
    "imports.bulk.services", "accounts.users.api_tokens", "accounts.users.services", "accounts.services",
    "accounts.impersonation_audit", "accounts.webhooks", "accounts.admin", "imports.models.jobs", "accounts.companies.services",
]
# The reasons the checks and the engine give, whatever their constant's name.
REASON_MODULES = {"orders.validation", "catalog.integrations.microsoft", "imports.engine.runner", "imports.engine.plugins", "imports.bulk.rows"}
STORED_PREFIXES = ("AUDIT_", "SETTING_", "TOKENS_REVOKED_", "PASSWORD_SET_VIA_", "JOB_UNNAMED", "YES", "NO")
# Messages whose Spanish is the English, on purpose (only placeholders or the same word).
SAME_IN_SPANISH = {"%(type)s %(account_id)s", "%(source)s #%(id)s", "%(column)s %(value)s: %(reason)s", "no"}
# Shown where a reseller types a value, not stored: the schedule field's errors.
NOT_STORED = {"SCHEDULE_IN_PAST", "SCHEDULE_TOO_FAR"}


def stored_messages():
    for name in STORING_MODULES:
        module = importlib.import_module(name)
        for constant, value in vars(module).items():
            if constant in NOT_STORED or not (name in REASON_MODULES or constant.startswith(STORED_PREFIXES)):
                continue
            for message in value.values() if isinstance(value, dict) else [value]:
                if isinstance(message, Promise):
                    yield pytest.param(message, id=f"{name}.{constant}:{_lazy_parts(message)[0][:30]}")


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\((\w+)\)s", text))


@pytest.mark.parametrize("message", list(stored_messages()))
def test_every_stored_message_has_its_spanish_with_the_same_placeholders(message):
    msgid, _context = _lazy_parts(message)
    with override("es"):
        spanish = str(message)
    assert spanish != msgid or msgid in SAME_IN_SPANISH, f"no Spanish for {msgid!r}"
    assert placeholders(spanish) == placeholders(msgid)
    params = {name: f"<{name}>" for name in placeholders(msgid)}
    with override("es"):
        assert rendered(stored(message, **params)) == (spanish % params if params else spanish)
    with override("en"):
        assert rendered(stored(message, **params)) == (msgid % params if params else msgid)


@pytest.fixture
def failed_job(demo):
    """A scheduled order whose company is suspended when it comes due: the worker fails it (in English)."""
    with freeze_time("2024-07-31 09:00:00"):
        job = schedule(demo, due_at=DUE)
    demo.eritech.status = demo.eritech.Status.SUSPENDED
    demo.eritech.save()
    with freeze_time(DUE), override("en"):
        dispatch_due_imports(now=DUE)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    return job


def test_the_worker_stores_the_reason_and_the_audit_entry_as_messages(failed_job):
    row = failed_job.rows.get()
    assert row.error.startswith("i18n:") and row.error == stored(
        PARENT_ACCOUNT_INACTIVE, company="ERITECH PERU S.A.", status=failed_job.company.Status.SUSPENDED.label
    )
    entry = AuditLogEntry.objects.get(action="import.failed", company=failed_job.company)
    with override("en"):
        assert row.failure_reason == ENGLISH_REASON
        assert rendered(entry.message) == f"Import '{failed_job.name}' failed: {ENGLISH_REASON}"
    with override("es"):
        assert row.failure_reason == SPANISH_REASON
        assert rendered(entry.message) == f"Importación '{failed_job.name}' fallida: {SPANISH_REASON}"


@pytest.mark.parametrize("language, reason, other", [("en", ENGLISH_REASON, SPANISH_REASON), ("es", SPANISH_REASON, ENGLISH_REASON)])
def test_my_imports_shows_the_reason_in_the_viewers_language(abbie_client, failed_job, language, reason, other):
    page = abbie_client.get(
        reverse("imports:my_imports"), {"job": failed_job.pk}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert escape(reason) in page
    assert escape(other) not in page and "i18n:" not in page


@pytest.mark.parametrize("language, reason, other", [("en", ENGLISH_REASON, SPANISH_REASON), ("es", SPANISH_REASON, ENGLISH_REASON)])
def test_the_company_audit_log_shows_entries_in_the_viewers_language(abbie_client, failed_job, demo, language, reason, other):
    page = abbie_client.get(
        f"/companies/{demo.eritech.account_id}/", {"tab": "audit"}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert escape(reason) in page
    assert escape(other) not in page and "i18n:" not in page


def test_legacy_english_rows_and_entries_keep_showing_as_written(abbie_client, failed_job, demo):
    failed_job.rows.update(error="An old reason, stored as English text.")
    AuditLogEntry.objects.filter(company=demo.eritech).update(message="An old entry.")
    my_imports = abbie_client.get(reverse("imports:my_imports"), {"job": failed_job.pk}, HTTP_ACCEPT_LANGUAGE="es")
    assert "An old reason, stored as English text." in my_imports.content.decode()
    audit = abbie_client.get(f"/companies/{demo.eritech.account_id}/", {"tab": "audit"}, HTTP_ACCEPT_LANGUAGE="es")
    assert "An old entry." in audit.content.decode()


def test_the_user_log_renders_the_users_own_entries_in_the_viewers_language(failed_job, demo):
    with override("es"):
        messages = [line.message for line in user_log_for(demo.admin_abbie)]
    assert f"Importación '{failed_job.name}' fallida: {SPANISH_REASON}" in messages
    assert not any(message.startswith("i18n:") for message in messages)


@pytest.mark.parametrize("language, reason", [("en", ENGLISH_REASON), ("es", SPANISH_REASON)])
def test_the_api_answers_the_reason_in_the_requests_language(failed_job, demo, language, reason):
    client = client_for(token_for(demo.admin_abbie))
    body = client.get(f"/api/v1/imports/{failed_job.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()
    assert [row["error"] for row in body["rows"]] == [reason]


@pytest.mark.parametrize("language, reason, other", [("en", ENGLISH_REASON, SPANISH_REASON), ("es", SPANISH_REASON, ENGLISH_REASON)])
def test_the_completion_email_gives_the_reason_in_the_recipients_language(failed_job, demo, language, reason, other):
    creator = failed_job.created_by
    creator.email_language = language
    creator.save(update_fields=["email_language"])
    notification = Notification.objects.get(job=failed_job, kind=Notification.Kind.IMPORT_FINISHED)
    with override("en" if language == "es" else "es"):  # whatever the worker's own language
        message = email_build(notification, failed_job, list(failed_job.rows.all()))
    html = message.alternatives[0][0]
    assert reason in message.body and escape(reason) in html
    assert other not in message.body and "i18n:" not in message.body + html


def test_the_webhook_event_gives_the_reason_in_english_whoever_builds_it(failed_job):
    from imports.webhooks.delivery import event_payload

    with override("es"):
        payload = event_payload(failed_job, failed_job.rows.all(), company_account_id=1, event_id="e", now=DUE)
    assert [row["error"] for row in payload["data"]["rows"]] == [ENGLISH_REASON]


# --- Rows and entries written before: the data migrations ------------------------------------------


def _migration(app, name):
    return importlib.import_module(f"{app}.migrations.{name}")


def test_the_migration_stores_legacy_reasons_it_recognises_and_leaves_the_rest(failed_job):
    from django.apps import apps

    migration = _migration("imports", "0015_stored_failure_reasons")
    legacy = "\n".join([ENGLISH_REASON, "Microsoft Tenant Id is required.", "A vendor's own words."])
    failed_job.rows.update(error=legacy)
    migration.forwards(apps, None)
    row = failed_job.rows.get()
    lines = row.error.split("\n")
    assert lines[0].startswith("i18n:") and lines[1].startswith("i18n:") and lines[2] == "A vendor's own words."
    with override("en"):
        assert row.failure_reason == legacy
    with override("es"):
        assert row.failure_reason.split("\n") == [
            SPANISH_REASON, "El Id de tenant de Microsoft es obligatorio.", "A vendor's own words."
        ]
    migration.forwards(apps, None)  # again: nothing changes
    assert failed_job.rows.get().error == row.error
    migration.backwards(apps, None)
    assert failed_job.rows.get().error == legacy


def test_the_migration_stores_legacy_audit_entries_with_their_reasons(failed_job, demo):
    from django.apps import apps

    migration = _migration("accounts", "0010_stored_audit_messages")
    texts = {
        "failed": f"Import 'Kiosk' failed: {ENGLISH_REASON}; The tenant domain x.onmicrosoft.com is already taken; "
                  "an onmicrosoft.com domain is unique across the platform. Choose another tenant domain.; Vendor said no",
        "renamed": "User a@b.example renamed from Ann to Anna.",
        "nothing": "Import 'Kiosk' completed: nothing to create.",
        "other": "Something no service writes.",
    }
    entries = {key: AuditLogEntry.objects.create(company=demo.eritech, action=key, message=text) for key, text in texts.items()}
    migration.forwards(apps, None)
    stored_texts = {key: AuditLogEntry.objects.get(pk=entry.pk).message for key, entry in entries.items()}
    assert stored_texts["other"] == texts["other"]
    assert all(stored_texts[key].startswith("i18n:") for key in ("failed", "renamed", "nothing"))
    with override("en"):
        assert {key: rendered(text) for key, text in stored_texts.items()} == texts
    with override("es"):
        failed = rendered(stored_texts["failed"])
        assert failed.startswith(f"Importación 'Kiosk' fallida: {SPANISH_REASON}; ")
        assert failed.endswith("; Vendor said no") and "The tenant domain" not in failed
        assert rendered(stored_texts["renamed"]) == "Usuario a@b.example renombrado de Ann a Anna."
        assert rendered(stored_texts["nothing"]) == "Importación 'Kiosk' completada: nada que crear."
    migration.backwards(apps, None)
    assert {key: AuditLogEntry.objects.get(pk=entry.pk).message for key, entry in entries.items()} == texts
