"""The vendor outbox's knobs (imports.engine.config): defaults, and the lease that must cover a whole try."""

from django.test import override_settings

from imports.engine.config import EngineConfig, engine_config
from imports.vendor.outbox import VENDOR_ORDERS


def test_the_vendor_knobs_default_to_six_hours_sixteen_at_once_and_a_lease_longer_than_a_try():
    config = EngineConfig()
    assert (config.vendor_deadline_seconds, config.vendor_concurrency, config.vendor_lease_seconds) == (21600, 50, 180)
    assert config.errors() == []


def test_a_lease_shorter_than_a_whole_try_or_a_zero_knob_is_refused():
    with override_settings(MICROSOFT_CONNECT_TIMEOUT=5.0, MICROSOFT_READ_TIMEOUT=60.0):
        assert [check for check, _ in EngineConfig().errors()] == ["imports.E008"]  # 4 x 65 s > 180 s
    for knob in ("vendor_deadline_seconds", "vendor_concurrency", "vendor_lease_seconds"):
        assert "imports.E001" in [check for check, _ in EngineConfig(**{knob: 0}).errors()]


def test_the_outbox_policy_backs_off_from_15_seconds_to_15_minutes_and_never_gives_up_by_attempts():
    assert [VENDOR_ORDERS.backoff(n).total_seconds() for n in (1, 2, 3, 6, 7, 50)] == [15, 30, 60, 480, 900, 900]
    assert VENDOR_ORDERS.policy.max_attempts >= 10**6
    with override_settings(IMPORT_VENDOR_LEASE_SECONDS=240, IMPORT_VENDOR_CONCURRENCY=5):
        assert VENDOR_ORDERS.lease().total_seconds() == 240 and VENDOR_ORDERS.chunk() == 20
        assert engine_config().vendor_lease_seconds == 240
