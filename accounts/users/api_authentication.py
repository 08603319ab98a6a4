"""`Authorization: Bearer <token>` with a personal API token (accounts.users.api_tokens)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.users.api_tokens import api_token_authenticate
from core.api.messages import TOKEN_MISSING

TOKEN_MALFORMED = _("The Authorization header must be Bearer followed by one token.")
TOKEN_INVALID = _("The API token is wrong, revoked, or its user can no longer log in.")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None  # then IsAuthenticated answers 401 with TOKEN_MISSING
        if header[0].lower() != self.keyword.lower().encode() or len(header) != 2:
            raise exceptions.AuthenticationFailed(TOKEN_MALFORMED)
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(TOKEN_INVALID) from None
        token = api_token_authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(TOKEN_INVALID)
        return token.user, token

    def authenticate_header(self, request):
        # Present: DRF then answers 401 (not 403) to a request without valid credentials.
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": str(TOKEN_MISSING)}
