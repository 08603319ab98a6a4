"""What a job's vendor orders (imports.models.VendorOrder) say about it, as people see it: "Waiting for
Microsoft, next try at 2026-12-06 10:42 UTC" and the vendor's last reason. One home for My imports
(list, detail, cards), the API's `vendor` object and imports_health.

A job's vendor orders are read with it (`vendor_orders_prefetch`, one statement for a page of jobs);
`job_vendor_state(job)` then asks no more of the database than the vendors' names (a small table,
read once per request through `vendor_names`).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils.translation import gettext, gettext_lazy as _

from catalog.models import Vendor
from core.datetimes import utc_text
from core.stored_messages import rendered

from imports.models import ImportJob, VendorOrder

Outcome = VendorOrder.Outcome

# The status cell's headline and the API's text: the vendor's name and the next try, in the portal's
# date-time rule (core.datetimes.utc_text).
WAITING_FOR = _("Waiting for %(vendor)s")
WAITING_NEXT_TRY = _("Waiting for %(vendor)s, next try at %(time)s")
# Under the status badge, in the portal's date-time rule.
NEXT_TRY = _("next try at %(time)s")
# No next try known (the job is in the engine's hands right now).
WAITING_SENDING = _("Waiting for %(vendor)s, sending now")

# The API's vendor.status: open orders are "waiting", final ones say how they ended.
STATE_WAITING = "waiting"
STATES = (STATE_WAITING, Outcome.DONE, Outcome.REFUSED, Outcome.EXPIRED)

# What the list reads of each vendor order (not the subscription snapshot, which is wide).
VENDOR_ORDER_FIELDS = (
    "id", "job_id", "row_id", "integration", "status", "outcome", "next_attempt_at", "last_error", "reason",
    "vendor_order_id", "vendor_subscription_id", "created_at",
)


def vendor_orders_prefetch() -> Prefetch:
    """The job's vendor orders, narrow, oldest first, each with its vendor's name (`vendor_name`, from
    catalog's Vendor by integration key): add to a job queryset's prefetch_related. One statement for
    a whole page of jobs, whatever they hold."""
    name = Vendor.objects.filter(integration=OuterRef("integration")).order_by("-id").values("name")[:1]
    orders = VendorOrder.objects.only(*VENDOR_ORDER_FIELDS).annotate(vendor_name=Subquery(name))
    return Prefetch("vendor_orders", queryset=orders.order_by("created_at", "id"))


def vendor_names() -> dict[str, str]:
    """Integration key → the vendor's name ("microsoft" → "Microsoft"), as catalog names it: one small
    read, done once per page or answer (callers pass it on as `names`)."""
    return dict(Vendor.objects.exclude(integration="").order_by("-id").values_list("integration", "name"))


def vendor_label(order: VendorOrder, names: dict[str, str] | None = None) -> str:
    """The vendor's name for `order`: annotated by vendor_orders_prefetch, else from `names`, else read."""
    name = getattr(order, "vendor_name", None)
    if name:
        return name
    names = vendor_names() if names is None else names
    return names.get(order.integration) or order.integration.title() or gettext("the vendor")


@dataclass(frozen=True)
class VendorState:
    """Where a job stands with the vendor (its open vendor orders first, else the last final one)."""

    vendor: str  # the vendor's name, e.g. "Microsoft"
    status: str  # STATES: waiting, done, refused, expired
    next_try_at: dt.datetime | None
    # The vendor's last word (a refusal's reason, the last transient trouble), rendered in the reader's language.
    reason: str
    vendor_order_id: str
    vendor_subscription_id: str

    @property
    def is_waiting(self) -> bool:
        return self.status == STATE_WAITING

    @property
    def headline(self) -> str:
        """ "Waiting for Microsoft, next try at 2026-12-06 10:42 UTC" (empty when not waiting)."""
        if not self.is_waiting:
            return ""
        if self.next_try_at is None:
            return str(WAITING_SENDING % {"vendor": self.vendor})
        return str(WAITING_NEXT_TRY % {"vendor": self.vendor, "time": utc_text(self.next_try_at)})

    @property
    def next_try_text(self) -> str:
        """ "next try at 2026-12-06 10:42 UTC" (empty when not waiting or not known)."""
        if not self.is_waiting or self.next_try_at is None:
            return ""
        return str(NEXT_TRY % {"time": utc_text(self.next_try_at)})

    @property
    def status_label(self) -> str:
        """The status badge while waiting ("Waiting for Microsoft")."""
        return str(WAITING_FOR % {"vendor": self.vendor})


def _is_open(order: VendorOrder) -> bool:
    return order.outcome == Outcome.OPEN and order.status == VendorOrder.Status.PENDING


def vendor_state_of(orders, *, names: dict[str, str] | None = None) -> VendorState | None:
    """The state of a job whose vendor orders are `orders` (None when it has none): waiting while any
    is open (the earliest next try, the reason of the one that will be tried first), otherwise the
    last to end. The ids are given when the job has exactly one vendor order (a scheduled provisioning)."""
    orders = list(orders)
    if not orders:
        return None
    open_orders = sorted((o for o in orders if _is_open(o)), key=lambda o: (o.next_attempt_at, o.pk))
    single = orders[0] if len(orders) == 1 else None
    if open_orders:
        first = open_orders[0]
        status, next_try, reason, about = STATE_WAITING, first.next_attempt_at, first.last_error, first
    else:
        # A refusal or an expiry says more than the orders that were done.
        final = sorted(orders, key=lambda o: (o.outcome != Outcome.DONE, o.pk))[-1]
        status, next_try = final.outcome or STATE_WAITING, None
        reason, about = final.reason or final.last_error, final
    return VendorState(
        vendor=vendor_label(about, names),
        status=status,
        next_try_at=next_try,
        reason=rendered(reason),
        vendor_order_id=single.vendor_order_id if single else "",
        vendor_subscription_id=single.vendor_subscription_id if single else "",
    )


def job_vendor_state(job: ImportJob, *, names: dict[str, str] | None = None) -> VendorState | None:
    """vendor_state_of the job's vendor orders (prefetched by vendor_orders_prefetch when the caller did)."""
    return vendor_state_of(job.vendor_orders.all(), names=names)


def jobs_vendor_states(jobs) -> dict[int, VendorState]:
    """job id → VendorState for the jobs that have vendor orders (read with vendor_orders_prefetch)."""
    return {job.pk: state for job in jobs if (state := job_vendor_state(job)) is not None}
