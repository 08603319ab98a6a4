"""Each due-time check, failing and passing, as the worker runs it at the due time (freezegun).

The row's error is exactly what orders.validation.validate_orders says for the order on that
day, so the batch validator of the engine and the reference can never drift apart unnoticed.
"""

import datetime as dt

import pytest
from freezegun import freeze_time

from catalog.integrations.microsoft import ALIGNMENT_INVALID, MPN_ID_INVALID, TENANT_ID_INVALID, TENANT_NOT_OF_COMPANY
from catalog.models import BillingFrequency, PriceListItem, Term
from core.stored_messages import rendered
from imports.models import ImportJob, ImportRow
from imports.engine.dispatch import dispatch_due_imports
from orders.models import Subscription
from orders.validation import (
    DUPLICATE_SERVICE,
    NO_PRICE_ON_DAY,
    PARENT_ACCOUNT_INACTIVE,
    QUANTITY_ABOVE_LIMIT,
    REQUIRED_SUBSCRIPTION_MISSING,
    SERVICE_INACTIVE,
    SERVICE_NOT_ON_PRICE_LIST,
    TERMS_NOT_ACCEPTED,
    validate_orders,
)

from .helpers import BASIC, ERITECH_TENANT_ID, KIOSK, PREMIUM, TENANT, UTC, accept_terms, schedule

SCHEDULED_AT = "2024-07-22 14:15:43"
DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


def run_at_due_time(demo, frozen, *, before_run=None, **order):
    job = schedule(demo, due_at=DUE, **order)
    if before_run:
        before_run(demo, job)
    frozen.move_to(DUE)
    expected = _one(job.rows.get().order, day=DUE.date())
    summary = dispatch_due_imports()
    assert summary.claimed == 1
    job.refresh_from_db()
    return job, job.rows.get(), expected


def suspend_parent(demo, job):
    demo.eritech.status = demo.eritech.Status.SUSPENDED
    demo.eritech.save()


def deactivate_service(demo, job):
    service = demo.service(KIOSK)
    service.active = False
    service.save()


def lower_limit(demo, job):
    service = demo.service(KIOSK)
    service.max_quantity = 5
    service.save()


def move_price_after_due_day(demo, job):
    PriceListItem.objects.filter(
        price_list=demo.abbie_price_list, service=demo.service(KIOSK), term=Term.P1Y
    ).update(effective_from=dt.date(2024, 8, 1))


def give_norte_a_tenant(demo, job):
    Subscription.objects.create(
        company=demo.norte, service=demo.service(TENANT), name="Microsoft Organization tenant (norte.onmicrosoft.com)",
        account_id=555001, unit_cost=0, unit_price=0, attributes={"tenant_id": OTHER_TENANT, "domain": "norte.onmicrosoft.com"},
    )


def failing_cases():
    return [
        pytest.param(
            {}, suspend_parent,
            PARENT_ACCOUNT_INACTIVE % {"company": "ERITECH PERU S.A.", "status": "Suspended"},
            id="parent-account-inactive",
        ),
        pytest.param({}, deactivate_service, SERVICE_INACTIVE % {"service": "(NCE) Exchange Online Kiosk"}, id="service-inactive"),
        pytest.param(
            {"code": BASIC}, None,
            TERMS_NOT_ACCEPTED % {"service": "(NCE) Microsoft 365 Business Basic", "price_list": "ABBIE BOX - Price list"},
            id="terms-not-accepted",
        ),
        pytest.param(
            {"company": "cusco", "user": "admin_andes"}, None,
            SERVICE_NOT_ON_PRICE_LIST % {"service": "(NCE) Exchange Online Kiosk", "company": "CUSCO TECH E.I.R.L."},
            id="service-not-on-price-list",
        ),
        pytest.param(
            {}, move_price_after_due_day,
            NO_PRICE_ON_DAY % {
                "service": "(NCE) Exchange Online Kiosk",
                "billing_type": "Monthly (with 1-year commitment) - P1Y",
                "day": dt.date(2024, 7, 31),
            },
            id="no-price-on-the-creation-day",
        ),
        pytest.param(
            {"code": TENANT, "term": Term.P1M, "vendor_config": {"tenant_domain": "eritechdos"}}, None,
            DUPLICATE_SERVICE % {"company": "ERITECH PERU S.A.", "service": "Microsoft Organization tenant"},
            id="duplicate-once-per-account",
        ),
        pytest.param(
            {"code": PREMIUM, "company": "norte", "vendor_config": {"microsoft_tenant_id": OTHER_TENANT}}, None,
            REQUIRED_SUBSCRIPTION_MISSING % {
                "service": "(NCE) Microsoft 365 Business Premium",
                "required": "Microsoft Organization tenant",
                "company": "NORTE DIGITAL S.A.C.",
            },
            id="required-subscription-missing",
        ),
        pytest.param(
            {"quantity": 6}, lower_limit,
            QUANTITY_ABOVE_LIMIT % {"quantity": 6, "limit": 5, "service": "(NCE) Exchange Online Kiosk"},
            id="quantity-above-limit",
        ),
        pytest.param({"vendor_config": {"microsoft_tenant_id": "not-a-guid"}}, None, TENANT_ID_INVALID, id="tenant-id-not-a-guid"),
        pytest.param(
            {"vendor_config": {"microsoft_tenant_id": OTHER_TENANT}}, None, TENANT_NOT_OF_COMPANY, id="tenant-of-another-company"
        ),
        pytest.param(
            {"vendor_config": {"microsoft_tenant_id": ERITECH_TENANT_ID, "mpn_id": "12ab"}}, None, MPN_ID_INVALID,
            id="mpn-id-format",
        ),
        pytest.param(
            {"vendor_config": {"microsoft_tenant_id": ERITECH_TENANT_ID, "end_date_alignment": "coterm:1"}}, None,
            ALIGNMENT_INVALID, id="end-date-alignment",
        ),
    ]


def resolve(demo, order):
    order = dict(order)
    for key in ("company", "user"):
        if isinstance(order.get(key), str):
            order[key] = getattr(demo, order[key])
    return order


@pytest.mark.parametrize("order,before_run,reason", failing_cases())
def test_a_failing_check_fails_the_row_with_its_reason_and_creates_nothing(demo, order, before_run, reason):
    subscriptions = Subscription.objects.count()
    with freeze_time(SCHEDULED_AT) as frozen:
        job, row, expected = run_at_due_time(demo, frozen, before_run=before_run, **resolve(demo, order))
    assert row.status == ImportRow.Status.FAILED
    # Stored as the pre-check computes it (core.stored_messages), shown as the reason's exact text.
    assert str(reason) in rendered(row.error).splitlines()
    assert row.error == "\n".join(expected)
    assert row.failure_reason == "\n".join(rendered(line) for line in expected)
    assert row.subscription is None and row.result_account_id is None
    assert job.status == ImportJob.Status.FAILED
    assert (job.imported_count, job.error_count) == (0, 1)
    assert job.finished_at == DUE
    assert Subscription.objects.count() == subscriptions


def passing_cases():
    return [
        pytest.param({}, None, id="parent-active-service-accessible-kiosk"),
        pytest.param({"code": BASIC}, lambda demo, job: accept_terms(demo, BASIC), id="terms-accepted-before-the-due-time"),
        pytest.param(
            {"code": TENANT, "company": "norte", "term": Term.P1M, "vendor_config": {"tenant_domain": "nortedigital"}},
            None, id="once-per-account-first-time",
        ),
        pytest.param(
            {"code": PREMIUM, "company": "norte", "vendor_config": {"microsoft_tenant_id": OTHER_TENANT}},
            lambda demo, job: (accept_terms(demo, PREMIUM), give_norte_a_tenant(demo, job)),
            id="required-subscription-present-by-the-due-time",
        ),
        pytest.param({"quantity": 5}, lower_limit, id="quantity-at-the-limit"),
        pytest.param(
            {"vendor_config": {"microsoft_tenant_id": ERITECH_TENANT_ID.upper(), "mpn_id": "6012345",
                               "end_date_alignment": "coterm:493796"}},
            None, id="tenant-mpn-and-co-term-valid",
        ),
        pytest.param(
            {"term": Term.P1M, "frequency": BillingFrequency.MONTHLY}, None, id="monthly-commitment-priced",
        ),
    ]


@pytest.mark.parametrize("order,before_run", passing_cases())
def test_passing_checks_provision_the_subscription(demo, order, before_run):
    with freeze_time(SCHEDULED_AT) as frozen:
        job, row, expected = run_at_due_time(demo, frozen, before_run=before_run, **resolve(demo, order))
    assert expected == []
    assert row.status == ImportRow.Status.COMPLETED, row.error
    assert row.error == ""
    assert row.subscription.account_id == row.result_account_id
    assert job.status == ImportJob.Status.COMPLETED
    assert (job.imported_count, job.error_count) == (1, 0)


def test_several_failing_checks_are_all_reported(demo):
    with freeze_time(SCHEDULED_AT) as frozen:
        job, row, expected = run_at_due_time(
            demo, frozen, code=BASIC, quantity=20000, vendor_config={"microsoft_tenant_id": "nope", "mpn_id": "x"}
        )
    assert len(expected) == 4
    assert row.error.splitlines() == expected
    assert len(set(rendered(row.error).splitlines())) == 4


def _one(order, *, day):
    """The checks for one order: a batch of one (what the wizard's pre-check runs)."""
    return validate_orders([order], day=day)[order.pk]
