"""A subscription's term without the vendor: set at a local provisioning (the run's time + the order's term),
renewed locally at term end (Sent renewal changes applied, auto-renew off ends it), shown on the page (TERM, the
window's end or "closed", the last sync) with SYNC WITH MICROSOFT only for a vendor subscription; and the sync's
verdicts with a stand-in connector (no sandbox)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.integrations import get_integration
from catalog.integrations.partner_center import Done, Subscription as VendorSubscription, Transient
from catalog.models import PriceListItem, VendorTenantPause
from devtools.demo import BASIC, STANDARD
from imports.engine.dispatch import dispatch_due_imports
from orders import sync as orders_sync
from orders.models import Subscription, SubscriptionChange
from orders.renewals import subscriptions_renew_local
from orders.sync import subscription_sync
from tests.factories import SubscriptionFactory
from tests.imports.helpers import schedule
from tests.upcoming.helpers import price

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
Status, Kind, When = SubscriptionChange.Status, SubscriptionChange.Kind, SubscriptionChange.When
START = dt.datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def page(account_id):
    return reverse("orders:subscription_detail", kwargs={"account_id": account_id})


def sync_url(account_id):
    return reverse("orders:subscription_sync", kwargs={"account_id": account_id})


def local(demo, **fields) -> Subscription:
    values = {"company": demo.eritech, "service": demo.service(BASIC), "quantity": 5, "term": "P1Y",
              "billing_frequency": "monthly", "term_start": START, "term_end": START.replace(year=2027),
              "cancellation_window_ends_at": START + dt.timedelta(hours=168), **fields}
    return SubscriptionFactory(**values)


def test_a_local_provisioning_starts_its_term_at_the_run(demo):
    due = dt.datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    job = schedule(demo, due_at=due)
    dispatch_due_imports(now=due)
    subscription = job.rows.get().subscription
    assert (subscription.term_start, subscription.term_end) == (due, due.replace(year=2027))
    assert subscription.cancellation_window_ends_at == due + dt.timedelta(hours=168)
    assert subscription.auto_renew and subscription.synced_at is None


def test_a_local_renewal_applies_its_sent_renewal_changes(demo, monkeypatch):
    noticed = []
    monkeypatch.setattr(orders_sync, "_notice_providers", [lambda changes, now: noticed.extend(changes)])
    subscription = local(demo, next_term_instructions={"quantity": 2})
    end = subscription.term_end
    quantity = SubscriptionChange.objects.create(subscription=subscription, kind=Kind.QUANTITY, when=When.RENEWAL,
                                                 due_at=end, quantity=2, status=Status.SENT)
    upgrade = SubscriptionChange.objects.create(subscription=subscription, kind=Kind.UPGRADE, when=When.RENEWAL,
                                                due_at=end, service=demo.service(STANDARD), status=Status.SENT)
    assert subscriptions_renew_local(now=end - dt.timedelta(seconds=1)) == 0  # not yet
    assert subscriptions_renew_local(now=end + dt.timedelta(minutes=1)) == 1
    subscription.refresh_from_db()
    assert (subscription.term_start, subscription.term_end) == (end, end.replace(year=2028))
    assert subscription.cancellation_window_ends_at == end + dt.timedelta(hours=168)
    assert (subscription.quantity, subscription.service, subscription.name) == (2, demo.service(STANDARD), demo.service(STANDARD).name)
    assert subscription.next_term_instructions == {}
    for change in (quantity, upgrade):
        change.refresh_from_db()
        assert (change.status, change.applied_at) == (Status.APPLIED, end)
    assert noticed == []
    assert subscriptions_renew_local(now=end + dt.timedelta(minutes=2)) == 0  # once


def test_a_local_subscription_with_auto_renew_off_ends_at_term_end(demo):
    subscription = local(demo, auto_renew=False)
    cancel = SubscriptionChange.objects.create(subscription=subscription, kind=Kind.CANCEL, when=When.RENEWAL,
                                               due_at=subscription.term_end, status=Status.SENT)
    assert subscriptions_renew_local(now=subscription.term_end) == 1
    subscription.refresh_from_db()
    cancel.refresh_from_db()
    assert subscription.status == Subscription.Status.TERMINATED and cancel.status == Status.APPLIED
    assert subscription.term_end == START.replace(year=2027)  # the term it ended with


def test_terms_missed_while_nothing_ran_are_caught_up(demo):
    subscription = local(demo, term="P1M", term_end=START + dt.timedelta(days=31))
    assert subscriptions_renew_local(now=START + dt.timedelta(days=100)) == 1
    subscription.refresh_from_db()
    assert subscription.term_start <= START + dt.timedelta(days=100) < subscription.term_end


def test_the_page_shows_the_term_and_the_window(abbie_client, demo):
    now = dt.datetime.now(UTC).replace(second=0, microsecond=0)
    subscription = local(demo, term_start=now - dt.timedelta(days=2), term_end=now + dt.timedelta(days=363),
                         cancellation_window_ends_at=now + dt.timedelta(days=5))
    html = abbie_client.get(page(subscription.account_id)).content.decode()
    assert f"Cancellation window closes {now + dt.timedelta(days=5):%Y-%m-%d %H:%M} UTC" in html
    assert f"{now + dt.timedelta(days=363):%Y-%m-%d %H:%M} UTC" in html
    assert "Not a vendor subscription" in html and "SYNC WITH MICROSOFT" not in html
    Subscription.objects.filter(pk=subscription.pk).update(cancellation_window_ends_at=now - dt.timedelta(minutes=1))
    html = abbie_client.get(page(subscription.account_id)).content.decode()
    assert '<dd class="sub-window">closed</dd>' in html


class _Connector:
    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def subscription_get(self, customer_id, subscription_id, **_):
        self.asked.append((customer_id, subscription_id))
        return self.answer


@pytest.fixture
def connector(monkeypatch, settings):
    settings.MICROSOFT_ENABLED = True
    stand_in = _Connector(None)
    monkeypatch.setattr(type(get_integration("microsoft")), "connector", lambda self: stand_in)
    return stand_in


def vendor_answer(**fields):
    values = {"id": "sub-1", "offer_id": "ICP-" + BASIC, "quantity": 5, "status": "active", "auto_renew_enabled": True,
              "billing_cycle": "monthly", "term_duration": "P1Y", "effective_start_date": "2026-03-10T00:00:00Z",
              "commitment_end_date": "2027-03-09T00:00:00Z", "cancellation_allowed_until_date": "2026-03-17T09:30:00Z"}
    return VendorSubscription(**{**values, **fields})


def test_sync_with_microsoft_from_the_page(abbie_client, demo, connector):
    subscription = local(demo, vendor_subscription_id="sub-1", attributes={"tenant_id": "tenant-1"})
    html = abbie_client.get(page(subscription.account_id)).content.decode()
    assert "SYNC WITH MICROSOFT" in html and ">Never<" in html
    change = SubscriptionChange.objects.create(subscription=subscription, kind=Kind.QUANTITY, when=When.RENEWAL,
                                               due_at=subscription.term_end, quantity=2, status=Status.SENT,
                                               before={"quantity": 5}, created_by=demo.admin_abbie)
    connector.answer = Done(vendor_answer())  # the vendor holds no next-term instructions: wiped
    response = abbie_client.post(sync_url(subscription.account_id), follow=True)
    assert connector.asked == [("tenant-1", "sub-1")]
    html = response.content.decode()
    assert "Synced with Microsoft." in html
    assert "Wiped at the vendor" in html and "Quantity 5 → 2 at renewal on 2027-03-10" in html
    change.refresh_from_db()
    subscription.refresh_from_db()
    assert change.status == Status.WIPED
    assert subscription.term_end == dt.datetime(2027, 3, 10, tzinfo=UTC) and subscription.synced_at is not None

    connector.answer = Transient("Microsoft Partner Center is limiting our requests (429)", retry_after=30, status=429)
    html = abbie_client.post(sync_url(subscription.account_id), follow=True).content.decode()
    assert "could not be asked now" in html
    assert VendorTenantPause.objects.filter(customer_id="tenant-1").exists()  # the tenant waits for its Retry-After


def test_sync_is_a_post_for_a_vendor_subscription_the_user_sees(abbie_client, client, demo, connector):
    assert abbie_client.get(sync_url(493796)).status_code == 405
    assert abbie_client.post(sync_url(493796)).status_code == 404  # provisioned locally: nothing to sync
    assert subscription_sync(Subscription.objects.get(account_id=493796).pk).status == "not_vendor"
    other = local(demo, company=demo.cusco, vendor_subscription_id="sub-2")
    assert abbie_client.post(sync_url(other.account_id)).status_code == 404  # another reseller's
    assert connector.asked == []


def test_the_demo_s_business_basic_reads_its_term_in_spanish(abbie_client, demo, monkeypatch):
    from tests.portal.test_spanish_pages import MessageCollector

    abbie_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    collector = MessageCollector(monkeypatch)
    html = abbie_client.get(page(493797)).content.decode()
    for text in ("PLAZO", "Fin del plazo", "Ventana de cancelación", "cerrada", "SINCRONIZAR CON MICROSOFT", "Nunca"):
        assert text in html, text
    standard = Subscription.objects.get(account_id=493798)
    html = abbie_client.get(page(493798)).content.decode()
    assert f"La ventana de cancelación se cierra el {standard.cancellation_window_ends_at:%Y-%m-%d %H:%M} UTC" in html
    assert collector.untranslated() == set()


# --- A renewed term is charged at the price of its first day --------------------------------------------------


def test_a_local_renewal_charges_the_price_in_force_on_the_renewal_day(demo):
    subscription = local(demo, unit_price=Decimal("6.00000"), unit_cost=Decimal("5.00000"))
    end = subscription.term_end
    # The price list changed after the purchase: the day before the renewal, and again the day after it.
    price(demo.eritech, demo.service(BASIC), selling_price="7.25000", effective_from=(end - dt.timedelta(days=1)).date())
    price(demo.eritech, demo.service(BASIC), selling_price="9.00000", effective_from=(end + dt.timedelta(days=1)).date())
    assert subscriptions_renew_local(now=end + dt.timedelta(minutes=1)) == 1
    subscription.refresh_from_db()
    assert (subscription.unit_price, subscription.unit_cost, subscription.currency) == (
        Decimal("7.25000"), Decimal("7.25000"), "USD")


def test_a_local_upgrade_at_renewal_charges_the_target_s_price_and_no_price_keeps_the_old(demo):
    upgraded = local(demo, unit_price=Decimal("6.00000"))
    end = upgraded.term_end
    SubscriptionChange.objects.create(subscription=upgraded, kind=Kind.UPGRADE, when=When.RENEWAL, due_at=end,
                                      service=demo.service(STANDARD), status=Status.SENT)
    price(demo.eritech, demo.service(STANDARD), selling_price="12.50000", effective_from=(end - dt.timedelta(days=3)).date())
    unpriced = local(demo, term="P1M", term_end=end, unit_price=Decimal("6.00000"))
    PriceListItem.objects.filter(service=demo.service(BASIC), term="P1M").delete()  # no price for its term any more
    assert subscriptions_renew_local(now=end + dt.timedelta(minutes=1)) == 2
    upgraded.refresh_from_db()
    unpriced.refresh_from_db()
    assert (upgraded.service, upgraded.unit_price) == (demo.service(STANDARD), Decimal("12.50000"))
    assert unpriced.unit_price == Decimal("6.00000")


def test_a_renewal_the_sync_finds_charges_the_price_of_the_new_term_s_first_day(demo, connector):
    subscription = local(demo, vendor_subscription_id="sub-1", attributes={"tenant_id": "tenant-1"},
                         term_start=dt.datetime(2026, 3, 10, tzinfo=UTC), term_end=dt.datetime(2027, 3, 10, tzinfo=UTC),
                         unit_price=Decimal("6.00000"))
    price(demo.eritech, demo.service(BASIC), selling_price="8.00000", effective_from=dt.date(2027, 3, 1))
    connector.answer = Done(vendor_answer())  # the term we know: not renewed, the price stays
    assert subscription_sync(subscription.pk, now=dt.datetime(2027, 3, 9, tzinfo=UTC)).status == "synced"
    subscription.refresh_from_db()
    assert subscription.unit_price == Decimal("6.00000")
    connector.answer = Done(vendor_answer(effective_start_date="2027-03-10T00:00:00Z",
                                          commitment_end_date="2028-03-09T00:00:00Z"))
    result = subscription_sync(subscription.pk, now=dt.datetime(2027, 3, 10, 1, tzinfo=UTC))
    assert result.renewed
    subscription.refresh_from_db()
    assert subscription.unit_price == Decimal("8.00000")
    assert subscription.term_end == dt.datetime(2028, 3, 10, tzinfo=UTC)
