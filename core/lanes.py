"""Lanes: the django-q2 queues background work is enqueued on, each served by clusters of its own.

- JOBS: the import engine's batches and its every-minute tick. The queue is Q_CLUSTER's "name"
  (Q_CLUSTER_NAME), as it always was, so a bare `manage.py qcluster` serves it.
- OUTBOX: deliveries to the outside world (webhook POSTs, emails the fast path did not send, and
  next vendor API calls), whose time is set by a receiver we do not control. Its queue is
  "<name>-outbox", served by a cluster of its own (`imports_worker` starts one beside the jobs'
  cluster, with IMPORT_OUTBOX_WORKERS processes), so no receiver can hold a worker a due job needs.

Every enqueue names its lane: a task enqueued without one goes to the queue of the cluster the
enqueuing process belongs to, which inside the outbox cluster is the outbox's.

A cluster serves the lane named by IMPORT_WORKER_LANE in its environment (settings.Q_CLUSTER sets
django-q2's "cluster_name" to the lane's queue; the "name" stays the same, it is also the key that
signs every task). Not django-q2's own Q_CLUSTER_NAME variable: that one is our queue's name.

This module imports no app.
"""

from django.conf import settings

JOBS = "jobs"
OUTBOX = "outbox"
LANES = (JOBS, OUTBOX)


def lane_queue(lane: str, *, name: str | None = None) -> str:
    """The queue (django-q2 cluster name) of `lane` for the installation called `name`
    (default: Q_CLUSTER's)."""
    if lane not in LANES:
        raise ValueError(f"Unknown lane {lane!r} (lanes: {', '.join(LANES)}).")
    name = settings.Q_CLUSTER["name"] if name is None else name
    return name if lane == JOBS else f"{name}-{lane}"


def lane_enqueue(lane: str, func: str, *args, **kwargs) -> str:
    """django-q2's async_task on `lane`'s queue; returns the task id."""
    from django_q.tasks import async_task

    return async_task(func, *args, cluster=lane_queue(lane), **kwargs)


def lane_waiting(lane: str) -> int:
    """Tasks waiting in `lane`'s queue, not yet taken by a worker (ORM broker: those whose lock
    has passed; Redis: the list's length)."""
    from django_q.brokers import get_broker

    return get_broker(lane_queue(lane)).queue_size()
