"""Microsoft Partner Center: the portal's production HTTP client (the vendor connector).

One pooled httpx.Client per process (`partner_center()`), explicit connect/read timeouts, an Entra ID
client-credentials token cached until shortly before it expires. Every operation returns one of four
outcomes, and never raises for anything the network or Microsoft does:

- Done(result)                  the call succeeded; `result` is a typed dataclass (Customer, Cart, Order...).
- Refused(code, description)    a business refusal: Microsoft's error code and description; `reason` is a
                                reseller-readable text in the reader's language (stored form, core.stored_messages).
- Transient(reason, retry_after) nothing was done, or what was asked is safe to ask again later: 5xx, 429
                                (Retry-After honoured), a connection that could not be opened, a malformed
                                answer, credentials refused twice. Retry later with the same MS-RequestId.
- Unknown(reason)               the request was sent and no answer came (read timeout, connection lost):
                                Microsoft may have done it. The caller retries with the SAME MS-RequestId
                                (or looks the order up by its cart), never places a second order.

Partner Center documentation followed (cited where used below):
- REST headers: https://learn.microsoft.com/en-us/partner-center/developer/headers
  MS-RequestId: "A unique identifier for the call, used to ensure id-potency. If there's a timeout, the retry
  call should include the same value. Upon receiving a response (success or business failure), the value
  should be reset for the next call." MS-CorrelationId: a unique id per call, for logs and traces.
  MS-Contract-Version: required, "v1".
- Error responses and codes: https://learn.microsoft.com/en-us/partner-center/developer/error-codes
  (body {"code", "description", "data", "source"}).
- Carts: https://learn.microsoft.com/en-us/partner-center/developer/create-a-cart and
  https://learn.microsoft.com/en-us/partner-center/developer/checkout-a-cart ("This API is idempotent ...
  If a cart was successfully checked out previously and a subsequent checkout call is made to that same
  cart, the API response will reiterate the information returned after initial checkout." Carts expire
  7 days after creation.) Cart line errors: CartErrorCode,
  https://learn.microsoft.com/en-us/dotnet/api/microsoft.store.partnercenter.models.carts.enums.carterrorcode
- Customers, domains, orders, subscriptions: POST /v1/customers, HEAD /v1/domains/{domain} (404: available),
  GET /v1/customers/{id}/orders/{id}, GET/PATCH /v1/customers/{id}/subscriptions[/{id}].
- Authentication (app-only, client credentials):
  https://learn.microsoft.com/en-us/partner-center/developer/partner-center-authentication

The caller owns MS-RequestId for writes (it records it before calling, so a retry after a timeout or a
crash reuses it); reads get a fresh one unless given.
"""

from .outcomes import (  # noqa: F401 (the connector's API, one import path)
    Done,
    Outcome,
    REFUSAL_REASONS,
    REFUSAL_WITH_DESCRIPTION,
    REFUSED_CART_NOT_FOUND,
    REFUSED_COUNTRY,
    REFUSED_CREDIT,
    REFUSED_CUSTOMER_AGREEMENT,
    REFUSED_CUSTOMER_NOT_APPROVED,
    REFUSED_CUSTOMER_REVIEW,
    REFUSED_GENERIC,
    REFUSED_INVALID_INPUT,
    REFUSED_INVENTORY,
    REFUSED_NOT_ELIGIBLE,
    REFUSED_NO_RELATIONSHIP,
    REFUSED_OFFER_INVALID,
    REFUSED_OFFER_UNAVAILABLE,
    REFUSED_ORDER_NOT_FOUND,
    REFUSED_PARTNER_AGREEMENT,
    REFUSED_QUANTITY_LIMITS,
    REFUSED_RISK,
    REFUSED_SEAT_LIMIT,
    REFUSED_SUBSCRIPTION_LIMIT,
    REFUSED_SUBSCRIPTION_NOT_FOUND,
    REFUSED_TENANT_NOT_FOUND,
    Refused,
    TRANSIENT_AUTH,
    TRANSIENT_CODES,
    TRANSIENT_CONNECT,
    TRANSIENT_MALFORMED,
    TRANSIENT_NOT_CONFIGURED,
    TRANSIENT_RATE_LIMITED,
    TRANSIENT_TOKEN,
    TRANSIENT_UNAVAILABLE,
    Transient,
    UNKNOWN_NO_ANSWER,
    Unknown,
    refusal_reason,
)
from .resources import (  # noqa: F401 (the connector's API, one import path)
    CallRecord,
    Cart,
    CartLineItem,
    CheckoutResult,
    Customer,
    MalformedAnswer,
    NewCustomer,
    Order,
    OrderError,
    OrderLineItem,
    Subscription,
)
from .client import (  # noqa: F401 (the connector's API, one import path)
    PartnerCenterClient,
    PartnerCenterConfig,
    UnsafeVendorURL,
    new_request_id,
    parse_retry_after,
    partner_center,
    partner_center_reset,
    vendor_url_problems,
)
