"""The path of one scheduled order through the code, measured: the review's button (the POST that
creates the job), then the due time (the dispatcher's tick, the batch task, the email after
commit). Every call into the project's own modules is recorded (helpers included, comprehensions
and lambdas not), and the walk is summed up as the README's "How the code is organised" describes it:
functions, modules, module switches, and returns to a module the walk had already left.

The README lists the walk itself: the functions a newcomer reads, in order, one module after the
other. The test reads that list and checks it against the trace: each function is called, in the
list's order, straight from the function before it (or from a helper in that function's module),
and no module comes back once the walk has left it. So the list cannot drift from the code.

`pytest tests/orders/test_order_path.py -s` prints the figures. The helper-inclusive ones are pinned
a little above today's, so a change that tangles the walk again fails here and says by how much.
"""

import datetime as dt
import os
import re
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


def project_module(code) -> str | None:
    """The project module a code object belongs to (None for Django, libraries, migrations, tests)."""
    path = os.path.relpath(code.co_filename, settings.BASE_DIR)
    if path.startswith("..") or "/migrations/" in path or not path.endswith(".py"):
        return None
    module = path[:-3].replace(os.sep, ".").removesuffix(".__init__")
    return module if module.split(".")[0] in PROJECT else None


@dataclass
class Walk:
    calls: list[tuple[str, str]] = field(default_factory=list)  # (module, function) in call order
    # (module, function) → the module of the nearest project frame that called it, at its first call.
    callers: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def record(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code.co_name.startswith("<"):
            return
        module = project_module(code)
        if module is None:
            return
        self.calls.append((module, code.co_qualname))
        if (module, code.co_qualname) not in self.callers:
            caller = frame.f_back
            while caller is not None and (project_module(caller.f_code) is None or caller.f_code.co_name.startswith("<")):
                caller = caller.f_back
            self.callers[(module, code.co_qualname)] = project_module(caller.f_code) if caller else None

    def follows(self, steps: list[tuple[str, str]]) -> list[str]:
        """What keeps this walk from being `steps`: each step called, in order, from the module of an
        earlier step (the first step excepted: the framework calls it)."""
        problems, first_call = [], {}
        for index, call in enumerate(self.calls):
            first_call.setdefault(call, index)
        for step in steps:
            if step not in first_call:
                problems.append(f"{'.'.join(step)} is never called")
        called = [step for step in steps if step in first_call]
        if called != sorted(called, key=first_call.__getitem__):
            problems.append("called in another order: " + " > ".join(".".join(s) for s in sorted(called, key=first_call.__getitem__)))
        for number, step in enumerate(steps[1:], start=1):
            earlier = {module for module, _ in steps[:number]}
            if step in self.callers and self.callers[step] not in earlier:
                problems.append(f"{'.'.join(step)} is called from {self.callers[step]}, a module outside the walk")
        return problems

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


def readme_walk() -> dict[str, list[tuple[str, str]]]:
    """The README's path of a scheduled order: heading → [(module, function), ...]."""
    text = (settings.BASE_DIR / "README.md").read_text()
    section = text[text.index("The path of a scheduled order:"):]
    section = section[: section.index("`pytest tests/orders/test_order_path.py -s`")]
    walks, heading = {}, None
    for line in section.splitlines():
        if line.startswith(("The review's button", "The due time")):
            heading = line.strip()
            walks[heading] = []
        elif heading and (match := re.match(r"\d+\. `([\w.]+)`", line)):
            dotted = match[1]
            # The module is the longest prefix that is a file of the project.
            parts = dotted.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                if (settings.BASE_DIR / f"{'/'.join(parts[:cut])}.py").exists():
                    walks[heading].append((".".join(parts[:cut]), ".".join(parts[cut:])))
                    break
            else:
                raise AssertionError(f"README names {dotted}, which is no function of the project")
    return walks


def test_the_readme_walk_is_short_and_straight():
    walks = readme_walk()
    steps = [step for walk in walks.values() for step in walk]
    modules = [module for module, _ in steps]
    assert len(walks) == 2 and len(steps) <= 12 and len(set(modules)) <= 8
    # Straight: a module, once left, never comes back.
    runs = [module for previous, module in zip([None, *modules], modules) if module != previous]
    assert len(runs) == len(set(runs)), runs


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
        print(f"\n{name}, helpers included: " + ", ".join(f"{value} {key}" for key, value in figures.items()))
        print("  modules in order: " + " > ".join(dict.fromkeys(module for module, _ in walk.calls)))
    # The README's walk is what the code does.
    (button, button_steps), (due, due_steps) = readme_walk().items()
    assert schedule.follows(button_steps) == [], button
    assert run.follows(due_steps) == [], due
    # Today: 256 calls / 36 modules / 83 returns for the review's button (it runs the review's pre-check
    # before submitting, to ask for "Schedule anyway" when it fails, and asks whether the vendor provisions
    # the order: orders.validation.order_goes_to_vendor, the integration's connector), about 192 / 27 / 64
    # for the due time.
    # Leaves every step asks of: core.clock (the database's clock decides), core.datetimes (the one way
    # a date reads), core.stored_messages (messages in the reader's language), core.lanes (the queue
    # names). A little room for a new helper; a new tangle fails.
    assert schedule.figures()["modules"] <= 37 and schedule.figures()["returns"] <= 86
    assert run.figures()["modules"] <= 29 and run.figures()["returns"] <= 68
