from pathlib import Path

import pytest
from django.conf import settings

from .qcluster_runs import QclusterRun

QCLUSTER_TESTS = Path(__file__).with_name("test_qcluster.py")


def _broker_env(broker: str) -> dict:
    return {"REDIS_URL": settings.REDIS_URL or ""} if broker == "redis" else {}


@pytest.fixture(scope="session")
def qcluster_runs(tmp_path_factory, migrated_sqlite):
    """`qcluster_runs("orm" | "redis")`: the session's run of the real qcluster on that broker
    (see qcluster_runs.py), started on first use."""
    runs: dict[str, QclusterRun] = {}

    def run(broker: str) -> QclusterRun:
        if broker not in runs:
            runs[broker] = QclusterRun(tmp_path_factory.mktemp(f"qcluster-{broker}"), migrated_sqlite, **_broker_env(broker))
        return runs[broker]

    yield run
    for started in runs.values():
        started.kill()


@pytest.fixture(scope="session", autouse=True)
def _start_the_selected_qcluster_runs(request):
    """Start the runs of the selected test_qcluster tests now, with the first test of tests/imports:
    their clusters wait out django-q2's first 30 s while the other tests run."""
    brokers = set()
    for item in request.session.items:
        if item.path != QCLUSTER_TESTS:
            continue
        broker = "redis" if item.get_closest_marker("redis") else "orm"  # as test_qcluster.py's tests ask
        if broker == "redis" and not settings.REDIS_URL:
            continue  # the test skips itself
        brokers.add(broker)
    if brokers:
        runs = request.getfixturevalue("qcluster_runs")
        for broker in sorted(brokers):
            runs(broker)
