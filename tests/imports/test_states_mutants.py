"""Mutants of imports.jobs.states that test_states.py lets survive (mutmut 3): transition_many with no
ids (no UPDATE, but the move is still checked), the IllegalTransition message, and the final
statuses no move leaves."""

import pytest
from django.utils import timezone

from imports.jobs import states
from imports.models import ImportJob

from .helpers import KIOSK, schedule

S = ImportJob.Status


@pytest.mark.parametrize("from_,to", sorted(states.TRANSITIONS))
def test_transition_many_with_no_ids_moves_nothing_and_runs_no_query(demo, django_assert_num_queries, from_, to):
    job = schedule(demo, due_at=timezone.now(), code=KIOSK)
    with django_assert_num_queries(0):
        assert states.transition_many([], from_, to) == 0
        assert states.transition_many(iter(()), from_, to) == 0
    job.refresh_from_db()
    assert job.status == S.PENDING


@pytest.mark.parametrize("from_,to", [(S.COMPLETED, S.PENDING), (S.PENDING, S.COMPLETED), (S.CANCELLED, S.PENDING)])
def test_transition_many_with_no_ids_still_refuses_an_illegal_move(db, from_, to):
    with pytest.raises(states.IllegalTransition):
        states.transition_many([], from_, to)


def test_an_illegal_move_names_both_statuses():
    with pytest.raises(states.IllegalTransition) as error:
        states.transition(1, "completed", "pending")  # plain values, as read from a row
    assert str(error.value) == "An import job cannot move from 'completed' to 'pending'."
    assert isinstance(error.value, ValueError)


def test_no_move_leaves_a_final_status():
    assert states.FINAL_STATUSES == {S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.FAILED, S.CANCELLED}
    statuses = set(S.values)
    for from_ in states.FINAL_STATUSES:
        assert not any(states.is_legal(from_, to) for to in statuses)
    # Every other status has a way out, so a job is never stuck outside a final status.
    for from_ in statuses - states.FINAL_STATUSES:
        assert any(states.is_legal(from_, to) for to in statuses)
