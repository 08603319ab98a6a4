import pytest
from django.conf import settings
from django.db import connection


def pytest_configure(config):
    config.addinivalue_line("markers", "redis: needs a Redis server (REDIS_URL)")


@pytest.fixture(autouse=True)
def _skip_without_backend(request):
    """PostgreSQL tests run only when the database is PostgreSQL, Redis tests only with REDIS_URL."""
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    if request.node.get_closest_marker("redis") and not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
