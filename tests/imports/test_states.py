import datetime as dt

import pytest
from django.utils import timezone

from imports.jobs import states
from imports.models import ImportJob

from .helpers import KIOSK, schedule

S = ImportJob.Status


def test_the_table_holds_exactly_the_moves_of_the_issue():
    assert set(states.TRANSITIONS) == {
        (S.PENDING, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.COMPLETED),
        (S.IN_PROGRESS, S.COMPLETED_WITH_ERRORS),
        (S.IN_PROGRESS, S.FAILED),
        (S.PENDING, S.CANCELLED),
        (S.IN_PROGRESS, S.PENDING),
        (S.IN_PROGRESS, S.WAITING),
        (S.WAITING, S.COMPLETED),
        (S.WAITING, S.COMPLETED_WITH_ERRORS),
        (S.WAITING, S.FAILED),
    }


@pytest.mark.parametrize(
    "from_,to",
    [
        (S.COMPLETED, S.PENDING),
        (S.CANCELLED, S.PENDING),
        (S.FAILED, S.IN_PROGRESS),
        (S.PENDING, S.COMPLETED),
        (S.IN_PROGRESS, S.CANCELLED),
        (S.COMPLETED, S.CANCELLED),
        (S.WAITING, S.CANCELLED),
        (S.WAITING, S.PENDING),
    ],
)
def test_an_illegal_move_raises_before_touching_the_database(demo, from_, to):
    job = schedule(demo, due_at=timezone.now(), code=KIOSK)
    with pytest.raises(states.IllegalTransition):
        states.transition(job.pk, from_, to)
    job.refresh_from_db()
    assert job.status == S.PENDING


def test_a_move_wins_only_from_the_expected_status(demo):
    job = schedule(demo, due_at=timezone.now(), code=KIOSK)
    lease = timezone.now() + dt.timedelta(minutes=5)
    assert states.transition(job.pk, S.PENDING, S.CANCELLED) is True
    # The second actor expected Pending too, but the job is no longer Pending: it loses.
    assert states.transition(job.pk, S.PENDING, S.IN_PROGRESS, lease_expires_at=lease) is False
    job.refresh_from_db()
    assert job.status == S.CANCELLED
    assert job.lease_expires_at is None


def test_transition_many_moves_only_the_jobs_still_in_the_expected_status(demo):
    jobs = [schedule(demo, due_at=timezone.now(), code=KIOSK) for _ in range(3)]
    states.transition(jobs[0].pk, S.PENDING, S.CANCELLED)
    lease = timezone.now() + dt.timedelta(minutes=5)
    moved = states.transition_many([j.pk for j in jobs], S.PENDING, S.IN_PROGRESS, lease_expires_at=lease)
    assert moved == 2
    assert list(ImportJob.objects.order_by("id").values_list("status", flat=True)) == [
        S.CANCELLED, S.IN_PROGRESS, S.IN_PROGRESS,
    ]
