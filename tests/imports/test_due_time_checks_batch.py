"""orders.validation: one implementation of the due-time checks, batch-native. A batch of many orders
gives each order the reasons it gets alone, a subscription created by the batch counts for the
orders after it, and the queries do not grow with the batch. Both callers (the wizard's pre-check
and the worker) see suspended and terminated subscriptions the same way."""

import datetime as dt
import itertools

import pytest
from freezegun import freeze_time

from catalog.integrations.microsoft import tenant_ids_of
from core.stored_messages import rendered
from catalog.models import BillingFrequency, PriceListItem, Service, Term
from imports.engine.dispatch import dispatch_due_imports
from orders import validation
from orders.facts import OrderFacts
from orders.models import Order, Subscription
from orders.validation import order_problems, validate_orders

from .helpers import accept_terms, BASIC, ERITECH_TENANT_ID, KIOSK, PREMIUM, STANDARD, TENANT, UTC, make_order, schedule

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 7, 31)
CONFIGS = [
    {"microsoft_tenant_id": ERITECH_TENANT_ID, "mpn_id": "", "end_date_alignment": ""},
    {"microsoft_tenant_id": "bad", "mpn_id": "12a", "end_date_alignment": "calendar_month"},
    {"tenant_domain": "newtenant"},
    {"microsoft_tenant_id": ERITECH_TENANT_ID, "end_date_alignment": "coterm:466160"},
]
OTHER_TENANT = "33333333-3333-4333-8333-333333333333"


def loaded(orders):
    return list(Order.objects.filter(pk__in=[o.pk for o in orders]).select_related("company", "service__vendor"))


def subscription(demo, *, company, code, account_id, status=Subscription.Status.ACTIVE, attributes=None):
    return Subscription.objects.create(
        company=company, service=demo.service(code), name=f"{code} {account_id}", account_id=account_id,
        unit_cost=0, unit_price=0, status=status, attributes=attributes or {},
    )


def test_a_batch_gives_every_order_the_reasons_it_gets_alone(demo):
    # Variety in what the checks read: a price that starts after the day, a terminated tenant (it
    # must not count), a service switched off, four companies on two price lists.
    PriceListItem.objects.filter(service=demo.service(STANDARD), term=Term.P1M).update(effective_from=DAY + dt.timedelta(days=1))
    subscription(demo, company=demo.norte, code=TENANT, account_id=555002, status=Subscription.Status.TERMINATED,
                 attributes={"tenant_id": "22222222-2222-4222-8222-222222222222"})
    Service.objects.filter(code="100113_AzurePlan_10002").update(active=False)
    companies = [demo.eritech, demo.norte, demo.pacifico, demo.cusco]
    codes = [BASIC, KIOSK, STANDARD, PREMIUM, TENANT, "100113_AzurePlan_10002"]
    billing = [(Term.P1Y, BillingFrequency.MONTHLY), (Term.P1M, BillingFrequency.MONTHLY), (Term.P3Y, BillingFrequency.MONTHLY)]
    orders = loaded(
        make_order(demo, company=company, code=code, term=term, frequency=frequency, vendor_config=config, quantity=quantity)
        for company, code, (term, frequency), config, quantity in itertools.product(
            companies, codes, billing, CONFIGS, [1, 20000]
        )
    )
    together = validate_orders(orders, day=DAY)
    alone = {order.pk: _one(order, day=DAY) for order in orders}
    assert together == alone
    # Not vacuous: the combinations cover passing orders and every check failing.
    reasons = {reason for order_reasons in alone.values() for reason in order_reasons}
    assert any(not order_reasons for order_reasons in alone.values())
    assert len(reasons) >= 9


def test_a_subscription_the_batch_created_counts_for_the_next_orders_of_the_batch(demo):
    tenant_order = make_order(demo, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "norte"})
    premium = make_order(demo, company=demo.norte, code=PREMIUM, vendor_config={"microsoft_tenant_id": OTHER_TENANT})
    facts = OrderFacts.load(loaded([tenant_order, premium]), day=DAY)
    assert validation.check_not_duplicate(tenant_order, facts) is None
    assert validation.check_dependencies_present(premium, facts) is not None
    facts.hold(Subscription(
        company=demo.norte, service=demo.service(TENANT), name="tenant", account_id=555003, unit_cost=0, unit_price=0,
        attributes={"tenant_id": OTHER_TENANT},
    ))
    assert rendered(validation.check_not_duplicate(tenant_order, facts)) == str(
        validation.DUPLICATE_SERVICE % {"company": "NORTE DIGITAL S.A.C.", "service": "Microsoft Organization tenant"}
    )
    assert validation.check_dependencies_present(premium, facts) is None
    assert set(tenant_ids_of(facts.integration_context(premium))) == {OTHER_TENANT}


@pytest.mark.parametrize("code", [KIOSK, BASIC, PREMIUM])
def test_the_batch_reads_a_constant_number_of_queries_whatever_the_number_of_orders(demo, django_assert_max_num_queries, code):
    orders = loaded(make_order(demo, code=code) for _ in range(30))
    # Price lists, items, acceptances, live subscriptions, dependencies: five, for 1 order or 30.
    with django_assert_max_num_queries(5):
        validate_orders(orders, day=DAY)


# --- Dependencies: alternatives --------------------------------------------------------------------


@pytest.fixture
def needs_either(demo):
    """Premium with two alternative dependencies: the Microsoft tenant, or (for this test) Kiosk."""
    premium = demo.service(PREMIUM)
    premium.dependencies.add(demo.service(KIOSK))
    return premium


def premium_order(demo, company):
    return loaded([make_order(demo, company=company, code=PREMIUM, vendor_config={"tenant_domain": "x"})])[0]


def test_one_of_two_alternative_dependencies_is_enough(demo, needs_either):
    subscription(demo, company=demo.norte, code=KIOSK, account_id=555010)  # Kiosk only, no tenant
    order = premium_order(demo, demo.norte)
    assert validation.check_dependencies_present(order, OrderFacts.load([order], day=DAY)) is None


def test_neither_alternative_names_both(demo, needs_either):
    order = premium_order(demo, demo.norte)
    reason = validation.check_dependencies_present(order, OrderFacts.load([order], day=DAY))
    names = sorted(dep.name for dep in needs_either.dependencies.all())
    assert rendered(reason) == str(validation.REQUIRED_SUBSCRIPTION_MISSING % {
        "service": needs_either.name, "required": " / ".join(names), "company": "NORTE DIGITAL S.A.C.",
    })


# --- Suspended and terminated subscriptions, for the wizard and for the worker -------------------------


def worker_reasons(demo, **order_fields) -> str:
    """Schedule the order and run the real dispatch pass: the row's error (empty when provisioned)."""
    with freeze_time("2024-07-31 10:00:00"):
        job = schedule(demo, due_at=dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC), **order_fields)
        dispatch_due_imports()
    job.refresh_from_db()
    return job.rows.get().error


@pytest.mark.parametrize("status, counts", [(Subscription.Status.SUSPENDED, True), (Subscription.Status.TERMINATED, False)])
def test_a_suspended_subscription_still_counts_a_terminated_one_does_not_for_duplicates(demo, status, counts):
    config = {"tenant_domain": "norteagain"}
    subscription(demo, company=demo.norte, code=TENANT, account_id=555020, status=status,
                 attributes={"tenant_id": OTHER_TENANT, "domain": "norte.onmicrosoft.com"})
    order = loaded([make_order(demo, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config=config)])[0]
    duplicate = str(validation.DUPLICATE_SERVICE % {"company": "NORTE DIGITAL S.A.C.", "service": "Microsoft Organization tenant"})
    assert (duplicate in [rendered(reason) for reason in _one(order, day=DAY)]) is counts  # the wizard's pre-check
    worker = worker_reasons(demo, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config=config)
    assert (duplicate in rendered(worker).splitlines()) is counts


@pytest.mark.parametrize("status, counts", [(Subscription.Status.SUSPENDED, True), (Subscription.Status.TERMINATED, False)])
def test_a_suspended_tenant_still_serves_a_terminated_one_does_not_for_dependencies(demo, status, counts):
    accept_terms(demo, PREMIUM)
    subscription(demo, company=demo.norte, code=TENANT, account_id=555030, status=status, attributes={"tenant_id": OTHER_TENANT})
    config = {"microsoft_tenant_id": OTHER_TENANT, "mpn_id": "", "end_date_alignment": ""}
    order = loaded([make_order(demo, company=demo.norte, code=PREMIUM, vendor_config=config)])[0]
    assert (_one(order, day=DAY) == []) is counts
    worker = worker_reasons(demo, company=demo.norte, code=PREMIUM, vendor_config=config)
    assert (worker == "") is counts
    if not counts:
        assert rendered(worker).startswith("Required subscription missing")


def test_order_problems_stops_at_an_inactive_parent_account(demo):
    demo.norte.status = demo.norte.Status.SUSPENDED
    demo.norte.save()
    order = loaded([make_order(demo, company=demo.norte, code=PREMIUM, vendor_config={"microsoft_tenant_id": "bad"})])[0]
    reasons = order_problems(order, OrderFacts.load([order], day=DAY))
    assert len(reasons) == 1 and "is not active" in rendered(reasons[0])


def _one(order, *, day):
    """The checks for one order: a batch of one (what the wizard's pre-check runs)."""
    return validate_orders([order], day=day)[order.pk]
