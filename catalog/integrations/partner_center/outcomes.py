"""The connector's outcomes: Done, Refused (Partner Center's documented codes as reseller-readable
reasons), Transient and Unknown; one home for the split every caller relies on (see the package's docstring)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.utils.translation import gettext_lazy as _

from core.stored_messages import stored

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONTRACT_VERSION = "v1"
APPLICATION_NAME = "ICP portal"
USER_AGENT = "icp-portal/partner-center"


# --------------------------------------------------------------------------------------------------
# Outcomes: one home for the split every caller (the engine, the due-time check) relies on.


@dataclass(frozen=True)
class Done(Generic[T]):
    result: T
    request_id: str = ""
    correlation_id: str = ""

    kind = "done"


@dataclass(frozen=True)
class Refused:
    """Microsoft said no, for a business reason: the same request will be refused again."""

    code: str
    description: str
    status: int = 0
    request_id: str = ""
    correlation_id: str = ""

    kind = "refused"

    @property
    def reason(self) -> str:
        """The reseller-readable reason, as stored text (core.stored_messages): rendered in the reader's
        language, Spanish or English; an undocumented code shows Microsoft's own description."""
        return refusal_reason(self.code, self.description)


@dataclass(frozen=True)
class Transient:
    """Try again later (at least `retry_after` seconds from now when Microsoft said so)."""

    reason: str
    retry_after: float | None = None
    status: int = 0
    request_id: str = ""
    correlation_id: str = ""

    kind = "transient"


@dataclass(frozen=True)
class Unknown:
    """The request went out and no answer came back: it may have been done. Retry with the same
    MS-RequestId (`request_id`), or look the result up (an order by its cart); never a new request id."""

    reason: str
    request_id: str = ""
    correlation_id: str = ""

    kind = "unknown"


Outcome = Done | Refused | Transient | Unknown


# --------------------------------------------------------------------------------------------------
# Refusals: Partner Center's documented error codes → a reason a reseller can act on (en, es).
# Codes from https://learn.microsoft.com/en-us/partner-center/developer/error-codes and CartErrorCode.

REFUSED_GENERIC = _("Microsoft refused the request: %(description)s (code %(code)s).")
REFUSED_NO_RELATIONSHIP = _(
    "Microsoft says this customer has no reseller relationship with our partner account; ask the customer to accept the reseller invitation."
)
REFUSED_TENANT_NOT_FOUND = _("Microsoft does not know this customer tenant; check the Microsoft Tenant Id.")
REFUSED_SUBSCRIPTION_NOT_FOUND = _("Microsoft does not know this subscription.")
REFUSED_ORDER_NOT_FOUND = _("Microsoft does not know this order.")
REFUSED_CART_NOT_FOUND = _("Microsoft no longer has this order's cart (carts expire after 7 days); schedule the order again.")
REFUSED_QUANTITY_LIMITS = _("The quantity is outside the minimum and maximum Microsoft allows for this offer.")
REFUSED_OFFER_INVALID = _("Microsoft does not recognise this product's offer; contact the distributor.")
REFUSED_OFFER_UNAVAILABLE = _("Microsoft no longer offers this product for purchase.")
REFUSED_NOT_ELIGIBLE = _("Microsoft says this product cannot be purchased for this customer.")
REFUSED_INVENTORY = _("Microsoft has no inventory available for this product right now.")
REFUSED_COUNTRY = _("Microsoft does not offer this product in the customer's country or region.")
REFUSED_CUSTOMER_AGREEMENT = _(
    "The customer has not accepted the Microsoft Customer Agreement; it must be accepted before this purchase."
)
REFUSED_SUBSCRIPTION_LIMIT = _("The customer already has the maximum number of subscriptions Microsoft allows.")
REFUSED_SEAT_LIMIT = _("The quantity exceeds the maximum number of seats Microsoft allows per subscription.")
REFUSED_CUSTOMER_REVIEW = _("Microsoft is reviewing this customer's account; purchases are blocked until it is approved.")
REFUSED_CUSTOMER_NOT_APPROVED = _("Microsoft did not approve this customer's account; purchases for it are not allowed.")
REFUSED_RISK = _("Microsoft's risk check refused this order.")
REFUSED_CREDIT = _("Our Microsoft credit limit does not cover this order; contact the distributor.")
REFUSED_PARTNER_AGREEMENT = _("Our partner account has not accepted the Microsoft Partner Agreement; contact the distributor.")
REFUSED_INVALID_INPUT = _("Microsoft refused the order's details as invalid: %(description)s")

# Code (as Microsoft sends it, a string) → reason.
REFUSAL_REASONS: dict[str, Any] = {
    "20002": REFUSED_NO_RELATIONSHIP,
    "900159": REFUSED_NO_RELATIONSHIP,
    "60003": REFUSED_TENANT_NOT_FOUND,
    "900118": REFUSED_TENANT_NOT_FOUND,
    "20003": REFUSED_SUBSCRIPTION_NOT_FOUND,
    "20000": REFUSED_ORDER_NOT_FOUND,
    "800008": REFUSED_CART_NOT_FOUND,
    "2002": REFUSED_QUANTITY_LIMITS,
    "800004": REFUSED_OFFER_INVALID,
    "10001": REFUSED_OFFER_INVALID,  # CartErrorCode.CatalogItemIdIsNotValid
    "2091": REFUSED_OFFER_UNAVAILABLE,
    "2085": REFUSED_NOT_ELIGIBLE,
    "800020": REFUSED_NOT_ELIGIBLE,
    "800010": REFUSED_INVENTORY,
    "800017": REFUSED_INVENTORY,
    "10003": REFUSED_INVENTORY,  # CartErrorCode.InventoryNotAvailable
    "800070": REFUSED_COUNTRY,
    "13605": REFUSED_CUSTOMER_AGREEMENT,
    "800066": REFUSED_SUBSCRIPTION_LIMIT,
    "800067": REFUSED_SEAT_LIMIT,
    "800088": REFUSED_SEAT_LIMIT,
    "800073": REFUSED_CUSTOMER_REVIEW,
    "800074": REFUSED_CUSTOMER_REVIEW,
    "800075": REFUSED_CUSTOMER_NOT_APPROVED,
    "800069": REFUSED_RISK,
    "900121": REFUSED_CREDIT,
    "800023": REFUSED_CREDIT,
    "800025": REFUSED_CREDIT,
    "900124": REFUSED_PARTNER_AGREEMENT,
}
# Codes whose message needs Microsoft's own description (which field was wrong).
REFUSAL_WITH_DESCRIPTION: dict[str, Any] = {"800002": REFUSED_INVALID_INPUT, "3000": REFUSED_INVALID_INPUT}
# Documented 4xx codes that mean "not now" rather than "no": the request will succeed later as it is.
TRANSIENT_CODES = {
    "800060",  # 409 "Your order is in progress. Check your order history for recent orders in few minutes"
    "800064",  # 409 "Cart {0} is being processed by another request"
    "800082",  # 409 "Subscription is not ready to be updated. Try again after sometime"
}

TRANSIENT_UNAVAILABLE = "Microsoft Partner Center answered %(status)s"
TRANSIENT_RATE_LIMITED = "Microsoft Partner Center is limiting our requests (429)"
TRANSIENT_CONNECT = "could not reach Microsoft Partner Center: %(error)s"
TRANSIENT_MALFORMED = "Microsoft Partner Center sent a malformed answer: %(error)s"
TRANSIENT_AUTH = "Microsoft Partner Center refused our credentials (HTTP %(status)s)"
TRANSIENT_TOKEN = "could not get a Microsoft token: %(error)s"
TRANSIENT_NOT_CONFIGURED = "Microsoft Partner Center credentials are not configured (MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET)"
UNKNOWN_NO_ANSWER = "no answer from Microsoft Partner Center after the request was sent (%(error)s); retry with the same MS-RequestId"


def refusal_reason(code: str, description: str) -> str:
    """The reason for a refusal, as stored text; a code not in the table shows Microsoft's description."""
    code = str(code or "")
    if code in REFUSAL_REASONS:
        return stored(REFUSAL_REASONS[code])
    if code in REFUSAL_WITH_DESCRIPTION:
        return stored(REFUSAL_WITH_DESCRIPTION[code], description=description or code)
    return stored(REFUSED_GENERIC, description=description or "—", code=code or "—")


# --------------------------------------------------------------------------------------------------
# Typed results (the subset of Partner Center's resources the portal uses).
