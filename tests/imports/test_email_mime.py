"""One rendered body and one MIME build per identical content (imports.notify.content's stand-ins,
imports.notify.mime): what goes to the SMTP server is, byte for byte, what Django would have built
for each message on its own; a message the template cannot give exactly is built by Django."""

import datetime as dt
import re

import pytest
from django.conf import settings
from freezegun import freeze_time

from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, ImportRow, Notification
from imports.notify import content
from imports.notify.content import STAND_INS, email_message, email_parts
from imports.notify.mime import prepared

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
BOUNDARY = re.compile(rb"===============\d+==")


def _loaded(notification):
    job = ImportJob.objects.select_related("created_by__company", "company").get(pk=notification.job_id)
    rows = list(ImportRow.objects.filter(job=job).select_related("order__service").order_by("position"))
    return job, rows


def _django_bytes(parts, notification) -> bytes:
    """What Django's SMTP backend sends for this message, built on its own (boundaries aside)."""
    data = email_message(parts, message_id=notification.message_id).message().as_bytes(linesep="\r\n")
    return BOUNDARY.sub(b"B", data)


def _directly_rendered(notification, job, rows):
    """The email rendered with its real values, no stand-in (how it was rendered before)."""
    language = content.user_language(job.created_by)
    with content.translation.override(language):
        context = content.context_for(notification.kind, job, rows, now=DUE)
    return content.render(notification.kind, context, language=language)


@pytest.fixture(autouse=True)
def urls_loaded():
    """The URLconf (and what it imports: DRF's throttling keeps time.time as a class attribute)
    loaded before any clock is frozen, so no module keeps freezegun's clock after this test."""
    content.my_imports_url()


@pytest.fixture
def run_jobs_of(demo):
    def run(*companies, **fields):
        for company in companies:
            schedule(demo, due_at=DUE, company=company, **fields)
        dispatch_due_imports(now=DUE)  # their emails stay in the outbox: no on_commit here
        return list(Notification.objects.order_by("id"))

    return run


@freeze_time(DUE)
def test_each_message_is_the_bytes_django_would_build_and_the_content_is_built_once(demo, run_jobs_of):
    notifications = run_jobs_of(demo.eritech, demo.eritech)
    cache = {}
    sent = []
    for notification in notifications:
        job, rows = _loaded(notification)
        parts = email_parts(notification, job, rows, rendered=cache, now=DUE)
        assert parts.filled() == _directly_rendered(notification, job, rows)
        ready = prepared(parts, message_id=notification.message_id, cache=cache)
        assert ready is not None
        assert BOUNDARY.sub(b"B", ready.data) == _django_bytes(parts, notification)
        assert (ready.recipients, ready.from_email) == (parts.recipients, settings.DEFAULT_FROM_EMAIL)
        sent.append(ready.data)
    # Two jobs, two links and Message-IDs, one render and one MIME build between them.
    assert sent[0] != sent[1]
    assert len([key for key in cache if key[0] == "mime"]) == 1
    assert len([key for key in cache if key[0] != "mime" and key[0] != "envelope"]) == 1


@freeze_time(DUE)
def test_values_escaping_would_change_are_rendered_as_they_are(demo, run_jobs_of):
    demo.eritech.name = "ERITECH & SONS <PERU>"
    demo.eritech.save(update_fields=["name"])
    (notification,) = run_jobs_of(demo.eritech)
    job, rows = _loaded(notification)
    cache = {}
    parts = email_parts(notification, job, rows, rendered=cache, now=DUE)
    assert STAND_INS["company"] not in parts.html and "ERITECH &amp; SONS &lt;PERU&gt;" in parts.html
    assert "ERITECH & SONS <PERU>" in parts.text  # the text part is not escaped
    assert parts.filled() == _directly_rendered(notification, job, rows)
    ready = prepared(parts, message_id=notification.message_id, cache=cache)
    assert BOUNDARY.sub(b"B", ready.data) == _django_bytes(parts, notification)


@freeze_time(DUE)
def test_non_ascii_values_go_into_the_8bit_body_as_django_writes_them(demo, run_jobs_of):
    demo.eritech.name = "ÑANDÚ PERÚ S.A."
    demo.eritech.save(update_fields=["name"])
    demo.admin_abbie.first_name, demo.admin_abbie.last_name = "José", "Peña"
    demo.admin_abbie.save(update_fields=["first_name", "last_name"])
    (notification,) = run_jobs_of(demo.eritech)
    job, rows = _loaded(notification)
    cache = {}
    parts = email_parts(notification, job, rows, rendered=cache, now=DUE)
    assert STAND_INS["company"] in parts.text  # stood in: escaping leaves it as it is
    ready = prepared(parts, message_id=notification.message_id, cache=cache)
    assert BOUNDARY.sub(b"B", ready.data) == _django_bytes(parts, notification)
    assert "ÑANDÚ PERÚ S.A.".encode() in ready.data


@freeze_time(DUE)
def test_messages_the_template_cannot_give_exactly_are_left_to_django(demo, run_jobs_of):
    (notification,) = run_jobs_of(demo.eritech)
    job, rows = _loaded(notification)
    cache = {}
    parts = email_parts(notification, job, rows, rendered=cache, now=DUE)
    with_name = parts.__class__(**{**parts.__dict__, "recipients": ["Ana <ana@example.com>"]})
    many = parts.__class__(**{**parts.__dict__, "recipients": [f"contact{i}@example.com" for i in range(4)]})
    unicode_address = parts.__class__(**{**parts.__dict__, "recipients": ["josé@example.com"]})
    long_value = parts.__class__(**{**parts.__dict__, "fields": ((STAND_INS["company"], "X" * 300),)})
    for odd in (with_name, many, unicode_address, long_value):
        assert prepared(odd, message_id=notification.message_id, cache=cache) is None
    assert prepared(parts, message_id="", cache=cache) is None
