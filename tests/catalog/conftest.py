import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """seed_demo hashes three passwords per test; the production hasher's cost is not what these tests check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
