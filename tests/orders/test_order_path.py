"""The path of one scheduled order through the code, measured: the review's button (the POST that
creates the job), then the due time (the dispatcher's tick, the batch task, the email after
commit). Every call into the project's own modules is recorded (helpers included, comprehensions
and lambdas not), and the walk is summed up as the README's "How the code is organised" describes it:
functions, modules, module switches, and returns to a module the walk had already left.

`pytest tests/orders/test_order_path.py -s` prints the figures. The test pins them a little
above today's, so a change that tangles the walk again fails here and says by how much.
"""

import datetime as dt
import os
import sys
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django_q.conf import Conf
from django.utils import timezone
from freezegun import freeze_time

from imports.engine.dispatch import dispatch_tick
from imports.models import ImportJob

from .conftest import schedule_url

pytestmark = pytest.mark.django_db

PROJECT = ("config", "core", "accounts", "catalog", "orders", "imports")
UTC = dt.timezone.utc


@dataclass
class Walk:
    calls: list[tuple[str, str]] = field(default_factory=list)  # (module, function) in call order

    def record(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code.co_name.startswith("<"):
            return
        path = os.path.relpath(code.co_filename, settings.BASE_DIR)
        if path.startswith("..") or "/migrations/" in path or not path.endswith(".py"):
            return
        module = path[:-3].replace(os.sep, ".").removesuffix(".__init__")
        if module.split(".")[0] in PROJECT:
            self.calls.append((module, code.co_qualname))

    def figures(self) -> dict[str, int]:
        modules = [module for module, _ in self.calls]
        switches = sum(1 for a, b in zip(modules, modules[1:]) if a != b)
        left, returns, previous = set(), 0, None
        for module in modules:
            if module != previous:
                if module in left:
                    returns += 1
                if previous is not None:
                    left.add(previous)
                previous = module
        return {
            "calls": len(self.calls),
            "functions": len(set(self.calls)),
            "modules": len(set(modules)),
            "switches": switches,
            "returns": returns,
        }


def traced(walk: Walk, action):
    sys.setprofile(walk.record)
    try:
        return action()
    finally:
        sys.setprofile(None)


def test_the_path_of_a_scheduled_order(abbie_client, configured_draft, demo, monkeypatch, django_capture_on_commit_callbacks, mailoutbox):
    order = configured_draft()
    # Batches run in this process, as a worker would run them (django-q2's sync mode).
    monkeypatch.setattr(Conf, "SYNC", True)
    due = (timezone.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)

    def review_button():
        with django_capture_on_commit_callbacks(execute=True):  # the "scheduled" email, after commit
            return abbie_client.post(schedule_url(order), {"scheduled_for": f"{due:%Y-%m-%d %H:%M}"})

    def due_time():
        with freeze_time(due + dt.timedelta(seconds=1)), django_capture_on_commit_callbacks(execute=True):
            dispatch_tick()  # claims, enqueues the batch (run at once here), the email after commit

    schedule = Walk()
    response = traced(schedule, review_button)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    mailoutbox.clear()

    run = Walk()
    traced(run, due_time)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED and len(mailoutbox) == 1
    assert mailoutbox[0].subject.startswith("Your import is completed")

    for name, walk in (("review button -> job", schedule), ("due time -> subscription -> email", run)):
        figures = walk.figures()
        print(f"\n{name}: " + ", ".join(f"{value} {key}" for key, value in figures.items()))
        print("  modules in order: " + " > ".join(dict.fromkeys(module for module, _ in walk.calls)))
    # Today (see the README): 154 calls / 32 modules / 53 returns for the review's button, 153 / 24 / 53 for
    # the due time. A little room for a new helper; a new tangle fails. The review's button has 2 more
    # returns since the date-time rules have one home (core.datetimes: the schedule field and its
    # zone, the configuration's re-check, the models' year validator, the email's dates), which the
    # path visits from each of those places instead of three separate modules.
    assert schedule.figures()["modules"] <= 34 and schedule.figures()["returns"] <= 60
    assert run.figures()["modules"] <= 26 and run.figures()["returns"] <= 58
