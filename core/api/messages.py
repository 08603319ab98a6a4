"""Messages the API machinery and the authentication class (accounts.users.api_authentication) share.
A module of its own, without DRF imports: DRF imports the authentication class while it loads."""

from django.utils.translation import gettext_lazy as _

# The answer to any request without credentials, whichever authentication is configured.
TOKEN_MISSING = _("Authentication required: send Authorization: Bearer <token> (create a token on your user page, SECURITY tab).")
