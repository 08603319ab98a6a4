"""imports.validation.BatchValidator against the reference, orders.validation.validate_order."""

import datetime as dt
import itertools

import pytest

from catalog.models import BillingFrequency, PriceListItem, Term
from imports.validation import BatchData, BatchValidator
from orders import validation as order_validation
from orders.models import Order, Subscription
from orders.validation import validate_order

from .helpers import BASIC, ERITECH_TENANT_ID, KIOSK, PREMIUM, STANDARD, TENANT, make_order

DAY = dt.date(2024, 7, 31)
CONFIGS = [
    {"microsoft_tenant_id": ERITECH_TENANT_ID, "mpn_id": "", "end_date_alignment": ""},
    {"microsoft_tenant_id": "bad", "mpn_id": "12a", "end_date_alignment": "calendar_month"},
    {"tenant_domain": "newtenant"},
    {"microsoft_tenant_id": ERITECH_TENANT_ID, "end_date_alignment": "coterm:466160"},
]


def every_combination(demo):
    companies = [demo.eritech, demo.norte, demo.pacifico, demo.cusco]
    codes = [BASIC, KIOSK, STANDARD, PREMIUM, TENANT]
    billing = [(Term.P1Y, BillingFrequency.MONTHLY), (Term.P1M, BillingFrequency.MONTHLY), (Term.P3Y, BillingFrequency.MONTHLY)]
    return [
        make_order(demo, company=company, code=code, term=term, frequency=frequency, vendor_config=config, quantity=quantity)
        for company, code, (term, frequency), config, quantity in itertools.product(
            companies, codes, billing, CONFIGS, [1, 20000]
        )
    ]


def test_the_batch_validator_gives_the_reasons_of_validate_order_for_every_combination(demo):
    # Some variety in the data the checks read: a price that starts after the day, a terminated
    # tenant (it must not count), a service switched off.
    PriceListItem.objects.filter(service=demo.service(STANDARD), term=Term.P1M).update(effective_from=DAY + dt.timedelta(days=1))
    Subscription.objects.create(
        company=demo.norte, service=demo.service(TENANT), name="Old tenant", account_id=555002, unit_cost=0, unit_price=0,
        status=Subscription.Status.TERMINATED, attributes={"tenant_id": "22222222-2222-4222-8222-222222222222"},
    )
    azure = demo.service("100113_AzurePlan_10002")
    azure.active = False
    azure.save()
    orders = every_combination(demo)
    orders = list(Order.objects.filter(pk__in=[o.pk for o in orders]).select_related("company", "service__vendor"))
    validator = BatchValidator(BatchData.load(orders, day=DAY))
    differences = [
        (order.company.name, order.service.code, order.term, order.vendor_config, order.quantity)
        for order in orders
        if validator.validate(order) != validate_order(order, day=DAY)
    ]
    assert differences == []
    # Not vacuous: the combinations cover passing orders and every check failing.
    reasons = {reason for order in orders for reason in validate_order(order, day=DAY)}
    assert any(not validate_order(order, day=DAY) for order in orders)
    assert len(reasons) >= 9


def test_a_subscription_the_batch_created_counts_for_the_next_orders_of_the_batch(demo):
    tenant_order = make_order(demo, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "norte"})
    data = BatchData.load([tenant_order], day=DAY)
    validator = BatchValidator(data)
    assert validator.check_not_duplicate(tenant_order) is None
    tenant = Subscription(
        company=demo.norte, service=demo.service(TENANT), name="tenant", account_id=555003, unit_cost=0, unit_price=0,
        attributes={"tenant_id": "33333333-3333-4333-8333-333333333333"},
    )
    data.hold(tenant)
    assert validator.check_not_duplicate(tenant_order) == str(
        order_validation.DUPLICATE_SERVICE % {"company": "NORTE DIGITAL S.A.C.", "service": "Microsoft Organization tenant"}
    )
    premium = make_order(
        demo, company=demo.norte, code=PREMIUM, vendor_config={"microsoft_tenant_id": "33333333-3333-4333-8333-333333333333"}
    )
    assert validator.check_dependencies_present(premium) is None
    assert get_tenant_ids(data.integration_context(premium)) == {"33333333-3333-4333-8333-333333333333"}


def get_tenant_ids(context):
    from catalog.integrations.microsoft import tenant_ids_of

    return set(tenant_ids_of(context))


def test_the_current_checks_need_no_query_of_their_own():
    assert BatchValidator(BatchData(DAY, {}, {}, set(), set())).reads_database is False


def test_a_check_added_to_orders_validation_later_still_runs(demo, monkeypatch):
    def check_always_fails(order, day):
        return "A new check says no."

    monkeypatch.setattr(order_validation, "CHECKS", order_validation.CHECKS + (check_always_fails,))
    order = make_order(demo)
    validator = BatchValidator(BatchData.load([order], day=DAY))
    assert validator.reads_database is True
    assert validator.validate(order) == validate_order(order, day=DAY) == ["A new check says no."]


@pytest.mark.parametrize("code", [KIOSK, BASIC])
def test_the_batch_reads_a_constant_number_of_queries_whatever_the_number_of_orders(demo, django_assert_max_num_queries, code):
    orders = [make_order(demo, code=code) for _ in range(30)]
    orders = list(Order.objects.filter(pk__in=[o.pk for o in orders]).select_related("company", "service__vendor").prefetch_related("service__dependencies"))
    with django_assert_max_num_queries(4):
        validator = BatchValidator(BatchData.load(orders, day=DAY))
        for order in orders:
            validator.validate(order)
