"""Vendor integrations: the extra configuration fields a vendor needs and its due-time checks.

An integration registers under a key; a Vendor row names that key in `Vendor.integration`.
Integrations know nothing about orders or imports: callers hand them an IntegrationContext
with the company's existing subscriptions already read.
"""

from .base import CompanySubscriptionInfo, IntegrationContext, VendorIntegration, VendorWait, get_integration, register
from . import microsoft  # noqa: F401,E402  (registers itself)

__all__ = ["CompanySubscriptionInfo", "IntegrationContext", "VendorIntegration", "VendorWait", "get_integration", "register"]
