"""Throttling per API token (not per address: one reseller's scripts share a token, and many
resellers may share a proxy). A refused request is 429 with Retry-After (core.api.errors)."""

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle


class _TokenThrottle(SimpleRateThrottle):
    @property
    def cache(self):
        # Looked up per use: Django's cache objects are per thread.
        return caches["api_throttle"]

    def get_rate(self):
        # Read per request (DRF binds the rates at import): tests and operators may change them.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is None or not getattr(token, "pk", None):
            return None  # unauthenticated requests were already refused with 401
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class TokenBurstThrottle(_TokenThrottle):
    scope = "token_burst"


class TokenSustainedThrottle(_TokenThrottle):
    scope = "token_sustained"
