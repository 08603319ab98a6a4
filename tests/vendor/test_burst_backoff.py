"""The vendor retry's wait (IMPORT_VENDOR_BACKOFF_SECONDS): the outbox policy's 15 s doubling to 15 min by
default, scaled to the knob (a fault burst drill runs with 1 s doubling to 60 s), never before Retry-After."""

import datetime as dt

from django.test import override_settings

from imports.engine.config import EngineConfig
from imports.vendor.finish import backoff, next_try_at

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)


def seconds(attempts) -> list[float]:
    return [backoff(n).total_seconds() for n in attempts]


def test_the_default_is_the_policy_15_seconds_doubling_to_15_minutes():
    assert seconds((1, 2, 3, 6, 7, 50)) == [15, 30, 60, 480, 900, 900]


def test_the_knob_scales_the_first_wait_and_the_cap_sixty_times_it():
    with override_settings(IMPORT_VENDOR_BACKOFF_SECONDS=1):
        assert seconds((1, 2, 3, 6, 7, 50)) == [1, 2, 4, 32, 60, 60]
        # Retry-After stays a floor under it.
        assert next_try_at(None, 1, 5.0, now=NOW) == NOW + dt.timedelta(seconds=5)
        assert next_try_at(None, 3, 1.0, now=NOW) == NOW + dt.timedelta(seconds=4)


def test_a_zero_backoff_is_refused():
    assert "imports.E001" in [check for check, _ in EngineConfig(vendor_backoff_seconds=0).errors()]
