"""Partner Center's resources as the connector reads and writes them: typed dataclasses parsed from (or
turned into) the JSON of the documented REST API; a malformed answer raises MalformedAnswer (a Transient)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class MalformedAnswer(ValueError):
    """A 2xx answer without the fields its resource must have."""


def _require(data: Any, key: str) -> Any:
    if not isinstance(data, Mapping) or data.get(key) in (None, ""):
        raise MalformedAnswer(f"missing {key!r}")
    return data[key]


def _mapping(data: Any, key: str) -> Mapping:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _items(data: Any, key: str) -> list:
    value = data.get(key) if isinstance(data, Mapping) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedAnswer(f"{key!r} is not a list")
    return value


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedAnswer(f"{name!r} is not a number") from None


@dataclass(frozen=True)
class Customer:
    id: str
    domain: str = ""
    company_name: str = ""
    relationship: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Customer:
        profile = _mapping(data, "companyProfile")
        billing = _mapping(data, "billingProfile")
        return cls(
            id=str(_require(data, "id")),
            domain=str(profile.get("domain") or ""),
            company_name=str(profile.get("companyName") or billing.get("companyName") or ""),
            relationship=str(data.get("relationshipToPartner") or ""),
        )


@dataclass(frozen=True)
class NewCustomer:
    """What POST /v1/customers needs: the new tenant's <domain>.onmicrosoft.com and its billing profile."""

    domain: str
    company_name: str
    email: str
    country: str
    city: str = ""
    state: str = ""
    address_line1: str = ""
    postal_code: str = ""
    first_name: str = ""
    last_name: str = ""
    phone_number: str = ""
    culture: str = "en-US"
    language: str = "en"

    def to_json(self) -> dict:
        return {
            "companyProfile": {"domain": self.domain},
            "billingProfile": {
                "email": self.email,
                "culture": self.culture,
                "language": self.language,
                "companyName": self.company_name,
                "defaultAddress": {
                    "country": self.country,
                    "region": None,
                    "city": self.city,
                    "state": self.state,
                    "addressLine1": self.address_line1,
                    "postalCode": self.postal_code,
                    "firstName": self.first_name,
                    "lastName": self.last_name,
                    "phoneNumber": self.phone_number,
                },
            },
        }


@dataclass(frozen=True)
class CartLineItem:
    catalog_item_id: str
    quantity: int
    billing_cycle: str  # "monthly" | "annual" | "triennial" | "none" ...
    term_duration: str = ""  # ISO 8601 duration, e.g. "P1Y", "P1M"
    id: int = 0

    def to_json(self) -> dict:
        item = {"id": self.id, "catalogItemId": self.catalog_item_id, "quantity": self.quantity, "billingCycle": self.billing_cycle}
        if self.term_duration:
            item["termDuration"] = self.term_duration
        return item

    @classmethod
    def from_json(cls, data: Any) -> CartLineItem:
        return cls(
            id=_int(data.get("id", 0), "id"),
            catalog_item_id=str(_require(data, "catalogItemId")),
            quantity=_int(_require(data, "quantity"), "quantity"),
            billing_cycle=str(data.get("billingCycle") or ""),
            term_duration=str(data.get("termDuration") or ""),
        )


@dataclass(frozen=True)
class Cart:
    id: str
    line_items: tuple[CartLineItem, ...] = ()
    status: str = ""
    expiration_timestamp: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Cart:
        return cls(
            id=str(_require(data, "id")),
            line_items=tuple(CartLineItem.from_json(item) for item in _items(data, "lineItems")),
            status=str(data.get("status") or ""),
            expiration_timestamp=str(data.get("expirationTimestamp") or ""),
        )


@dataclass(frozen=True)
class OrderLineItem:
    line_item_number: int
    offer_id: str
    subscription_id: str = ""
    quantity: int = 0

    @classmethod
    def from_json(cls, data: Any) -> OrderLineItem:
        if not isinstance(data, Mapping):
            raise MalformedAnswer("line item is not an object")
        return cls(
            line_item_number=_int(data.get("lineItemNumber", 0), "lineItemNumber"),
            offer_id=str(data.get("offerId") or ""),
            subscription_id=str(data.get("subscriptionId") or ""),
            quantity=_int(data.get("quantity", 0), "quantity"),
        )


@dataclass(frozen=True)
class Order:
    id: str
    status: str = ""  # "pending", "completed", "cancelled"
    line_items: tuple[OrderLineItem, ...] = ()
    creation_date: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Order:
        return cls(
            id=str(_require(data, "id")),
            status=str(data.get("status") or ""),
            line_items=tuple(OrderLineItem.from_json(item) for item in _items(data, "lineItems")),
            creation_date=str(data.get("creationDate") or ""),
        )

    @property
    def subscription_ids(self) -> list[str]:
        return [item.subscription_id for item in self.line_items if item.subscription_id]


@dataclass(frozen=True)
class OrderError:
    code: str
    description: str
    order_group_id: str = ""


@dataclass(frozen=True)
class CheckoutResult:
    orders: tuple[Order, ...] = ()
    errors: tuple[OrderError, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> CheckoutResult:
        if not isinstance(data, Mapping):
            raise MalformedAnswer("checkout result is not an object")
        orders = tuple(Order.from_json(order) for order in _items(data, "orders"))
        errors = tuple(
            OrderError(
                code=str(error.get("code") or ""),
                description=str(error.get("description") or ""),
                order_group_id=str(error.get("orderGroupId") or ""),
            )
            for error in _items(data, "orderErrors")
            if isinstance(error, Mapping)
        )
        if not orders and not errors:
            raise MalformedAnswer("checkout result has neither orders nor orderErrors")
        return cls(orders=orders, errors=errors)


@dataclass(frozen=True)
class Subscription:
    id: str
    offer_id: str = ""
    offer_name: str = ""
    friendly_name: str = ""
    quantity: int = 0
    status: str = ""
    auto_renew_enabled: bool | None = None
    billing_cycle: str = ""
    term_duration: str = ""
    order_id: str = ""
    commitment_end_date: str = ""
    # The term (New Commerce): the day it began, when the cancellation window (168 h after the purchase or the
    # renewal) closes, and what the next term will take (scheduledNextTermInstructions; {} when none). ISO 8601.
    effective_start_date: str = ""
    cancellation_allowed_until_date: str = ""
    scheduled_next_term_instructions: Mapping = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> Subscription:
        auto_renew = data.get("autoRenewEnabled") if isinstance(data, Mapping) else None
        instructions = data.get("scheduledNextTermInstructions") if isinstance(data, Mapping) else None
        return cls(
            id=str(_require(data, "id")),
            offer_id=str(data.get("offerId") or ""),
            offer_name=str(data.get("offerName") or ""),
            friendly_name=str(data.get("friendlyName") or ""),
            quantity=_int(data.get("quantity", 0), "quantity"),
            status=str(data.get("status") or ""),
            auto_renew_enabled=auto_renew if isinstance(auto_renew, bool) else None,
            billing_cycle=str(data.get("billingCycle") or ""),
            term_duration=str(data.get("termDuration") or ""),
            order_id=str(data.get("orderId") or ""),
            commitment_end_date=str(data.get("commitmentEndDate") or ""),
            effective_start_date=str(data.get("effectiveStartDate") or ""),
            cancellation_allowed_until_date=str(data.get("cancellationAllowedUntilDate") or ""),
            scheduled_next_term_instructions=dict(instructions) if isinstance(instructions, Mapping) else {},
        )


@dataclass(frozen=True)
class CallRecord:
    """One vendor call as an observer sees it (the engine records these for the PROVISIONING tab)."""

    operation: str
    method: str
    path: str
    request_id: str
    correlation_id: str
    status: int | None
    outcome: str  # done | refused | transient | unknown
    detail: str
    duration_ms: int


# --------------------------------------------------------------------------------------------------
