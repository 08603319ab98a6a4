"""IMPORT ACCOUNTS' "Changes": a template, each line read and checked by the change rules' one home,
nothing written while a line is wrong, one job with one row per line whose change is created on
confirmation."""

import datetime as dt
import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLogEntry
from catalog.models import TermsAcceptance
from catalog.selectors import price_list_for
from imports.bulk.change_lines import WHEN_NOT_THE_SCHEDULE
from imports.models import ImportFile, ImportJob
from orders.models import SubscriptionChange
from tests.imports.bulk_helpers import csv_bytes, lines_for
from tests.imports.helpers import BASIC, STANDARD
from tests.upcoming.helpers import subscription

pytestmark = pytest.mark.django_db
C = ImportJob.AccountType.CHANGES
URL = "/imports/import/"
DAY = dt.timedelta(days=1)


def upload(client, rows, *, due_at=""):
    data = {"account_type": C, "due_at": due_at, "file": SimpleUploadedFile("changes.csv", csv_bytes(rows), content_type="text/csv")}
    return client.post(URL, data)


def test_the_page_offers_the_changes_template(abbie_client):
    assert reverse("imports:bulk_template", args=["changes", "csv"]) in abbie_client.get(URL).content.decode()
    response = abbie_client.get(reverse("imports:bulk_template", args=["changes", "csv"]))
    assert response.getvalue().decode("utf-8-sig").splitlines()[0] == "Account Id,Change,New value,When"


def test_a_file_of_changes_becomes_one_job_with_a_row_per_change(demo, abbie_client):
    now = timezone.now()
    standard = demo.service(STANDARD)
    grows = subscription(demo.eritech, standard, term_end=now + 200 * DAY, quantity=10)
    shrinks = subscription(demo.eritech, standard, term_end=now + 30 * DAY, quantity=10)
    rows = lines_for(C,
        {"Account Id": str(grows.account_id), "Change": "quantity", "New value": "12", "When": "now"},
        {"Account Id": str(shrinks.account_id), "Change": "Quantity", "New value": "8", "When": "renewal"},
    )
    response = upload(abbie_client, rows)
    assert response.status_code == 302, response.content.decode()[:3000]
    job = ImportJob.objects.get(account_type=C)
    assert (job.source, job.status, job.created_by) == (ImportJob.Source.IMPORT, ImportJob.Status.PENDING, demo.admin_abbie)
    changes = {row.change.subscription_id: row.change for row in job.rows.select_related("change")}
    assert set(changes) == {grows.pk, shrinks.pk}
    assert (changes[grows.pk].when, changes[grows.pk].quantity, changes[grows.pk].due_at) == ("at", 12, job.due_at)
    assert (changes[shrinks.pk].when, changes[shrinks.pk].due_at) == ("renewal", shrinks.term_end)
    assert all(c.status == "pending" and c.created_by == demo.admin_abbie for c in changes.values())


def test_bad_lines_are_refused_with_the_rules_words_and_nothing_is_written(demo, abbie_client):
    now = timezone.now()
    standard = demo.service(STANDARD)
    sub = subscription(demo.eritech, standard, term_end=now + 200 * DAY, quantity=10)
    other = subscription(demo.andes, standard, term_end=now + 200 * DAY)
    rows = lines_for(C,
        {"Account Id": str(sub.account_id), "Change": "quantity", "New value": "8", "When": "now"},  # mid-term reduction
        {"Account Id": str(other.account_id), "Change": "quantity", "New value": "2"},  # not the reseller's
        {"Account Id": str(sub.account_id), "Change": "colour", "New value": "blue"},
        {"Account Id": str(sub.account_id), "Change": "term", "New value": "P2Y", "When": "renewal"},
        {"Account Id": str(sub.account_id), "Change": "auto-renew", "New value": "maybe"},
        {"Account Id": str(sub.account_id), "Change": "cancel", "When": "next week"},
    )
    body = html.unescape(upload(abbie_client, rows).content.decode())
    assert "Line 2: Seats can be reduced only at renewal or in the 7 days" in body
    assert f"Line 3: Account Id {other.account_id} is not one of your subscriptions." in body
    assert "Line 4: “colour” is not a change" in body
    assert "Line 5: “P2Y” is not a term" in body
    assert "Line 6: New value must be true or false." in body
    assert "Line 7: When must be" in body
    assert not ImportJob.objects.filter(account_type=C).exists() and not SubscriptionChange.objects.exists()


def test_a_date_time_must_be_the_imports_schedule(demo, abbie_client):
    now = timezone.now().replace(second=0, microsecond=0)
    sub = subscription(demo.eritech, demo.service(STANDARD), term_end=now + 200 * DAY, quantity=10)
    later = (now + 2 * DAY).strftime("%Y-%m-%d %H:%M")
    other = (now + 3 * DAY).strftime("%Y-%m-%d %H:%M")
    rows = lines_for(C, {"Account Id": str(sub.account_id), "Change": "quantity", "New value": "12", "When": later})
    body = html.unescape(upload(abbie_client, rows, due_at=other).content.decode())
    assert str(WHEN_NOT_THE_SCHEDULE % {"schedule": other}).split(":")[0] in body
    response = upload(abbie_client, rows)  # no schedule on the page: the lines give it
    assert response.status_code == 302
    job = ImportJob.objects.get(account_type=C)
    assert job.due_at.strftime("%Y-%m-%d %H:%M") == later
    assert job.rows.get().change.due_at == job.due_at


def test_terms_not_yet_accepted_are_listed_and_accepted_with_the_import(demo, abbie_client):
    """A change to a service whose terms ABBIE BOX never accepted (Business Basic): listed on the check page,
    as a Products file's, and accepted with the import; nothing written before."""
    now = timezone.now()
    basic = demo.service(BASIC)
    sub = subscription(demo.eritech, basic, term_end=now + 200 * DAY, quantity=10)
    assert not TermsAcceptance.objects.filter(service=basic).exists()
    response = upload(abbie_client, lines_for(C, {"Account Id": str(sub.account_id), "Change": "quantity", "New value": "12"}))
    body = response.content.decode()
    assert response.status_code == 200, body[:2000]
    assert "Terms and Conditions of (NCE) Microsoft 365 Business Basic" in html.unescape(body)
    assert not ImportJob.objects.filter(account_type=C).exists() and not SubscriptionChange.objects.exists()
    confirm = reverse("imports:bulk_confirm", args=[ImportFile.objects.get(job__isnull=True).pk])
    assert abbie_client.post(confirm, {}).status_code == 400
    assert not SubscriptionChange.objects.exists() and not TermsAcceptance.objects.filter(service=basic).exists()
    assert abbie_client.post(confirm, {"accept_terms": "on"}).status_code == 302
    change = ImportJob.objects.get(account_type=C).rows.get().change
    assert (change.subscription_id, change.quantity, change.status) == (sub.pk, 12, "pending")
    acceptance = TermsAcceptance.objects.get(service=basic, price_list=price_list_for(demo.eritech))
    assert acceptance.accepted_by == demo.admin_abbie
    assert AuditLogEntry.objects.filter(action="terms.accepted", company=demo.eritech).exists()
