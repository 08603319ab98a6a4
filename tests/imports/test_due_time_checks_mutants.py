"""Mutants of orders.validation that the other due-time tests let survive (mutmut 3, [tool.mutmut]
limited to orders/validation.py and imports/jobs/states.py): the edges of the schedule time a reseller can enter.

- The field has minute precision, so the current minute is still "now" even when the clock is part
  way through a second (the microseconds are dropped too, not only the seconds).
- Exactly SCHEDULE_MAX_DAYS (365) days ahead is accepted; one minute more is too far.
- A naive datetime is a programming error, said as such.
"""

import datetime as dt

import pytest

from orders.forms import ScheduleForm
from orders.validation import SCHEDULE_IN_PAST, SCHEDULE_MAX_DAYS, SCHEDULE_TOO_FAR, schedule_time_error

from .helpers import UTC

# The clock at the very start of a minute, but not on the second: 22:01:00.000001 … 22:01:00.999999.
MINUTE = dt.datetime(2024, 7, 18, 22, 1, tzinfo=UTC)


@pytest.mark.parametrize("microsecond", [1, 500_000, 999_999])
def test_the_current_minute_is_accepted_even_part_way_through_its_first_second(microsecond):
    now = MINUTE.replace(microsecond=microsecond)
    assert schedule_time_error(MINUTE, now=now) is None
    assert schedule_time_error(MINUTE - dt.timedelta(minutes=1), now=now) == str(SCHEDULE_IN_PAST)


def test_the_reseller_can_schedule_the_current_minute_on_the_review_step():
    form = ScheduleForm({"scheduled_for": "2024-07-18 22:01"}, now=MINUTE.replace(microsecond=250_000))
    assert form.is_valid(), form.errors
    assert form.due_at() == MINUTE


def test_exactly_365_days_ahead_is_accepted_one_minute_more_is_too_far():
    assert SCHEDULE_MAX_DAYS == 365
    limit = MINUTE + dt.timedelta(days=365)
    assert limit == dt.datetime(2025, 7, 18, 22, 1, tzinfo=UTC)
    assert schedule_time_error(limit, now=MINUTE) is None
    assert schedule_time_error(limit + dt.timedelta(minutes=1), now=MINUTE) == str(SCHEDULE_TOO_FAR)
    assert schedule_time_error(limit - dt.timedelta(days=1), now=MINUTE) is None


def test_the_review_step_accepts_the_last_minute_of_the_365_days():
    assert ScheduleForm({"scheduled_for": "2025-07-18 22:01"}, now=MINUTE).is_valid()
    form = ScheduleForm({"scheduled_for": "2025-07-18 22:02"}, now=MINUTE)
    assert not form.is_valid()
    assert form.errors["scheduled_for"] == [str(SCHEDULE_TOO_FAR)]


def test_a_naive_due_time_is_a_programming_error_that_says_so():
    with pytest.raises(ValueError, match=r"^due_at must be timezone-aware$"):
        schedule_time_error(dt.datetime(2024, 8, 1, 10, 0), now=MINUTE)


def test_a_company_status_outside_the_choices_is_named_as_stored():
    """The parent-account reason names the status by its label, or as stored when it has none (a
    status written outside the model's choices still reads as something, never "None")."""
    from accounts.models import Company
    from orders.validation import parent_account_inactive_params

    assert parent_account_inactive_params(Company(name="X", status="archived")) == {"company": "X", "status": "archived"}
    assert parent_account_inactive_params(Company(name="X", status=Company.Status.ACTIVE))["status"] == Company.Status.ACTIVE.label
