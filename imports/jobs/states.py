"""The import job's state machine: the one place that says which status moves are legal.

Every move is a single conditional UPDATE (`... WHERE id = ? AND status = <from>`), so when two
actors race for the same job (a reseller cancelling, a worker claiming it, a second dispatch
pass, lease recovery) the database lets exactly one of them win; the loser sees 0 rows updated.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from imports.models import ImportJob

Status = ImportJob.Status

# (from, to) → why the move exists.
TRANSITIONS: dict[tuple[str, str], str] = {
    (Status.PENDING, Status.IN_PROGRESS): "a dispatch pass claims a due job (with a lease)",
    (Status.IN_PROGRESS, Status.COMPLETED): "every row of the run was provisioned",
    (Status.IN_PROGRESS, Status.COMPLETED_WITH_ERRORS): "some rows were provisioned or created, others failed",
    (Status.IN_PROGRESS, Status.FAILED): "no row succeeded: each failed its validation or provisioning",
    (Status.IN_PROGRESS, Status.PENDING): "the worker's lease expired (it died); a later pass runs it again",
    (Status.IN_PROGRESS, Status.WAITING): "its checks passed and its vendor orders were recorded (imports.models.VendorOrder)",
    (Status.WAITING, Status.COMPLETED): "the vendor provisioned every vendor order, the other rows succeeded",
    (Status.WAITING, Status.COMPLETED_WITH_ERRORS): "some rows succeeded, others failed or the vendor refused them",
    (Status.WAITING, Status.FAILED): "no row succeeded: the vendor refused, or stayed unavailable past the deadline",
    # Built from the model, which My imports asks whether to offer the X: the two cannot disagree.
    **{
        (from_, Status.CANCELLED): "the reseller cancelled it before a worker claimed it"
        for from_ in ImportJob.CANCELLABLE_STATUSES
    },
}
# Which statuses are final is the model's to say (ImportJob.is_finished); no move leaves them.
FINAL_STATUSES = ImportJob.FINAL_STATUSES


class IllegalTransition(ValueError):
    """A move the table above does not allow: a programming error, never a race."""


def is_legal(from_: str, to: str) -> bool:
    return (from_, to) in TRANSITIONS


def _check(from_: str, to: str) -> None:
    if not is_legal(from_, to):
        raise IllegalTransition(f"An import job cannot move from {from_!r} to {to!r}.")


def transition_queryset(queryset: QuerySet[ImportJob], from_: str, to: str, **fields) -> int:
    """Move every job of `queryset` that is still in `from_` to `to`; returns how many moved."""
    _check(from_, to)
    return queryset.filter(status=from_).update(status=to, **fields)


def transition(job_id: int, from_: str, to: str, **fields) -> bool:
    """Move one job from `from_` to `to` (setting `fields` too); True when this call won."""
    return transition_queryset(ImportJob.objects.filter(pk=job_id), from_, to, **fields) == 1


def transition_many(job_ids: Iterable[int], from_: str, to: str, **fields) -> int:
    """The same move for several jobs in one UPDATE; returns how many moved."""
    ids = list(job_ids)
    if not ids:
        _check(from_, to)
        return 0
    return transition_queryset(ImportJob.objects.filter(pk__in=ids), from_, to, **fields)


def update_while(job_id: int, expected: str, **fields) -> bool:
    """Change `fields` of a job only while it is still in status `expected` (no move): one conditional
    UPDATE, so a reseller rescheduling a Pending job and a worker claiming it can never both win."""
    if "status" in fields:
        raise IllegalTransition("update_while changes fields, not the status; use transition().")
    return ImportJob.objects.filter(pk=job_id, status=expected).update(**fields) == 1
