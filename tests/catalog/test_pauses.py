"""catalog.integrations.pauses: a tenant's pause only grows, and ends at its end."""

import datetime as dt

import pytest

from catalog.integrations.pauses import tenant_pause, tenant_paused_until

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.timezone.utc)


def test_a_pause_grows_never_shrinks_and_ends_at_its_end():
    assert tenant_paused_until("microsoft", "t1", now=T0) is None
    tenant_pause("microsoft", "t1", until=T0 + dt.timedelta(seconds=30))
    tenant_pause("microsoft", "t1", until=T0 + dt.timedelta(seconds=10))  # shorter: kept at 30 s
    assert tenant_paused_until("microsoft", "t1", now=T0) == T0 + dt.timedelta(seconds=30)
    tenant_pause("microsoft", "t1", until=T0 + dt.timedelta(seconds=60))
    assert tenant_paused_until("microsoft", "t1", now=T0 + dt.timedelta(seconds=59)) == T0 + dt.timedelta(seconds=60)
    assert tenant_paused_until("microsoft", "t1", now=T0 + dt.timedelta(seconds=60)) is None
    # Per tenant and per vendor; no tenant, no pause.
    assert tenant_paused_until("microsoft", "t2", now=T0) is None
    assert tenant_paused_until("other", "t1", now=T0) is None
    tenant_pause("microsoft", "", until=T0 + dt.timedelta(hours=1))
    assert tenant_paused_until("microsoft", "", now=T0) is None
