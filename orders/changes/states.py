"""A subscription change's state machine: the one place that says which status moves are legal.

Each move is one conditional UPDATE (`... WHERE id = ? AND status = <from>`), so a reseller cancelling
and a worker applying the same change can never both win: the loser sees 0 rows updated.
"""

from django.db.models import QuerySet

from orders.models import SubscriptionChange

Status = SubscriptionChange.Status

# (from, to) → why the move exists.
TRANSITIONS: dict[tuple[str, str], str] = {
    (Status.PENDING, Status.APPLIED): "its time came and the vendor (or the local provisioning) applied it",
    (Status.PENDING, Status.SENT): "an at-renewal change the vendor accepted as next-term instructions",
    (Status.PENDING, Status.FAILED): "its due-time checks failed or the vendor refused it",
    (Status.PENDING, Status.CANCELLED): "the reseller cancelled it before it ran",
    (Status.PENDING, Status.REPLACED): "the reseller scheduled another change of the same kind in its place",
    (Status.SENT, Status.APPLIED): "the renewal happened with it (seen by the sync with the vendor)",
    (Status.SENT, Status.WIPED): "the vendor no longer holds it (a mid-term change made elsewhere removed it)",
    (Status.SENT, Status.FAILED): "the renewal happened without it, or the subscription ended",
    (Status.SENT, Status.CANCELLED): "the reseller cancelled it before the renewal (the vendor was told)",
    (Status.SENT, Status.REPLACED): "the reseller scheduled another change of the same kind in its place",
}


class IllegalTransition(ValueError):
    """A move the table above does not allow: a programming error, never a race."""


def is_legal(from_: str, to: str) -> bool:
    return (from_, to) in TRANSITIONS


def transition_queryset(queryset: QuerySet[SubscriptionChange], from_: str, to: str, **fields) -> int:
    """Move every change of `queryset` still in `from_` to `to`; returns how many moved."""
    if not is_legal(from_, to):
        raise IllegalTransition(f"A subscription change cannot move from {from_!r} to {to!r}.")
    return queryset.filter(status=from_).update(status=to, **fields)


def transition(change_id: int, from_: str, to: str, **fields) -> bool:
    """Move one change from `from_` to `to` (setting `fields` too); True when this call won."""
    return transition_queryset(SubscriptionChange.objects.filter(pk=change_id), from_, to, **fields) == 1
