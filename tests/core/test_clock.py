"""core.clock: db_now() is this process's time plus its measured offset from the database's clock."""

import datetime as dt
import time

import pytest
from django.db import OperationalError, connection
from freezegun import freeze_time

from core import clock

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_measurements():
    clock.forget()
    yield
    clock.forget()


class FakePostgres:
    """Stands in for a PostgreSQL connection wrapper: core.clock asks for its vendor and its live
    DB-API connection only; what the measurement returns is set by the test."""

    vendor = "postgresql"

    def __init__(self):
        self.connection = object()


@pytest.fixture
def fake_pg(monkeypatch):
    """'default' is a fake PostgreSQL whose clock is `offsets[-1]` seconds from this process's;
    `measured` counts the round trips; `monotonic` is the clock between measurements."""

    class Fake:
        wrapper = FakePostgres()
        offsets = [0.0]
        round_trip = 0.001
        measured = 0
        monotonic = 1000.0
        down = False

    def measure(wrapper):
        if Fake.down:
            raise OperationalError("server closed the connection unexpectedly")
        Fake.measured += 1
        return Fake.offsets[-1], Fake.round_trip

    monkeypatch.setattr(clock, "connections", {"default": Fake.wrapper})
    monkeypatch.setattr(clock, "_measure", measure)
    monkeypatch.setattr(clock, "_monotonic", lambda: Fake.monotonic)
    return Fake


def test_the_offset_is_added_to_this_process_time(fake_pg):
    fake_pg.offsets.append(-300.0)  # this process is five minutes fast
    with freeze_time(T0 + dt.timedelta(minutes=5)):
        assert clock.db_now() == T0
    assert clock.offset_seconds() == -300.0
    assert clock.clock_offset() == dt.timedelta(seconds=-300)


def test_noise_below_the_tolerance_counts_as_zero(fake_pg):
    fake_pg.offsets.append(clock.TOLERANCE_SECONDS / 2)
    with freeze_time(T0):
        assert clock.db_now() == T0  # exactly: tests that compare with the frozen time keep working
    assert clock.offset_seconds() == clock.TOLERANCE_SECONDS / 2  # recorded as measured


def test_an_offset_within_half_the_round_trip_cannot_be_told_from_zero(fake_pg):
    # A busy machine: the query took 300 ms, so the midpoint is known to within 150 ms.
    fake_pg.offsets.append(0.18)
    fake_pg.round_trip = 0.3
    assert clock.clock_offset() == dt.timedelta(0)
    fake_pg.offsets.append(0.25)
    clock.forget()
    assert clock.clock_offset() == dt.timedelta(seconds=0.25)


def test_a_slow_round_trip_is_measured_again_and_the_quickest_kept(monkeypatch):
    """The real _measure over a stand-in connection whose round trips take 200, 3 and 80 ms."""
    import contextlib

    now = [1_000_000.0]
    trips = iter([(0.2, 0.4), (0.003, 0.5), (0.08, 0.9)])  # (round trip, offset it would give)

    class Cursor:
        def execute(self, sql):
            self.trip, self.offset = next(trips)
            now[0] += self.trip / 2

        def fetchone(self):
            answer = now[0] + self.offset
            now[0] += self.trip / 2
            return (answer,)

        def close(self):
            pass

    class Wrapper:
        wrap_database_errors = contextlib.nullcontext()
        connection = type("Raw", (), {"cursor": lambda self: Cursor()})()

        def ensure_connection(self):
            pass

    monkeypatch.setattr(clock, "_realtime", lambda: now[0])
    offset, round_trip = clock._measure(Wrapper())
    assert offset == pytest.approx(0.5) and round_trip == pytest.approx(0.003)  # stopped at the quick one


def test_the_offset_is_measured_once_per_connection_for_a_while(fake_pg):
    fake_pg.offsets.append(-2.0)
    assert [clock.offset_seconds() for _ in range(3)] == [-2.0] * 3
    assert fake_pg.measured == 1

    fake_pg.offsets.append(-3.0)
    fake_pg.monotonic += clock.MEASURE_EVERY_SECONDS  # time to measure again
    assert clock.offset_seconds() == -3.0 and fake_pg.measured == 2

    fake_pg.offsets.append(-4.0)
    fake_pg.wrapper.connection = object()  # reconnected (after a drop, a fork)
    assert clock.offset_seconds() == -4.0 and fake_pg.measured == 3


def test_a_thread_s_first_connection_takes_the_offset_its_process_just_measured(fake_pg, monkeypatch):
    fake_pg.offsets.append(-2.0)
    assert clock.offset_seconds() == -2.0 and fake_pg.measured == 1
    # Another thread's connection wrapper (the vendor sender's threads): no measurement of its own.
    monkeypatch.setattr(clock, "connections", {"default": FakePostgres()})
    fake_pg.offsets.append(-3.0)
    assert clock.offset_seconds() == -2.0 and fake_pg.measured == 1
    fake_pg.monotonic += clock.MEASURE_EVERY_SECONDS  # the process's measurement is old: this one measures
    assert clock.offset_seconds() == -3.0 and fake_pg.measured == 2


def test_a_failed_measurement_falls_back_to_the_last_offset_known(fake_pg):
    fake_pg.offsets.append(-7.0)
    assert clock.offset_seconds() == -7.0
    fake_pg.down, fake_pg.wrapper.connection = True, object()

    assert clock.offset_seconds() == -7.0  # the caller's own query meets the error, as it always did


def test_a_failed_measurement_with_nothing_known_uses_this_process_clock_once(fake_pg):
    fake_pg.down = True
    with freeze_time(T0):
        assert clock.db_now() == T0  # the caller's own next query meets the error (and retries)
    fake_pg.down = False
    fake_pg.offsets.append(-300.0)
    assert clock.offset_seconds() == -300.0 and fake_pg.measured == 1  # measured as soon as it answers


@pytest.mark.django_db
def test_sqlite_is_this_machine_offset_zero_and_no_query(django_assert_num_queries):
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite")
    with freeze_time(T0), django_assert_num_queries(0):
        assert clock.db_now() == T0
        assert clock.offset_seconds() == 0.0


# --- PostgreSQL: the real measurement ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_measures_the_database_clock_against_the_real_time_clock(monkeypatch, django_assert_num_queries):
    # This machine's clock and the server's agree: within the tolerance, so db_now() is the frozen
    # time under freezegun (which leaves clock_gettime alone), and the measurement is not one of
    # the caller's queries.
    with freeze_time(T0), django_assert_num_queries(0):
        assert abs(clock.offset_seconds()) < clock.TOLERANCE_SECONDS
        assert clock.db_now() == T0

    # A process whose real-time clock is five minutes fast (what libfaketime does) measures -300 s...
    clock.forget()
    real = time.clock_gettime
    monkeypatch.setattr(clock, "_realtime", lambda: real(time.CLOCK_REALTIME) + 300)
    assert clock.offset_seconds() == pytest.approx(-300, abs=clock.TOLERANCE_SECONDS)
    # ...and its db_now() is the database's time, not its own.
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (database,) = cursor.fetchone()
    fast = dt.datetime.now(UTC) + dt.timedelta(seconds=300)
    with freeze_time(fast):
        assert abs((clock.db_now() - database).total_seconds()) < 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_measurement_inside_a_transaction_leaves_it_usable():
    from django.db import transaction

    from imports.models import EngineWorker

    with transaction.atomic():
        clock.forget()
        now = clock.db_now()
        EngineWorker.objects.create(name="h:1", role="dispatcher", last_seen_at=now)
        assert EngineWorker.objects.filter(name="h:1").exists()
