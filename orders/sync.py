"""A subscription kept in step with its vendor, and the changes sent for its renewal verified (issue 27).

`subscription_sync(subscription_id)` syncs one subscription the vendor provisioned (it has a vendor
subscription id) through the integration's connector (Partner Center: GET .../subscriptions/{id}):

1. claim: a conditional UPDATE of `sync_claimed_until`, so two syncs of one subscription never run at once
   (the page's button and the engine's pass alike); the claim ends with the sync, or after SYNC_LEASE;
2. ask the vendor, outside any transaction (the call is a VendorCall of the subscription's company);
3. record the answer in one short transaction, the subscription locked: term start and end (Partner Center's
   effectiveStartDate, and the day after its commitmentEndDate: the term ends when that day is over),
   the cancellation window's end (cancellationAllowedUntilDate), quantity, billing cycle and term,
   auto-renew, the vendor's status (expired or deleted at the vendor: Terminated here), the next-term
   instructions and `synced_at`; then verify each of its SENT changes (orders.changes.states):
   - the renewal happened and the new term has the change → Applied (applied_at: the new term's start);
   - the renewal happened without it, or the subscription ended instead → Failed, with the reason;
   - no renewal yet, and the vendor's next-term instructions no longer carry it (a mid-term change made
     elsewhere wiped them, as Partner Center does) → Wiped, with the reason.
   The changes that moved to Wiped or Failed are handed, in that same transaction, to the notice
   providers registered here (imports writes their emails and webhook events to the outbox), so a
   wipe is never silently lost and never announced for a sync that rolled back.

The renewals of subscriptions provisioned locally (no vendor) are orders.renewals'; the engine's periodic pass
runs both (imports.engine.term_sync). The notices and the repricing are shared with them from here.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.integrations import get_integration
from catalog.integrations.budget import tenant_request_reserve
from catalog.integrations.calls import calls_for
from catalog.integrations.microsoft import DOMAIN_ATTRIBUTE, TENANT_ATTRIBUTE
from catalog.integrations.microsoft_orders import catalog_item_id
from catalog.integrations.partner_center import Done, Refused, Transient
from catalog.integrations.pauses import tenant_pause
from catalog.models import BillingFrequency, Term
from core.clock import db_now
from core.stored_messages import stored

from .changes.states import transition
from .models import Subscription, SubscriptionChange
from .timeline import renewal_prices

logger = logging.getLogger(__name__)

Kind, Status, When = SubscriptionChange.Kind, SubscriptionChange.Status, SubscriptionChange.When

# Longer than one call can take (connect + read timeouts, a token renewal): a sync holds its subscription
# this long at most; a sync that died is taken over after it.
SYNC_LEASE = dt.timedelta(minutes=2)
# A later term began: its start moved on by more than a day (Partner Center's start is the day at 00:00 UTC,
# while a term provisioned locally started at the run's minute).
RENEWED_AFTER = dt.timedelta(days=1)
VENDOR_ENDED = {"expired", "deleted"}

SYNC_NOT_VENDOR = _("This subscription was not provisioned through the vendor: there is nothing to sync with it.")
SYNC_BUSY = _("This subscription is being synced with the vendor already; try again in a moment.")
SYNC_NOT_CONNECTED = _("%(vendor)s cannot be asked from this server now (its integration is off).")
SYNC_TROUBLE = _("%(vendor)s could not be asked now (%(detail)s); try again later.")
# The tenant's request budget is spent (catalog.integrations.budget): no call now.
SYNC_BUDGET = _("%(vendor)s is limiting our requests for this customer tenant; try again in a few seconds.")
SYNC_DONE = _("Synced with %(vendor)s.")
CHANGE_WIPED = _(
    "%(vendor)s no longer holds this change for the renewal: a change made to the subscription during its term "
    "(for example in Partner Center) removed its next-term instructions. Schedule it again if it is still wanted."
)
CHANGE_RENEWED_WITHOUT = _("%(vendor)s renewed the subscription on %(date)s without this change.")
CHANGE_ENDED_WITHOUT = _("The subscription ended on %(date)s without renewing, so this change could not apply.")


@dataclass
class SyncResult:
    """What a sync did: `status` is "synced", "not_vendor", "busy", "trouble" or "refused"; `message` is stored
    text for the page (core.stored_messages); `moved` lists the changes verified, by their new status."""

    status: str
    message: str = ""
    renewed: bool = False
    moved: dict[str, list[int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "synced"


# --- Notices: what imports plugs in (orders cannot import it) -----------------------------------------------

# Called inside the transaction that moved the changes, with the changes (status and reason set) and the time.
SyncNotice = Callable[..., None]
_notice_providers: list[SyncNotice] = []


def sync_notices_register(provider: SyncNotice) -> None:
    if provider not in _notice_providers:
        _notice_providers.append(provider)


def notify_moved(changes: list[SubscriptionChange], *, now: dt.datetime) -> None:
    if changes:
        for provider in _notice_providers:
            provider(changes, now=now)


# --- Who the vendor knows the subscription by ---------------------------------------------------------------

def vendor_customer_id(subscription: Subscription) -> str:
    """The vendor customer the subscription belongs to: the tenant its order named, or the one it holds; else
    (a subscription without either, e.g. the demo's) the tenant of its company's tenant subscription."""
    order = subscription.order
    config = (order.vendor_config if order else None) or {}
    tenant = config.get("microsoft_tenant_id") or (subscription.attributes or {}).get(TENANT_ATTRIBUTE)
    if not tenant:
        tenant = (
            Subscription.objects.live().filter(company_id=subscription.company_id, attributes__has_key=DOMAIN_ATTRIBUTE)
            .order_by("created_at", "id").values_list(f"attributes__{TENANT_ATTRIBUTE}", flat=True).first()
        )
    return str(tenant or "").lower()


def is_vendor_subscription(subscription: Subscription) -> bool:
    """Provisioned through the vendor, so the vendor holds its term (the page's SYNC button, the engine's syncs)."""
    return bool(subscription.vendor_subscription_id)


def _parse(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- What the vendor's answer says about a change ----------------------------------------------------------

def _instruction(instructions: dict, key: str):
    product = instructions.get("product") if isinstance(instructions.get("product"), dict) else {}
    return instructions.get(key) or product.get(key)


def _instruction_offer(instructions: dict) -> str | None:
    product = instructions.get("product") if isinstance(instructions.get("product"), dict) else {}
    if item := instructions.get("catalogItemId") or product.get("catalogItemId"):
        return str(item)
    parts = [product.get(key) for key in ("productId", "skuId", "availabilityId")]
    return ":".join(str(p) for p in parts) if all(parts) else None


def _carried(change: SubscriptionChange, vendor) -> bool:
    """The vendor still holds `change` for the renewal (in its next-term instructions, or its auto-renew flag)."""
    instructions = dict(vendor.scheduled_next_term_instructions or {})
    if change.kind == Kind.QUANTITY:
        return instructions.get("quantity") == change.quantity
    if change.kind == Kind.BILLING_CYCLE:
        return str(_instruction(instructions, "billingCycle") or "").lower() == change.billing_frequency
    if change.kind == Kind.TERM:
        return _instruction(instructions, "termDuration") == change.term
    if change.kind == Kind.UPGRADE:
        return _instruction_offer(instructions) == catalog_item_id(change.service)
    if change.kind == Kind.AUTO_RENEW:
        return vendor.auto_renew_enabled is change.auto_renew
    if change.kind == Kind.CANCEL:
        return vendor.auto_renew_enabled is False
    return True


def _in_force(change: SubscriptionChange, vendor) -> bool:
    """The vendor's subscription, after a renewal, is as `change` wanted it."""
    if change.kind == Kind.QUANTITY:
        return vendor.quantity == change.quantity
    if change.kind == Kind.BILLING_CYCLE:
        return vendor.billing_cycle.lower() == change.billing_frequency
    if change.kind == Kind.TERM:
        return vendor.term_duration == change.term
    if change.kind == Kind.UPGRADE:
        return vendor.offer_id == catalog_item_id(change.service)
    if change.kind == Kind.AUTO_RENEW:
        return vendor.auto_renew_enabled is change.auto_renew
    if change.kind == Kind.CANCEL:
        return vendor.status in VENDOR_ENDED
    return False


# --- One sync ---------------------------------------------------------------------------------------------

def _claim(subscription_id: int, *, now: dt.datetime) -> bool:
    free = Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lte=now)
    return Subscription.objects.filter(pk=subscription_id).filter(free).update(sync_claimed_until=now + SYNC_LEASE) == 1


def _release(subscription_id: int) -> None:
    Subscription.objects.filter(pk=subscription_id).update(sync_claimed_until=None)


def subscription_sync(subscription_id: int, *, now: dt.datetime | None = None) -> SyncResult:
    """Sync one subscription with its vendor (see the module's docstring); never raises for the vendor's trouble."""
    subscription = (
        Subscription.objects.select_related("service__vendor", "company", "order").filter(pk=subscription_id).first()
    )
    if subscription is None or not is_vendor_subscription(subscription):
        return SyncResult("not_vendor", stored(SYNC_NOT_VENDOR))
    vendor_name = subscription.service.vendor.name
    integration = get_integration(subscription.service.vendor.integration)
    connector = integration.connector() if integration else None
    customer_id = vendor_customer_id(subscription)
    if connector is None or not customer_id:
        return SyncResult("trouble", stored(SYNC_NOT_CONNECTED, vendor=vendor_name))
    if not _claim(subscription.pk, now=now or db_now()):
        return SyncResult("busy", stored(SYNC_BUSY))
    try:
        # A subscription is a resource Microsoft counts against the tenant: one request of its budget first.
        if tenant_request_reserve(integration.key, customer_id, now=db_now()) is not None:
            return SyncResult("trouble", stored(SYNC_BUDGET, vendor=vendor_name))
        with calls_for(subscription.company_id):
            answer = connector.subscription_get(customer_id, subscription.vendor_subscription_id)
        if isinstance(answer, Refused):
            return SyncResult("refused", answer.reason)
        if not isinstance(answer, Done):
            if isinstance(answer, Transient) and answer.status == 429 and answer.retry_after:
                # The tenant's limit is reached: every sender waits for it (its other syncs and orders alike).
                tenant_pause(subscription.service.vendor.integration, customer_id,
                             until=(now or db_now()) + dt.timedelta(seconds=answer.retry_after))
            return SyncResult("trouble", stored(SYNC_TROUBLE, vendor=vendor_name, detail=getattr(answer, "reason", "")))
        return _record(subscription.pk, answer.result, vendor_name=vendor_name, now=now or db_now())
    finally:
        _release(subscription.pk)


def _vendor_fields(subscription: Subscription, vendor) -> dict:
    fields = {
        "vendor_status": vendor.status[:30],
        "next_term_instructions": dict(vendor.scheduled_next_term_instructions or {}),
    }
    start, commitment_end = _parse(vendor.effective_start_date), _parse(vendor.commitment_end_date)
    if start and commitment_end and commitment_end + dt.timedelta(days=1) > start:
        fields.update(term_start=start, term_end=commitment_end + dt.timedelta(days=1))
    if vendor.cancellation_allowed_until_date:
        fields["cancellation_window_ends_at"] = _parse(vendor.cancellation_allowed_until_date)
    if vendor.auto_renew_enabled is not None:
        fields["auto_renew"] = vendor.auto_renew_enabled
    if vendor.quantity > 0:
        fields["quantity"] = vendor.quantity
    if vendor.billing_cycle.lower() in BillingFrequency.values:
        fields["billing_frequency"] = vendor.billing_cycle.lower()
    if vendor.term_duration in Term.values:
        fields["term"] = vendor.term_duration
    if vendor.status in VENDOR_ENDED:
        fields["status"] = Subscription.Status.TERMINATED
    return fields


def _record(subscription_id: int, vendor, *, vendor_name: str, now: dt.datetime) -> SyncResult:
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        fields = _vendor_fields(subscription, vendor)
        new_start = fields.get("term_start", subscription.term_start)
        # A later term began: its start moved on, to (about) the end of the term we knew.
        renewed = bool(
            subscription.term_start and new_start and new_start - subscription.term_start > RENEWED_AFTER
            and (subscription.term_end is None or new_start >= subscription.term_end - RENEWED_AFTER)
        )
        ended = vendor.status in VENDOR_ENDED
        sent = list(
            SubscriptionChange.objects.select_related("service").filter(subscription_id=subscription_id, status=Status.SENT)
        )
        moved: dict[str, list[SubscriptionChange]] = {}
        for change in sent:
            to, extra = _verdict(change, vendor, renewed=renewed, ended=ended, start=new_start,
                                 end=subscription.term_end, vendor_name=vendor_name)
            if to and transition(change.pk, Status.SENT, to, **extra):
                change.status = to
                for name, value in extra.items():
                    setattr(change, name, value)
                moved.setdefault(to, []).append(change)
        upgraded = [c for c in moved.get(Status.APPLIED, []) if c.kind == Kind.UPGRADE]
        if upgraded:
            target = upgraded[-1].service
            fields["service"] = target
            if subscription.name == subscription.service.name:
                fields["name"] = target.name
        fields["synced_at"] = now
        for name, value in fields.items():
            setattr(subscription, name, value)
        if renewed and new_start is not None:
            fields.update(reprice(subscription, start=new_start))
        subscription.save(update_fields=list(fields))
        notify_moved(moved.get(Status.WIPED, []) + moved.get(Status.FAILED, []), now=now)
    return SyncResult(
        "synced", stored(SYNC_DONE, vendor=vendor_name), renewed=renewed,
        moved={status: [c.pk for c in changes] for status, changes in moved.items()},
    )


def reprice(subscription: Subscription, *, start: dt.datetime) -> dict:
    """A renewed term is charged at the price of its first day, as the renewal's preview said: those prices set on
    `subscription` (its renewed service, cycle and term already set), returned as the fields to save."""
    prices = renewal_prices(subscription, day=start.astimezone(dt.timezone.utc).date())
    for name, value in prices.items():
        setattr(subscription, name, value)
    return prices


def _verdict(change, vendor, *, renewed, ended, start, end, vendor_name) -> tuple[str | None, dict]:
    """The move a Sent change makes on this answer: (new status, fields) or (None, {}) to keep it Sent."""
    if ended:
        date = (end or start).strftime("%Y-%m-%d") if (end or start) else "—"
        if _in_force(change, vendor):
            return Status.APPLIED, {"applied_at": end or start}
        return Status.FAILED, {"reason": stored(CHANGE_ENDED_WITHOUT, date=date)}
    if renewed:
        if change.kind == Kind.CANCEL:
            return Status.FAILED, {"reason": stored(CHANGE_RENEWED_WITHOUT, vendor=vendor_name, date=start.strftime("%Y-%m-%d"))}
        if _in_force(change, vendor):
            return Status.APPLIED, {"applied_at": start}
        return Status.FAILED, {"reason": stored(CHANGE_RENEWED_WITHOUT, vendor=vendor_name, date=start.strftime("%Y-%m-%d"))}
    if not _carried(change, vendor):
        return Status.WIPED, {"reason": stored(CHANGE_WIPED, vendor=vendor_name)}
    return None, {}
