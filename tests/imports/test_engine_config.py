"""The engine's configuration (imports.engine.config): typed, derived defaults, and its invariants
as a system check that refuses what could run a job or send an email twice."""

import environ
import pytest
from django.core import checks
from django.test import override_settings

from imports.engine.checks import engine_config_check
from imports.engine.config import EngineConfig, as_settings, config_from_env, engine_config


def test_defaults_are_the_documented_ones_and_derived_ones_follow_their_sources():
    config = EngineConfig()
    assert (config.q_timeout, config.q_retry, config.lease_seconds, config.dispatch_batch_size) == (60, 75, 90, 100)
    assert (config.email_claim_chunk, config.email_lease_seconds) == (50, 4 * 10 + 20)  # the lease: not the chunk's
    assert config.email_burst_jobs == 100  # a batch
    changed = EngineConfig(email_timeout=5, email_claim_chunk=4, dispatch_batch_size=20)
    assert (changed.email_lease_seconds, changed.email_burst_jobs) == (40, 20)
    assert EngineConfig().errors() == [] and EngineConfig().warnings() == []


def test_the_environment_is_read_typed(monkeypatch):
    monkeypatch.setenv("IMPORT_LEASE_SECONDS", "95")
    monkeypatch.setenv("IMPORT_DISPATCH_POLL_SECONDS", "0.5")
    monkeypatch.setenv("Q_CLUSTER_NAME", "blue")
    config = config_from_env(environ.Env())
    assert config.lease_seconds == 95 and config.dispatch_poll_seconds == 0.5 and config.q_cluster_name == "blue"
    assert as_settings(config)["IMPORT_LEASE_SECONDS"] == 95


def test_engine_config_reads_the_settings_in_force():
    with override_settings(IMPORT_LEASE_SECONDS=100, IMPORT_DISPATCH_BATCH_SIZE=7):
        assert engine_config().lease_seconds == 100 and engine_config().dispatch_batch_size == 7
    assert engine_config().lease_seconds == 90


@pytest.mark.parametrize(
    "values, check_id",
    [
        ({"q_retry": 60}, "imports.E002"),
        ({"q_retry": 50}, "imports.E002"),
        ({"lease_seconds": 60}, "imports.E003"),
        ({"email_lease_seconds": 19}, "imports.E004"),  # < 2 x EMAIL_TIMEOUT
        ({"dispatch_batch_size": 0}, "imports.E001"),
        ({"q_workers": 0}, "imports.E001"),
        ({"dispatch_poll_seconds": 0.0}, "imports.E001"),
        ({"email_defer_seconds": -1}, "imports.E001"),
        ({"outbox_workers": 0}, "imports.E001"),
        ({"outbox_budget_seconds": 0.0}, "imports.E001"),
        ({"webhook_timeout": 0.0}, "imports.E001"),
        ({"outbox_budget_seconds": 50.0}, "imports.E007"),  # + WEBHOOK_TIMEOUT 10 = Q_TIMEOUT
        ({"webhook_timeout": 40.0}, "imports.E007"),
        ({"email_timeout": 40, "email_lease_seconds": 500}, "imports.E007"),
        (
            {"q_timeout": 30, "q_retry": 40, "lease_seconds": 40, "transient_retry_seconds": 0.0,
             "db_statement_timeout_seconds": 20},
            "imports.E007",
        ),
    ],
)
def test_each_invariant_is_an_error(values, check_id):
    assert {found for found, _ in EngineConfig(**values).errors()} == {check_id}


def test_the_edges_that_are_allowed():
    assert EngineConfig(q_retry=61, lease_seconds=61, email_lease_seconds=100, email_defer_seconds=0).errors() == []
    assert EngineConfig(outbox_budget_seconds=49.9, webhook_timeout=10.0).errors() == []


def test_the_outbox_lane_defaults_leave_a_sender_well_within_the_task_timeout():
    config = EngineConfig()
    assert (config.outbox_workers, config.outbox_budget_seconds, config.webhook_timeout) == (2, 20.0, 10.0)
    assert config.outbox_budget_seconds + config.webhook_timeout <= config.q_timeout / 2


def test_a_slow_recovery_is_a_warning():
    assert [w for w, _ in EngineConfig(lease_seconds=115, recovery_seconds=4.0, dispatch_poll_seconds=1.0).warnings()] == ["imports.W001"]
    assert EngineConfig(lease_seconds=114, recovery_seconds=4.0, dispatch_poll_seconds=1.0).warnings() == []


def test_the_system_check_reports_the_settings_in_force():
    assert engine_config_check() == []
    with override_settings(Q_RETRY=30):
        (error,) = engine_config_check()
    assert isinstance(error, checks.Error) and error.id == "imports.E002"
    with override_settings(IMPORT_LEASE_SECONDS=10):
        assert "imports.E003" in {m.id for m in checks.run_checks()}


def test_q_cluster_follows_the_broker():
    orm = EngineConfig(q_workers=3).q_cluster(redis_url="", label="Task queue")
    assert orm["workers"] == 3 and orm["orm"] == "default" and orm["broker_class"] == "imports.engine.broker.FifoORM"
    redis = EngineConfig().q_cluster(redis_url="redis://127.0.0.1:6379/0", label="Task queue")
    assert redis["redis"] == "redis://127.0.0.1:6379/0" and "orm" not in redis and "poll" not in redis


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:6379/0"])
def test_q_cluster_of_the_outbox_lane_takes_its_own_queue_with_its_own_workers(redis_url):
    config = EngineConfig(q_cluster_name="blue", q_workers=3, outbox_workers=5)
    jobs = config.q_cluster(redis_url=redis_url, label="Task queue")
    outbox = config.q_cluster(redis_url=redis_url, label="Task queue", lane="outbox")
    # The same installation (name: the jobs' queue and the key that signs every task), another queue.
    assert jobs["name"] == outbox["name"] == "blue"
    assert "cluster_name" not in jobs and jobs["workers"] == 3
    assert outbox["cluster_name"] == "blue-outbox" and outbox["workers"] == 5
    assert {k: v for k, v in outbox.items() if k not in ("cluster_name", "workers")} == {
        k: v for k, v in jobs.items() if k != "workers"
    }
    with pytest.raises(ValueError, match="IMPORT_WORKER_LANE"):
        config.q_cluster(redis_url=redis_url, label="Task queue", lane="vendor")
