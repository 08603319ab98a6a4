"""Asking a vendor one question once per request, within bounds (the pre-checks of many orders at once).

A bulk file of 5,000 product lines names a handful of customer tenants: its pre-check must ask the
vendor about each tenant (or new domain) once, not once a line, and must not keep the request waiting
for thousands of calls. Inside `questions_shared(...)`, an integration asks through `ask(key, call)`:
the first ask of a key makes the call and keeps its answer, later asks of the same key get that
answer; past `max_questions` distinct questions or `budget_seconds`, `ask` returns None (not asked)
and the integration says the vendor could not be asked now (a VendorWait: the due time asks again).

Why one question after another and not a thread pool: every call is recorded (catalog.models.VendorCall)
on the calling thread's database connection, inside the caller's view; pool threads would each need a
connection of their own (and in tests could not see the test's transaction). With questions deduplicated
the count is the number of distinct tenants and domains of the request, and the budget bounds the rest.

Outside `questions_shared` (the worker at the due time, one order at a time) `ask` simply calls.
"""

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# A request's pre-check asks at most this many distinct questions, for at most this long; what is left
# is checked at the due time (the reseller is told so).
MAX_QUESTIONS = 50
BUDGET_SECONDS = 10.0


@dataclass
class _Answer:
    """One question's answer; the threads that ask it while it is being asked wait for it."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None


@dataclass
class _Questions:
    max_questions: int
    deadline: float
    clock: Callable[[], float]
    answers: dict[Hashable, _Answer] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_questions: ContextVar[_Questions | None] = ContextVar("vendor_questions", default=None)


@contextmanager
def questions_shared(
    *, max_questions: int | None = None, budget_seconds: float | None = None, clock: Callable[[], float] = time.monotonic
) -> Iterator[_Questions]:
    """Within this block, the same question is asked of the vendor once, and at most `max_questions`
    (MAX_QUESTIONS) distinct questions within `budget_seconds` (BUDGET_SECONDS). Yields the shared
    answers, which other threads join with questions_join (a context variable is not inherited)."""
    max_questions = MAX_QUESTIONS if max_questions is None else max_questions
    budget_seconds = BUDGET_SECONDS if budget_seconds is None else budget_seconds
    questions = _Questions(max_questions=max_questions, deadline=clock() + budget_seconds, clock=clock)
    token = _questions.set(questions)
    try:
        yield questions
    finally:
        _questions.reset(token)


@contextmanager
def questions_join(questions: _Questions) -> Iterator[None]:
    """This thread shares `questions` (from questions_shared in another thread): e.g. the worker's sender
    threads, which place a chunk of vendor orders, ask about each tenant of the chunk once between them."""
    token = _questions.set(questions)
    try:
        yield
    finally:
        _questions.reset(token)


def ask(key: Hashable, call: Callable[[], Any]) -> Any | None:
    """`call()`'s answer, asked once per `key` within questions_shared (a thread asking a question another
    thread is asking waits for that answer); None when the block's bounds are spent and the question was
    not asked, or when asking it raised."""
    questions = _questions.get()
    if questions is None:
        return call()
    with questions.lock:
        answer = questions.answers.get(key)
        asking = answer is None
        if asking:
            if len(questions.answers) >= questions.max_questions or questions.clock() >= questions.deadline:
                return None
            answer = questions.answers[key] = _Answer()
    if asking:
        try:
            answer.value = call()
        finally:
            answer.done.set()
    else:
        answer.done.wait()
    return answer.value
