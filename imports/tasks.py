"""django-q2 task functions. They receive ids or nothing (never model instances: a task is
pickled into the broker and may run much later, in another process) and stay thin."""

from django.utils import timezone

from .services import dispatch_due_imports, dispatch_watch_seconds, import_run


def dispatch_due_imports_task() -> dict[str, int]:
    """The every-minute "dispatch due imports" schedule: one pass, then watch for just under a
    minute for jobs that become due (see services.dispatch_watch_seconds)."""
    return dispatch_due_imports(watch_seconds=dispatch_watch_seconds()).as_dict()


def import_run_task(job_id: int) -> str | None:
    """Run one already claimed (In progress) job now, e.g. enqueued by an operator."""
    return import_run(job_id=job_id, now=timezone.now())
