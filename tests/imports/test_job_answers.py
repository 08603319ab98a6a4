"""What My imports, the cancel view and the email ask the import job and row models, for every status."""

import datetime as dt

import pytest

from catalog.models import Service
from imports.jobs import states
from imports.models import ImportJob, ImportRow
from orders.models import Order

S = ImportJob.Status
UTC = dt.timezone.utc
DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)
FINISHED = dt.datetime(2024, 8, 1, 10, 0, 5, tzinfo=UTC)


def job(status, finished_at=None) -> ImportJob:
    return ImportJob(status=status, due_at=DUE, finished_at=finished_at)


@pytest.mark.parametrize(
    "status,finished,cancellable",
    [
        (S.PENDING, False, True),
        (S.IN_PROGRESS, False, False),
        (S.COMPLETED, True, False),
        (S.FAILED, True, False),
        (S.CANCELLED, True, False),
    ],
)
def test_finished_and_cancellable_for_each_status(status, finished, cancellable):
    assert job(status).is_finished is finished
    assert job(status).is_cancellable is cancellable
    # A status read back from the database is a plain string: the answer is the same.
    assert job(str(status)).is_finished is finished
    assert job(str(status)).is_cancellable is cancellable


@pytest.mark.parametrize(
    "status,expected",
    [
        (S.PENDING, DUE),
        (S.IN_PROGRESS, DUE),  # a finish time left by an earlier, recovered run is not an end
        (S.COMPLETED, FINISHED),
        (S.FAILED, FINISHED),
        (S.CANCELLED, DUE),  # cancelling stamps finished_at, but the job never ran
    ],
)
def test_the_schedule_column_ends_when_a_run_finished(status, expected):
    assert job(status, finished_at=FINISHED).schedule_end == expected


@pytest.mark.parametrize("status", [S.COMPLETED, S.FAILED])
def test_a_finished_run_without_its_time_shows_the_due_time(status):
    assert job(status).schedule_end == DUE


def test_the_state_machine_takes_final_and_cancellable_statuses_from_the_model():
    assert states.FINAL_STATUSES is ImportJob.FINAL_STATUSES
    assert not [move for move in states.TRANSITIONS if move[0] in ImportJob.FINAL_STATUSES]
    cancel_from = {from_ for from_, to in states.TRANSITIONS if to == S.CANCELLED}
    assert cancel_from == set(ImportJob.CANCELLABLE_STATUSES) == {S.PENDING}


def order_row(code="100113_ExchanOnlineKiosk_61893", **fields) -> ImportRow:
    service = Service(pk=1, code=code)
    return ImportRow(order=Order(pk=1, service=service), **fields)


def test_a_scheduled_rows_product_code_is_its_orders_service():
    # The order wins over anything in the payload.
    assert order_row(payload={"product_code": "other"}).product_code == "100113_ExchanOnlineKiosk_61893"


@pytest.mark.parametrize(
    "payload,expected",
    [({"product_code": "100113_AzurePlan_10002"}, "100113_AzurePlan_10002"), ({"product_code": 42}, "42"), ({}, ""), ([], "")],
)
def test_a_bulk_rows_product_code_is_what_its_file_said(payload, expected):
    assert ImportRow(payload=payload).product_code == expected


@pytest.mark.parametrize(
    "payload,expected",
    [({"is_direct_payment": True}, True), ({"is_direct_payment": False}, False), ({}, False), ([], False)],
)
def test_direct_payment_comes_from_the_bulk_file_only(payload, expected):
    assert ImportRow(payload=payload).is_direct_payment is expected
    assert order_row().is_direct_payment is False


@pytest.mark.parametrize(
    "status,error,reason",
    [
        (ImportRow.Status.FAILED, "Microsoft Tenant Id must be a GUID", "Microsoft Tenant Id must be a GUID"),
        (ImportRow.Status.FAILED, "", ""),
        (ImportRow.Status.PENDING, "left over", ""),
        (ImportRow.Status.COMPLETED, "left over", ""),
    ],
)
def test_only_a_failed_row_has_a_reason_to_show(status, error, reason):
    assert ImportRow(status=status, error=error).failure_reason == reason
