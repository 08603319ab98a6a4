"""django-q2 task functions. They receive ids or nothing (never model instances: a task is
pickled into the broker and may run much later, in another process) and stay thin."""

from .dispatch import dispatch_due_imports, dispatch_watch_seconds


def dispatch_due_imports_task() -> dict[str, int]:
    """The every-minute "dispatch due imports" schedule: one pass, then watch for just under a
    minute for jobs that become due (see services.dispatch_watch_seconds).

    A worker therefore spends most of its time in this task; a graceful stop of qcluster
    waits for it (at most about a minute). Killing the worker instead is safe: a batch is
    one transaction, and jobs it had claimed return to Pending when their lease expires."""
    return dispatch_due_imports(watch_seconds=dispatch_watch_seconds()).as_dict()

