"""The sandbox's own tests: a sandbox process per module (tests.vendor_sandbox)."""

import pytest

from tests.vendor_sandbox import CLIENT_ID, CLIENT_SECRET, Response, Sandbox, free_port  # noqa: F401


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """The default limits, orders provisioned in 1 s."""
    started = Sandbox(tmp_path_factory.mktemp("sandbox"), "sandbox", SANDBOX_PROVISIONING_SECONDS=1)
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def _no_faults_left(request):
    """Faults are the process's state: each test starts and ends without them."""
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").faults(latency_ms=0, jitter_ms=0, error_rate=0, rate_limit_rate=0,
                                                  lost_response_rate=0, down=False)


@pytest.fixture(scope="module")
def strict_sandbox(tmp_path_factory):
    """A low per-tenant limit (5 a minute) and carts that expire after 1 s, so those tests are fast."""
    started = Sandbox(tmp_path_factory.mktemp("strict"), "strict", SANDBOX_RATE_LIMIT_PER_MINUTE=5,
                      SANDBOX_CART_TTL_SECONDS=1)
    yield started
    started.stop()
