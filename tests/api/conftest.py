import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.users.api_tokens import api_token_create


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in a per-process cache: each test starts with none."""
    caches["api_throttle"].clear()
    yield
    caches["api_throttle"].clear()


def token_for(user, name="tests") -> str:
    return api_token_create(actor=user, user=user, name=name)[1]


def client_for(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def abbie(demo):
    """admin@abbiebox.com's API client (ABBIE BOX's subtree: ERITECH, NORTE, PACIFICO)."""
    return client_for(token_for(demo.admin_abbie))


@pytest.fixture
def andes(demo):
    """The other reseller's client: everything of ABBIE BOX is 404 to it."""
    return client_for(token_for(demo.admin_andes))
