"""The engine's "now": the database's clock, whatever this process's clock says (`db_now`).

What is due, when a lease or a broker lock ends, when a retry or an email is next attempted and
every time the engine writes are decided against one clock that every worker shares: the
database's. A worker whose own clock is minutes off then runs nothing early, steals no live lease
and writes no time in the future (issue 22; PostgreSQL queues such as River and Procrastinate
compare with the database's now() for the same reason).

How: `db_now()` is `timezone.now()` plus this process's offset from the database.
- PostgreSQL: the offset is measured with `SELECT clock_timestamp()` (the server's real time, not
  the transaction's start like now()) against this process's real-time clock read just before and
  just after it (the round trip's midpoint), and kept for MEASURE_EVERY_SECONDS per process and
  connection (a reconnection after a drop, or a fork, measures again; a thread's first connection, e.g.
  one of the vendor sender's, takes the offset its process measured within that time: it is the
  process's clock that is off, not the connection's). The time between two
  measurements is read from CLOCK_MONOTONIC, so a clock stepped meanwhile does not stretch it.
  The midpoint is wrong by at most half the round trip (the process may be descheduled on either
  side of the query on a busy machine), so a slow round trip is taken again, up to SAMPLES times,
  and the quickest kept (as NTP does); an offset within that half round trip plus
  TOLERANCE_SECONDS cannot be told from 0 and counts as 0. That is well below what a due time
  needs (the dispatcher polls every second); so with the database on a machine whose clock
  agrees, db_now() is exactly timezone.now().
- SQLite: the database is a file on this machine and its clock is this process's: offset 0, no
  query.

Why timezone.now() plus an offset read with time.clock_gettime, rather than the database's time
itself: tests. freezegun (hundreds of tests) patches timezone.now() and time.time() but not
time.clock_gettime, so under freezegun the measured offset stays about 0 and db_now() is the
frozen time, as the tests expect. libfaketime (`faketime -f +300s`, the wrong-clock reliability
runs) shifts clock_gettime itself, so there the measured offset is -300 s and cancels the skew.

A measurement that fails (the connection dropped, the server restarting) never raises: it falls
back to the last offset this process knew for that database (a clock offset does not change in a
few seconds), or, in a process that never measured one, to 0 (its own clock, for this call only).
The caller goes on to its own queries, which meet the same database error and handle it as they
always have: a claim rolled back, a dispatcher round retried, a batch retried with backoff
(imports.engine.runner's transient trouble). Raising here instead would bypass that handling: a
batch task started by a fresh worker process during a database restart would fail before its
retries, leaving its jobs to wait for lease recovery. Little is decided on the fallback: every
decision is a query (a claim, a recovery, a mark) that the unreachable database refuses; only a
database that answers again between the failed measurement and the caller's next query sees, that
once, a fresh process's own clock (the next call measures).

This module is the bottom layer: it imports only Django.
"""

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

logger = logging.getLogger(__name__)

# How long a measured offset is used before it is measured again (per process and connection).
MEASURE_EVERY_SECONDS = 10.0
# Offsets smaller than this (plus half the measurement's round trip) are measurement noise: treated as 0.
TOLERANCE_SECONDS = 0.05
# A measurement whose round trip took longer than this is taken again, at most SAMPLES times in all.
QUICK_ROUND_TRIP_SECONDS = 0.005
SAMPLES = 3

_ZERO = dt.timedelta(0)


def _realtime() -> float:
    """This process's real-time clock (seconds since the epoch): what libfaketime shifts and
    freezegun leaves alone. Tests replace it to play a process whose clock is off."""
    return time.clock_gettime(time.CLOCK_REALTIME)


def _monotonic() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@dataclass(frozen=True)
class _Measurement:
    pid: int
    connection_id: int
    at: float  # _monotonic() when measured
    seconds: float  # the database's clock minus this process's real-time clock
    round_trip: float  # of the query measured: the midpoint is within half of it


# By database alias: the last measurement in this process, on any connection (the fallback).
_last_known: dict[str, "_Measurement"] = {}


def _measure(wrapper) -> tuple[float, float]:
    """(the database's clock minus this process's, the round trip), in seconds: the quickest of
    up to SAMPLES round trips (one when it is quick).

    Through the DB-API cursor, not Django's: the measurement is not one of the caller's queries
    (tests that count queries see none), and it runs in whatever transaction the caller has open
    (clock_timestamp() is read-only and cannot conflict with anything)."""
    best: tuple[float, float] | None = None
    with wrapper.wrap_database_errors:
        wrapper.ensure_connection()
        cursor = wrapper.connection.cursor()
        try:
            for _ in range(SAMPLES):
                before = _realtime()
                cursor.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
                (database,) = cursor.fetchone()
                after = _realtime()
                sample = (float(database) - (before + after) / 2, after - before)
                if best is None or sample[1] < best[1]:
                    best = sample
                if sample[1] <= QUICK_ROUND_TRIP_SECONDS:
                    break
        finally:
            cursor.close()
    return best


def _measurement(using: str) -> _Measurement | None:
    """This process's measurement for `using` (None on SQLite): cached, taken, or the fallback."""
    wrapper = connections[using]
    if wrapper.vendor != "postgresql":
        return None
    cached: _Measurement | None = getattr(wrapper, "_icp_clock", None)
    pid = os.getpid()
    if (
        cached is not None
        and cached.pid == pid
        and wrapper.connection is not None
        and cached.connection_id == id(wrapper.connection)
        and _monotonic() - cached.at < MEASURE_EVERY_SECONDS
    ):
        return cached
    last = _last_known.get(using)
    if cached is None and last is not None and last.pid == pid and _monotonic() - last.at < MEASURE_EVERY_SECONDS:
        # A connection with no measurement of its own: a thread's first (the vendor sender's threads each
        # open one per chunk, imports.vendor.send). Measuring there cost up to SAMPLES round trips per
        # thread (about a tenth of a sender thread's wall time in bench_vendor's profile); the process measured its
        # offset moments ago. (A reconnection keeps its wrapper's old measurement: it measures again.)
        return last
    try:
        seconds, round_trip = _measure(wrapper)
    except DatabaseError as exc:
        fallback = _last_known.get(using)
        logger.warning(
            "Could not read the database's clock (%s); using the offset %.3fs until it answers.",
            exc, fallback.seconds if fallback else 0.0,
        )
        return fallback
    measured = _Measurement(pid, id(wrapper.connection), _monotonic(), seconds, round_trip)
    wrapper._icp_clock = _last_known[using] = measured
    return measured


def offset_seconds(using: str = DEFAULT_DB_ALIAS) -> float:
    """The database's clock minus this process's real-time clock, in seconds, as measured (no
    tolerance applied; negative: this process is fast). 0.0 on SQLite."""
    measured = _measurement(using)
    return 0.0 if measured is None else measured.seconds


def clock_offset(using: str = DEFAULT_DB_ALIAS) -> dt.timedelta:
    """What to add to this process's time to get the database's: 0 when the offset measured is
    within its uncertainty (half the round trip) plus TOLERANCE_SECONDS."""
    measured = _measurement(using)
    if measured is None or abs(measured.seconds) < TOLERANCE_SECONDS + measured.round_trip / 2:
        return _ZERO
    return dt.timedelta(seconds=measured.seconds)


def db_now(using: str = DEFAULT_DB_ALIAS) -> dt.datetime:
    """Now, by the database's clock (aware, UTC): the one "now" of the engine."""
    return timezone.now() + clock_offset(using)


def forget(using: str | None = None) -> None:
    """Drop what this process measured (tests; a process that knows its clock was stepped)."""
    aliases = [using] if using else list(_last_known) + [alias for alias in connections]
    for alias in set(aliases):
        _last_known.pop(alias, None)
        wrapper = connections[alias]
        if hasattr(wrapper, "_icp_clock"):
            del wrapper._icp_clock
