"""Enqueueing the outbox lane's sender tasks, a bounded number of them.

A sender task (imports.tasks.outbox_send_task) sends one kind of the outbox (emails, webhooks,
vendor orders: imports.engine.outbox_lane.KINDS) for a time budget. Many ask for one: the
dispatcher every IMPORT_RECOVERY_SECONDS, a run whose burst is over (its emails' fast path,
imports.notify.send), staff's "Retry now", a sender whose budget ran out with more due. Each ask
is only a wish: a task is enqueued into a free place (core.outbox.SenderPlaces), so at most
IMPORT_OUTBOX_SENDERS tasks of a kind are queued or running at once across every machine, and an
ask while they are all on their way costs one UPDATE that finds no free place. The task takes
its place with it (`place`, a token) and frees it when it ends, or hands it to the task that
goes on with the rest.

Here, below the engine, because the emails' fast path (imports.notify.send, imports.vendor.finish)
asks too.
"""

import datetime as dt

from django.conf import settings

from core.lanes import OUTBOX, lane_enqueue
from core.outbox import SenderPlaces

OUTBOX_TASK = "imports.tasks.outbox_send_task"

_places: dict[str, SenderPlaces] = {}


def sender_places(kind: str) -> SenderPlaces:
    """The places of `kind`'s senders."""
    if kind not in _places:
        _places[kind] = SenderPlaces(
            kind,
            # (The engine's knobs, imports.engine.config, read as the settings they are.)
            most=lambda: settings.IMPORT_OUTBOX_SENDERS,
            # Taken: until the task has waited in the queue (a task taken by a worker that died is
            # handed out again after Q_RETRY) and run (Q_TIMEOUT at most).
            hold=lambda: dt.timedelta(seconds=settings.Q_RETRY + settings.Q_TIMEOUT),
            running=lambda: dt.timedelta(seconds=settings.Q_TIMEOUT),
        )
    return _places[kind]


def sender_task_name(kind: str) -> str:
    """What the admin's task pages call a sender task of `kind`."""
    return f"imports outbox: {kind}"


def senders_enqueue(kind: str, *, now: dt.datetime, count: int = 1) -> int:
    """Up to `count` sender tasks of `kind` in the outbox lane, as many as there are free places;
    returns how many were enqueued (0 when enough are already on their way)."""
    tokens = sender_places(kind).take(now=now, count=count)
    for token in tokens:
        _enqueue(kind, token)
    return len(tokens)


def sender_hand_on(kind: str, token: str, *, now: dt.datetime) -> bool:
    """A sender whose budget ran out with more due: a task goes on with the rest in its place
    (enqueued at once, not at the next ask). False (nothing enqueued) when the place is no longer
    its own."""
    if not sender_places(kind).hand_on(token, now=now):
        return False
    _enqueue(kind, token)
    return True


def _enqueue(kind: str, token: str) -> None:
    lane_enqueue(OUTBOX, OUTBOX_TASK, kind, place=token, task_name=sender_task_name(kind))
