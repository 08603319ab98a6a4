"""The vendor's circuit (catalog.integrations.circuit): consecutive outages open it, one probe at a time,
one order booked per probe time and the others parked at one shared instant, a failed probe's next time
doubling, an answer closing it and handing back the parked orders' instant."""

import datetime as dt

import pytest

from catalog.integrations.circuit import (
    circuit_admit,
    circuit_answered,
    circuit_failed,
    circuit_probe_end,
    circuit_state,
    is_outage,
    probe_interval,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
T0 = dt.datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)
S = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def knobs(settings):
    settings.VENDOR_CIRCUIT_FAILURES = 3
    settings.VENDOR_CIRCUIT_PROBE_SECONDS = 10
    settings.VENDOR_CIRCUIT_PARK_SECONDS = 300


def open_circuit(now=T0):
    for _ in range(3):
        circuit_failed("microsoft", now=now)
    assert circuit_state("microsoft").opened_at == now


@pytest.mark.parametrize(
    "status, kind, outage",
    [(503, "transient", True), (500, "transient", True), (408, "transient", True), (None, "transient", True),
     (None, "unknown", True), (429, "transient", False), (401, "transient", False), (200, "done", False),
     (400, "refused", False), (200, "transient", False)],
)
def test_only_the_vendors_own_failures_count(status, kind, outage):
    assert is_outage(status, kind) is outage


def test_consecutive_failures_open_it_and_an_answer_in_between_starts_the_count_again():
    circuit_failed("microsoft", now=T0, failures=2)
    assert circuit_answered("microsoft", now=T0) is None  # closed: nothing parked to release
    circuit_failed("microsoft", now=T0, failures=2)
    assert circuit_state("microsoft").opened_at is None and circuit_admit("microsoft", now=T0).call
    circuit_failed("microsoft", now=T0 + S)
    state = circuit_state("microsoft")
    assert state.opened_at == T0 + S and state.probe_at == T0 + 11 * S and state.parked_until == T0 + 301 * S


def test_while_open_one_order_books_the_probe_time_the_others_park_at_one_instant():
    open_circuit()
    first, second, third = (circuit_admit("microsoft", now=T0 + S) for _ in range(3))
    assert not first.call and first.until == T0 + 10 * S  # it will be the probe
    assert not second.call and not third.call and second.until == third.until == T0 + 300 * S
    # At the probe time one probe calls; a second sender then does not.
    probe = circuit_admit("microsoft", now=T0 + 10 * S)
    assert probe.call and probe.probe
    other = circuit_admit("microsoft", now=T0 + 10 * S)
    assert not other.call and other.until == T0 + 300 * S


def test_a_failed_probe_moves_the_next_probe_on_doubling_up_to_six_times_and_its_order_waits_for_it():
    open_circuit()
    now, waits = T0 + 10 * S, []
    for _ in range(5):
        assert circuit_admit("microsoft", now=now).probe
        next_probe = circuit_failed("microsoft", now=now, probe=True)
        waits.append((next_probe - now).total_seconds())
        assert not circuit_admit("microsoft", now=now).call  # booked: no other probe before it
        now = next_probe
    assert waits == [20, 40, 60, 60, 60]
    assert probe_interval(0) == 10 * S


def test_parked_orders_instant_moves_on_when_the_outage_lasts():
    open_circuit()
    assert circuit_admit("microsoft", now=T0 + S).until == T0 + 10 * S
    assert circuit_admit("microsoft", now=T0 + S).until == T0 + 300 * S
    # Near the end of the park, the next parked order moves the instant on (those parked before wake
    # then, are refused, and park again at the new one).
    later = T0 + 200 * S
    assert circuit_admit("microsoft", now=later).probe  # the probe is under way (its time has come)
    assert circuit_admit("microsoft", now=later).until == later + 300 * S


def test_an_answer_closes_it_and_hands_back_the_parked_orders_instant():
    open_circuit()
    assert circuit_admit("microsoft", now=T0 + 10 * S).probe
    assert circuit_answered("microsoft", now=T0 + 11 * S) == T0 + 300 * S
    state = circuit_state("microsoft")
    assert state.opened_at is None and state.failures == 0 and state.closed_at == T0 + 11 * S
    assert circuit_admit("microsoft", now=T0 + 11 * S).call
    assert circuit_answered("microsoft", now=T0 + 12 * S) is None  # closed once


def test_a_probe_that_made_no_call_lets_the_next_order_probe():
    open_circuit()
    assert circuit_admit("microsoft", now=T0 + 10 * S).probe
    circuit_probe_end("microsoft")
    assert circuit_admit("microsoft", now=T0 + 10 * S).probe


def test_a_probe_whose_sender_died_frees_the_circuit_after_its_lease(settings):
    settings.MICROSOFT_CONNECT_TIMEOUT, settings.MICROSOFT_READ_TIMEOUT = 1, 4  # lease 4 x 5 s
    open_circuit()
    assert circuit_admit("microsoft", now=T0 + 10 * S).probe
    assert not circuit_admit("microsoft", now=T0 + 29 * S).call
    assert circuit_admit("microsoft", now=T0 + 31 * S).probe
