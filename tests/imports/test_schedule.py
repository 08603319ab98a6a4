from importlib import import_module

from django.core.management import call_command
from django_q.models import Schedule

from imports.engine.periodic import DISPATCH_SCHEDULE_FUNC, DISPATCH_SCHEDULE_NAME, dispatch_schedule_ensure


def dispatch_schedules():
    return Schedule.objects.filter(name=DISPATCH_SCHEDULE_NAME)


def test_migrate_creates_the_dispatch_schedule_once(db):
    # The test database was itself built by migrate; run it twice more.
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    (schedule,) = dispatch_schedules()
    assert schedule.func == DISPATCH_SCHEDULE_FUNC == "imports.tasks.dispatch_tick_task"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)
    assert schedule.next_run is not None


def test_a_restart_or_an_edit_in_the_admin_is_put_right_without_duplicating(db):
    schedule = dispatch_schedules().get()
    next_run = schedule.next_run
    Schedule.objects.filter(pk=schedule.pk).update(minutes=15, func="somewhere.else")
    Schedule.objects.create(name=DISPATCH_SCHEDULE_NAME, func=DISPATCH_SCHEDULE_FUNC, schedule_type=Schedule.MINUTES, minutes=1)
    dispatch_schedule_ensure()
    (kept,) = dispatch_schedules()
    assert kept.pk == schedule.pk
    assert (kept.func, kept.minutes) == (DISPATCH_SCHEDULE_FUNC, 1)
    assert kept.next_run == next_run  # its timing is left alone


def test_the_scheduled_function_is_importable_and_runs_a_tick(db):
    module, name = DISPATCH_SCHEDULE_FUNC.rsplit(".", 1)
    task = getattr(import_module(module), name)
    assert task() == {"recovered": 0, "claimed": 0, "batches": 0, "completed": 0, "completed_with_errors": 0, "failed": 0, "notified": 0}
