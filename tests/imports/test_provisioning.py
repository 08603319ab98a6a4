import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from accounts.models import AccountNumber, AuditLogEntry
from catalog.integrations import base as integrations
from catalog.models import BillingFrequency, PriceListItem, Service, Term, Vendor
from core.stored_messages import rendered
from imports.models import ImportJob, ImportRow
from imports.engine.dispatch import dispatch_due_imports
from imports.engine.dispatch import imports_claim_due
from imports.engine.runner import JOB_UNEXPECTED_ERROR, run_jobs
from orders.models import Subscription
from orders.selectors import subscriptions_of
from orders.validation import DUPLICATE_SERVICE

from .helpers import ERITECH_TENANT_ID, KIOSK, TENANT, UTC, schedule

DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)


def kiosk_item(demo, **kwargs):
    return PriceListItem.objects.create(
        price_list=demo.abbie_price_list, service=demo.service(KIOSK), term=Term.P1Y,
        billing_frequency=BillingFrequency.MONTHLY, **kwargs,
    )


@freeze_time("2024-07-22 14:15:43")
def test_the_subscription_is_priced_on_the_creation_day_not_the_scheduling_day(demo):
    job = schedule(demo, due_at=DUE, quantity=3)
    # Between scheduling (22 July, 2.00) and the due time the price list changes on 30 July.
    kiosk_item(demo, effective_from=dt.date(2024, 7, 30), cost=Decimal("1.90"), selling_price=Decimal("2.50"))
    kiosk_item(demo, effective_from=dt.date(2024, 8, 15), cost=Decimal("9"), selling_price=Decimal("9"))  # not yet in force
    dispatch_due_imports(now=DUE)
    subscription = job.rows.get().subscription
    assert (subscription.unit_cost, subscription.unit_price) == (Decimal("1.90000"), Decimal("2.50000"))
    assert subscription.quantity == 3


@freeze_time("2024-07-22 14:15:43")
def test_the_price_of_the_scheduling_day_stays_when_nothing_changed(demo):
    job = schedule(demo, due_at=DUE)
    dispatch_due_imports(now=DUE)
    subscription = job.rows.get().subscription
    assert (subscription.unit_cost, subscription.unit_price) == (Decimal("1.60000"), Decimal("2.00000"))


@freeze_time("2024-07-22 14:15:43")
def test_the_subscription_carries_the_order_and_shows_in_the_company_structure(demo):
    job = schedule(demo, due_at=DUE, name="<b>Kiosk</b> for Lima", quantity=2, term=Term.P1M,
                   vendor_config={"microsoft_tenant_id": ERITECH_TENANT_ID.upper(), "mpn_id": "123"})
    dispatch_due_imports(now=DUE)
    row = job.rows.select_related("order").get()
    subscription = row.subscription
    assert subscription.name == "<b>Kiosk</b> for Lima"  # stored as typed; templates escape it
    assert subscription.company == demo.eritech
    assert subscription.order == row.order
    assert subscription.service == demo.service(KIOSK)
    assert (subscription.quantity, subscription.term, subscription.billing_frequency) == (2, Term.P1M, BillingFrequency.MONTHLY)
    assert subscription.attributes == {"tenant_id": ERITECH_TENANT_ID}
    assert subscription.provisioning_key == row.provisioning_key == f"import-row:{row.pk}"
    assert AccountNumber.objects.filter(pk=subscription.account_id).exists()  # its own id from the shared sequence
    assert row.result_account_id == subscription.account_id
    assert row.processed_at == DUE
    assert subscription.display_name == "<b>Kiosk</b> for Lima (2)"
    assert subscription in subscriptions_of(demo.eritech)


@freeze_time("2024-07-22 14:15:43")
def test_a_tenant_is_created_with_its_domain_in_the_name(demo):
    job = schedule(demo, due_at=DUE, company=demo.norte, code=TENANT, term=Term.P1M,
                   name="Microsoft Organization tenant", vendor_config={"tenant_domain": "nortedigital"})
    dispatch_due_imports(now=DUE)
    subscription = job.rows.get().subscription
    assert subscription.name == "Microsoft Organization tenant (nortedigital.onmicrosoft.com)"
    assert subscription.attributes["domain"] == "nortedigital.onmicrosoft.com"
    assert len(subscription.attributes["tenant_id"]) == 36


@freeze_time("2024-07-22 14:15:43")
def test_completion_and_failure_are_written_to_the_audit_log(demo):
    ok = schedule(demo, due_at=DUE)
    bad = schedule(demo, due_at=DUE, vendor_config={"microsoft_tenant_id": "nope"})
    AuditLogEntry.objects.all().delete()
    dispatch_due_imports(now=DUE)
    entries = {e.action: e for e in AuditLogEntry.objects.filter(company=demo.eritech)}
    assert set(entries) == {"import.completed", "import.failed"}
    account_id = ok.rows.get().result_account_id
    assert f"(NCE) Exchange Online Kiosk ({account_id})" in rendered(entries["import.completed"].message)
    assert "Microsoft Tenant Id must be a GUID" in rendered(entries["import.failed"].message)
    assert entries["import.failed"].actor == bad.created_by


@freeze_time("2024-07-22 14:15:43")
def test_two_tenants_due_together_for_one_company_make_one(demo):
    first = schedule(demo, due_at=DUE, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "norteuno"})
    second = schedule(demo, due_at=DUE, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "nortedos"})
    summary = dispatch_due_imports(now=DUE)
    assert (summary.claimed, summary.completed, summary.failed) == (2, 1, 1)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ImportJob.Status.COMPLETED
    assert second.rows.get().failure_reason == str(
        DUPLICATE_SERVICE % {"company": "NORTE DIGITAL S.A.C.", "service": "Microsoft Organization tenant"}
    )
    assert Subscription.objects.filter(company=demo.norte, service=demo.service(TENANT)).count() == 1


@freeze_time("2024-07-22 14:15:43")
def test_a_job_with_one_failed_row_of_two_ends_completed_with_errors_with_both_counts(demo):
    job = schedule(demo, due_at=DUE)
    other = schedule(demo, due_at=DUE, vendor_config={"microsoft_tenant_id": "nope"})
    # Move the second order into the first job: a bulk job with two rows.
    row = other.rows.get()
    row.job, row.position = job, 2
    row.save()
    other.delete()
    dispatch_due_imports(now=DUE)
    job.refresh_from_db()
    assert (job.status, job.imported_count, job.error_count) == (ImportJob.Status.COMPLETED_WITH_ERRORS, 1, 1)
    assert list(job.rows.values_list("status", flat=True)) == [ImportRow.Status.COMPLETED, ImportRow.Status.FAILED]


@freeze_time("2024-07-22 14:15:43")
def test_import_run_leaves_a_job_that_is_not_claimed_alone(demo):
    job = schedule(demo, due_at=DUE)
    assert run_jobs([job.pk], now=DUE).get(job.pk) is None
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
    assert not Subscription.objects.filter(order=job.rows.get().order).exists()


@freeze_time("2024-07-22 14:15:43")
def test_import_run_runs_a_claimed_job(demo):
    job = schedule(demo, due_at=DUE)
    assert imports_claim_due(now=DUE, limit=10) == [job.pk]
    assert run_jobs([job.pk], now=DUE).get(job.pk) == ImportJob.Status.COMPLETED
    assert run_jobs([job.pk], now=DUE).get(job.pk) is None  # finished: a second run does nothing
    assert Subscription.objects.filter(order=job.rows.get().order).count() == 1


class ExplodingIntegration(integrations.VendorIntegration):
    key = "exploding-for-tests"

    def subscription_attributes(self, context):
        raise RuntimeError("vendor API down")


@pytest.fixture
def exploding_vendor(demo):
    integrations.register(ExplodingIntegration)
    yield Vendor.objects.create(name="Exploding", integration=ExplodingIntegration.key)
    integrations._registry.pop(ExplodingIntegration.key)


@freeze_time("2024-07-22 14:15:43")
def test_a_job_that_raises_fails_with_a_generic_reason_and_does_not_hold_back_the_others(demo, exploding_vendor):
    broken = schedule(demo, due_at=DUE)
    service = Service.objects.create(name="Exploding service", code="EXPLODE", vendor=exploding_vendor)
    PriceListItem.objects.create(price_list=demo.abbie_price_list, service=service, term=Term.P1Y,
                                 effective_from=dt.date(2024, 1, 1), cost=1, selling_price=1)
    order = broken.rows.get().order
    order.service = service
    order.save()
    fine = schedule(demo, due_at=DUE)
    summary = dispatch_due_imports(now=DUE)
    assert (summary.claimed, summary.completed, summary.failed) == (2, 1, 1)
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert fine.status == ImportJob.Status.COMPLETED
    assert broken.status == ImportJob.Status.FAILED
    assert broken.rows.get().failure_reason == str(JOB_UNEXPECTED_ERROR)
    assert not Subscription.objects.filter(order=order).exists()


def test_completed_rows_find_their_subscription_by_key_alone(demo):
    """One UPDATE fills every completed row's subscription and account id from the unique provisioning
    key: no ordering (the model's, by company path) joining the companies into it for every row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = schedule(demo, due_at=DUE)
    with CaptureQueriesContext(connection) as queries:
        run_jobs(imports_claim_due(now=DUE, limit=10), now=DUE)
    (update,) = [q["sql"] for q in queries.captured_queries
                 if q["sql"].startswith('UPDATE "imports_importrow"') and "provisioning_key" in q["sql"]]
    assert "accounts_company" not in update and "ORDER BY" not in update
    row = job.rows.get()
    assert row.subscription.provisioning_key.endswith(str(row.pk)) and row.result_account_id == row.subscription.account_id
