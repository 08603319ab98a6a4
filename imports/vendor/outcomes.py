"""What one try of a vendor order comes to (Placed, Refusal, Trouble) and the reasons stored for it
(VENDOR_*, core.stored_messages), with the vendor's name they carry (vendor_name). The bottom of the vendor
sender (send → place → recorder → finish → outcomes): every one of those uses them, so they import nothing
of imports.vendor."""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from imports.models import VendorOrder

# Stored (core.stored_messages) in last_error and on the failed row; shown in the reader's language.
VENDOR_TROUBLE = _("%(vendor)s could not take the order right now: %(detail)s")
VENDOR_RATE_LIMITED = _("%(vendor)s is limiting our requests for now: %(detail)s")
VENDOR_NO_ANSWER = _(
    "%(vendor)s did not answer after the order was sent; it is asked again with the same request, so it is never placed twice: %(detail)s"
)
VENDOR_TENANT_PAUSED = _(
    "%(vendor)s asked us to slow down for this customer tenant; its orders wait until %(until)s."
)
VENDOR_NOT_CONNECTED = _("The connection to %(vendor)s is turned off; the order waits until it is on again.")
VENDOR_DEADLINE_PASSED = _(
    "%(vendor)s could not take the order before the deadline (%(deadline)s); please schedule it again. Last trouble: %(reason)s"
)
VENDOR_UNEXPECTED = _("The order could not be sent to %(vendor)s because of an unexpected error; it is tried again.")
# Waits without a call (imports.vendor.pacing): the tenant's request budget is spent; the vendor is down.
VENDOR_BUDGET_WAIT = _(
    "%(vendor)s is limiting our requests for this customer tenant; the order waits for its turn, at %(until)s."
)
VENDOR_UNAVAILABLE = _("%(vendor)s is unavailable, next try at %(until)s.")


@dataclass(frozen=True)
class Placed:
    vendor_order_id: str = ""
    vendor_subscription_id: str = ""
    vendor_status: str = ""
    customer_id: str = ""
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    reasons: list[str]


@dataclass(frozen=True)
class Trouble:
    reason: str
    retry_after: float | None = None


def vendor_name(vendor_order: VendorOrder) -> str:
    order = vendor_order.row.order
    return order.service.vendor.name if order is not None and order.service_id else vendor_order.integration
