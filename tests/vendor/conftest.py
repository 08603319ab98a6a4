"""The portal's tests that go through the Partner Center sandbox over real HTTP.

One sandbox process for the session (started on first use), the portal pointed at it with Microsoft on
(`vendor`), and its faults and provisioning delay put back after each test. Tests keep to customers they
create themselves (`vendor.customer()`), so they need no reset between them.
"""

import pytest

from catalog.integrations.partner_center import partner_center_reset
from tests.vendor_sandbox import CLIENT_ID, CLIENT_SECRET, Sandbox

NO_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "rate_limit_rate": 0, "lost_response_rate": 0, "down": False}


@pytest.fixture(scope="session")
def vendor_sandbox(tmp_path_factory):
    started = Sandbox(tmp_path_factory.mktemp("vendor"), "vendor", SANDBOX_PROVISIONING_SECONDS=0)
    yield started
    started.stop()


@pytest.fixture
def vendor(vendor_sandbox, settings):
    """The sandbox, with the portal's connector pointed at it and Microsoft on (after tests/conftest.py's
    microsoft_off). Read timeouts are short so that a held response is an unknown outcome quickly."""
    url = f"http://127.0.0.1:{vendor_sandbox.port}"
    settings.MICROSOFT_ENABLED = True
    settings.MICROSOFT_API_URL = url
    settings.MICROSOFT_TOKEN_URL = f"{url}/sandbox/oauth2/v2.0/token"
    settings.MICROSOFT_CLIENT_ID, settings.MICROSOFT_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.MICROSOFT_READ_TIMEOUT = 2.0
    partner_center_reset()
    vendor_sandbox.faults(**NO_FAULTS)
    yield vendor_sandbox
    vendor_sandbox.faults(**NO_FAULTS)
    partner_center_reset()
