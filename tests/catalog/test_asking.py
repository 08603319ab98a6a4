"""catalog.integrations.asking: one question asked once, across the threads that join the same answers."""

import threading

from catalog.integrations.asking import ask, questions_join, questions_shared


def test_threads_that_join_share_each_answer_and_wait_for_one_being_asked():
    calls, release = [], threading.Event()

    def slow_call():
        calls.append(threading.current_thread().name)
        release.wait(5)
        return "tenant known"

    answers = []
    with questions_shared(max_questions=2, budget_seconds=60) as shared:

        def worker():
            with questions_join(shared):
                answers.append(ask(("microsoft", "customer", "t1"), slow_call))

        threads = [threading.Thread(target=worker, name=f"sender-{n}") for n in range(4)]
        for thread in threads:
            thread.start()
        release.set()
        for thread in threads:
            thread.join(5)
        assert answers == ["tenant known"] * 4 and len(calls) == 1
        # Another question is asked; past max_questions one is not asked at all (None).
        assert ask("t2", lambda: "second") == "second"
        assert ask("t3", lambda: "third") is None
    # Outside a shared block, every ask calls.
    assert ask("t1", lambda: "again") == "again"


def test_a_question_that_raised_answers_none_to_the_threads_waiting_for_it():
    with questions_shared(max_questions=5, budget_seconds=60):
        try:
            ask("boom", lambda: 1 / 0)
        except ZeroDivisionError:
            pass
        assert ask("boom", lambda: "not asked again") is None
