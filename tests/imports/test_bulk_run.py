"""Bulk import jobs run by the engine: each line completes or fails alone with its reason, in file
order, exactly once; the email lists the failed lines."""

import datetime as dt

import pytest
from django.db import transaction
from freezegun import freeze_time

from accounts.models import Company, User
from catalog.models import PriceListAssignment
from imports.engine import runner
from imports.engine.runner import PARENT_NOT_VISIBLE
from imports.bulk.services import imports_bulk_start
from imports.engine.dispatch import dispatch_due_imports
from imports.engine.dispatch import imports_claim_due
from imports.bulk.rows import COMPANY_DOMAIN_TAKEN_VALUE, USER_EMAIL_UNUSABLE
from imports.models import ImportJob, ImportRow
from orders.models import Subscription
from orders.validation import PARENT_ACCOUNT_INACTIVE

from .bulk_helpers import csv_bytes, lines_for
from .helpers import KIOSK, PREMIUM, TENANT, UTC

P, C, U = ImportJob.AccountType.PRODUCTS, ImportJob.AccountType.COMPANIES, ImportJob.AccountType.USERS
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def start(demo, account_type, *lines, user=None):
    result = imports_bulk_start(
        user=user or demo.admin_abbie, account_type=account_type, file_name="file.csv",
        content=csv_bytes(lines_for(account_type, *lines)), due_at=None, now=NOW, accept_terms=True,
    )
    assert result.errors == [] and result.job is not None, result.errors
    return result.job


def run(job, capture):
    with freeze_time(NOW + dt.timedelta(seconds=1)), capture(execute=True):
        dispatch_due_imports()
    job.refresh_from_db()
    return {row.position: row for row in job.rows.all()}


def test_products_two_good_lines_and_a_premium_without_tenant(demo, django_capture_on_commit_callbacks, mailoutbox):
    job = start(
        demo, P,
        {"Parent Account Id": "466158", "Product code": KIOSK, "Quantity": "2"},
        {"Parent Account Id": "466158", "Product code": KIOSK, "Subscription Name": "Kiosk for the shop"},
        {"Parent Account Id": "466201", "Product code": PREMIUM},
    )
    rows = run(job, django_capture_on_commit_callbacks)
    assert (job.status, job.imported_count, job.error_count) == (ImportJob.Status.COMPLETED_WITH_ERRORS, 2, 1)
    assert rows[2].status == rows[3].status == ImportRow.Status.COMPLETED
    assert rows[2].subscription.company == demo.eritech and rows[2].result_account_id == rows[2].subscription.account_id
    assert rows[3].subscription.name == "Kiosk for the shop"
    assert rows[4].status == ImportRow.Status.FAILED and "Required subscription missing" in rows[4].failure_reason
    (email,) = mailoutbox
    assert "Import Type: Product\n" in email.body or "Import Type: Product " in email.body
    assert "Completed accounts: 2" in email.body and "Failed accounts: 1" in email.body
    assert "Line 4: Required subscription missing" in email.body


def test_a_tenant_created_on_an_earlier_line_serves_a_later_line(demo, django_capture_on_commit_callbacks):
    job = start(
        demo, P,
        {"Parent Account Id": "466201", "Product code": TENANT, "Tenant domain": "nortedigital"},
        {"Parent Account Id": "466201", "Product code": PREMIUM},
    )
    rows = run(job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.COMPLETED, [r.error for r in rows.values()]
    tenant, premium = rows[2].subscription, rows[3].subscription
    assert premium.attributes["tenant_id"] == tenant.attributes["tenant_id"]
    assert rows[3].order.vendor_config["microsoft_tenant_id"] == tenant.attributes["tenant_id"]


def test_companies_are_created_under_their_parent_and_a_taken_domain_fails_alone(demo, django_capture_on_commit_callbacks, mailoutbox):
    job = start(
        demo, C,
        {"Parent Account Id": "410002", "Company name": "LIMA FOODS S.A.C.", "Domain": "limafoods.example", "Currency": "pen", "City": "Lima"},
        {"Parent Account Id": "410002", "Company name": "COPY OF ERITECH", "Domain": "EritechPeru.com"},
        {"Parent Account Id": "466158", "Company name": "ERITECH SUR", "Is billable": "false"},
    )
    rows = run(job, django_capture_on_commit_callbacks)
    assert (job.imported_count, job.error_count) == (2, 1)
    lima = Company.objects.get(name="LIMA FOODS S.A.C.")
    assert (lima.parent, lima.kind, lima.currency, lima.city, lima.account_id) == (
        demo.abbiebox, Company.Kind.CUSTOMER, "PEN", "Lima", rows[2].result_account_id
    )
    assert PriceListAssignment.objects.get(company=lima).price_list == demo.abbie_price_list
    sur = Company.objects.get(name="ERITECH SUR")
    assert sur.parent == demo.eritech and sur.is_billable is False
    taken = str(COMPANY_DOMAIN_TAKEN_VALUE % {"domain": "EritechPeru.com"})
    assert rows[3].failure_reason == taken
    assert taken == "Another company already has the domain EritechPeru.com; a domain belongs to one company only."
    # What each line created, as it was created (issue 24).
    assert rows[2].created_account == {"type": "company", "id": lima.account_id, "name": "LIMA FOODS S.A.C.", "email": ""}
    assert rows[4].created_account == {"type": "company", "id": sur.account_id, "name": "ERITECH SUR", "email": ""}
    assert rows[3].created_account is None
    (email,) = mailoutbox
    assert "Import Type: Company" in email.body and "Line 3: " + taken in email.body


def test_users_are_created_and_get_the_set_password_email(demo, django_capture_on_commit_callbacks, mailoutbox):
    job = start(
        demo, U,
        {"Parent Account Id": "466158", "Email": "Ana.Rios@EritechPeru.com", "First name": "Ana", "Last name": "Ríos", "Job title": "IT"},
        {"Parent Account Id": "466158", "Email": "admin@abbiebox.com"},
    )
    rows = run(job, django_capture_on_commit_callbacks)
    assert (job.imported_count, job.error_count) == (1, 1)
    ana = User.objects.get(email="ana.rios@eritechperu.com")
    assert (ana.company, ana.first_name, ana.job_title, ana.has_usable_password()) == (demo.eritech, "Ana", "IT", False)
    assert rows[2].created_account == {"type": "user", "id": ana.pk, "email": "ana.rios@eritechperu.com", "name": "Ana Ríos"}
    # The email is taken by a user of ABBIE BOX, the creator's own company: said plainly, with the value and where.
    assert rows[3].failure_reason == "Another user already has the email address admin@abbiebox.com (ABBIE BOX S.A.C. (410002))."
    assert rows[3].failure_on_line == "Line 3: " + rows[3].failure_reason
    assert rows[3].created_account is None
    credentials = [m for m in mailoutbox if m.to == ["ana.rios@eritechperu.com"]]
    assert len(credentials) == 1 and "/set-password/" in credentials[0].body or "set" in credentials[0].body.lower()
    completed = [m for m in mailoutbox if "Completed accounts" in m.body]
    assert len(completed) == 1 and "Import Type: User" in completed[0].body


def test_a_parent_inactive_or_no_longer_visible_at_run_time_fails_the_line(demo, django_capture_on_commit_callbacks):
    job = start(
        demo, C,
        {"Parent Account Id": "466201", "Company name": "UNDER NORTE"},
        {"Parent Account Id": "466305", "Company name": "UNDER PACIFICO"},  # suspended in the demo
    )
    Company.objects.filter(pk=demo.norte.pk).update(path="/x/")  # moved out of ABBIE BOX's subtree meanwhile
    rows = run(job, django_capture_on_commit_callbacks)
    assert rows[2].failure_reason == str(PARENT_NOT_VISIBLE % {"id": 466201})
    assert rows[3].failure_reason == str(PARENT_ACCOUNT_INACTIVE % {"company": "PACIFICO RETAIL S.A.C.", "status": "Suspended"})
    assert not Company.objects.filter(name__startswith="UNDER").exists()


def test_a_run_rolled_back_half_way_then_run_again_creates_each_account_once(demo, django_capture_on_commit_callbacks):
    job = start(
        demo, C,
        {"Parent Account Id": "410002", "Company name": "ONE"},
        {"Parent Account Id": "410002", "Company name": "TWO"},
    )
    with freeze_time(NOW + dt.timedelta(seconds=1)):
        claimed = imports_claim_due(now=NOW + dt.timedelta(seconds=1), limit=10)
        assert claimed == [job.pk]
        with pytest.raises(RuntimeError), transaction.atomic():
            runner._run_batch(claimed, now=NOW)
            assert Company.objects.filter(name__in=["ONE", "TWO"]).count() == 2
            raise RuntimeError("the worker dies before commit")
        assert not Company.objects.filter(name__in=["ONE", "TWO"]).exists()
        assert runner.run_jobs(claimed, now=NOW) == {job.pk: ImportJob.Status.COMPLETED}
        assert runner.run_jobs(claimed, now=NOW) == {}  # finished: a repeated run does nothing
    assert Company.objects.filter(name__in=["ONE", "TWO"]).count() == 2


def test_queries_per_line_stay_flat(demo, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    def products(n):
        return [{"Parent Account Id": "466158", "Product code": KIOSK, "Subscription Name": f"K{i}"} for i in range(n)]

    small, large = start(demo, P, *products(5)), None
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        run(small, django_capture_on_commit_callbacks)
    # 30 lines: SQLite binds at most 999 parameters a statement, so Django's bulk INSERT of subscriptions
    # (about 27 columns each) splits past about 37 rows there; PostgreSQL never splits it.
    large = start(demo, P, *products(30))
    with CaptureQueriesContext(connection) as many:
        run(large, django_capture_on_commit_callbacks)
    assert len(many.captured_queries) == len(few.captured_queries)
    assert Subscription.objects.filter(name__startswith="K").count() == 35


def test_a_line_type_no_room_registered_fails_with_a_message_and_the_rest_still_run(
    demo, django_capture_on_commit_callbacks, monkeypatch
):
    """The engine runs company and user lines through the runners bulk imports registered
    (imports.engine.plugins); without one, the line fails and says why, nothing is created."""
    from imports.engine import plugins

    monkeypatch.setattr(plugins, "_line_runners", {k: v for k, v in plugins._line_runners.items() if k != "user"})
    job = start(
        demo, U,
        {"Parent Account Id": "466158", "Email": "nobody.registered@eritech.example", "First name": "Ana", "Last name": "Diaz"},
    )
    rows = run(job, django_capture_on_commit_callbacks)
    (row,) = rows.values()
    assert row.status == ImportRow.Status.FAILED
    assert row.failure_reason == str(plugins.LINE_TYPE_UNKNOWN % {"type": "user"})
    assert not User.objects.filter(email="nobody.registered@eritech.example").exists()


def test_bulk_lines_and_housekeeping_are_registered_with_the_engine_when_the_app_loads():
    from imports.bulk import rows, services
    from imports.engine import plugins

    assert plugins.line_runner_for(ImportRow.ImportType.COMPANY) is rows.company_row_run
    assert plugins.line_runner_for(ImportRow.ImportType.USER) is rows.user_row_run
    assert plugins.line_runner_for(ImportRow.ImportType.PRODUCT) is None  # orders: the runner's own path
    assert plugins._housekeeping["imports.bulk.uploads_forget"] is services.uploads_forget
