"""The recurring django-q2 schedule (the every-minute fallback tick of the import engine), declared in code.

Created or corrected after every `migrate` (post_migrate) by name, so neither migrations
nor restarts ever duplicate it, and an edit here reaches every installation.
"""

from django.db import DEFAULT_DB_ALIAS, connections, transaction

DISPATCH_SCHEDULE_NAME = "dispatch due imports"
DISPATCH_SCHEDULE_FUNC = "imports.tasks.dispatch_tick_task"


def dispatch_schedule_ensure(*, using: str = DEFAULT_DB_ALIAS):
    """Create the every-minute dispatch schedule, or bring the existing one back to this
    definition; returns it. Extra copies (e.g. added by hand in the admin) are removed."""
    from django_q.models import Schedule

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return None  # django_q not migrated on this database (e.g. `migrate imports` alone)
    definition = {
        "func": DISPATCH_SCHEDULE_FUNC,
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
        "repeats": -1,
        "args": None,
        "kwargs": None,
        "hook": None,
        "cluster": None,
    }
    with transaction.atomic(using=using):
        schedules = list(Schedule.objects.using(using).filter(name=DISPATCH_SCHEDULE_NAME).order_by("id"))
        if not schedules:
            # next_run defaults to now: the first pass runs as soon as a cluster starts.
            return Schedule.objects.using(using).create(name=DISPATCH_SCHEDULE_NAME, **definition)
        schedule, extras = schedules[0], schedules[1:]
        if extras:
            Schedule.objects.using(using).filter(pk__in=[s.pk for s in extras]).delete()
        changed = [field for field, value in definition.items() if getattr(schedule, field) != value]
        if changed:
            for field in changed:
                setattr(schedule, field, definition[field])
            schedule.save(using=using, update_fields=changed)
        return schedule


def ensure_schedule_after_migrate(sender, *, using=DEFAULT_DB_ALIAS, **kwargs):
    dispatch_schedule_ensure(using=using)
