"""An integration-wide circuit (catalog.models.VendorCircuit): a vendor outage parks the orders instead of
every sender hammering a vendor that is down.

Why: during an outage (every call 503, connection refused) each open order would keep trying on its own
backoff: thousands of orders, thousands of calls a minute into a vendor that is down, and a stampede the
moment it comes back. Instead, senders count the vendor's own failures (5xx, 408, no connection, no
answer: `is_outage`) across every worker, in the database:

- closed (the normal state): every order calls. VENDOR_CIRCUIT_FAILURES consecutive failures of the
  vendor's calls, whichever senders made them, open it. Any answer (done, refused, 429, ...) resets the
  count: a vendor that answers is up, whatever it answers.
- open ("Microsoft is unavailable"): no order calls, except ONE probe at a time once `probe_at` is
  reached (a conditional UPDATE takes the probe's lease, `probing_until`, so two senders never probe at
  once). The others are parked: their next try is the circuit's `parked_until`, the same instant for all,
  far enough ahead (VENDOR_CIRCUIT_PARK_SECONDS) that they do not wake while it is down; one order waits
  for `probe_at` instead (`probe_booked_for`) and is the next probe. A probe that fails moves `probe_at`
  on (VENDOR_CIRCUIT_PROBE_SECONDS doubling, at most 6 times it) and its order waits for that time.
- a probe (or any call) the vendor answers closes it and hands back the `parked_until` its parked orders
  wait for: the sender that closed it releases them over VENDOR_CIRCUIT_RELEASE_SECONDS
  (imports.vendor.parking), and the tenant budget (catalog.integrations.budget) bounds them further.
  If that sender dies first, they wake at `parked_until` on their own.

Every move is one conditional statement; times are the database's clock (the caller's `now`, db_now()).
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from catalog.models import VendorCircuit

# A probe holds the circuit this long at most (a try is a few calls at the connector's timeouts); a probe
# whose sender died frees it after that.
PROBE_CALLS = 4
PROBE_INTERVAL_MAX_FACTOR = 6


def failures_to_open() -> int:
    return int(getattr(settings, "VENDOR_CIRCUIT_FAILURES", 10))


def probe_seconds() -> float:
    return float(getattr(settings, "VENDOR_CIRCUIT_PROBE_SECONDS", 10.0))


def park_seconds() -> float:
    return float(getattr(settings, "VENDOR_CIRCUIT_PARK_SECONDS", 300.0))


def release_seconds() -> float:
    return float(getattr(settings, "VENDOR_CIRCUIT_RELEASE_SECONDS", 30.0))


def probe_lease() -> dt.timedelta:
    per_call = float(getattr(settings, "MICROSOFT_CONNECT_TIMEOUT", 5.0)) + float(getattr(settings, "MICROSOFT_READ_TIMEOUT", 30.0))
    return dt.timedelta(seconds=PROBE_CALLS * per_call)


def probe_interval(failed_probes: int) -> dt.timedelta:
    """The wait before the next probe after `failed_probes` failed ones: doubling, at most 6 times the first."""
    base = probe_seconds()
    return dt.timedelta(seconds=min(base * 2 ** min(failed_probes, 10), base * PROBE_INTERVAL_MAX_FACTOR))


def is_outage(status: int | None, kind: str) -> bool:
    """Whether a call's result (HTTP status, the connector's outcome kind) says the vendor itself is down."""
    if kind == "unknown":
        return True  # sent, no answer
    if kind != "transient":
        return False  # done or refused: it answered
    return not status or status >= 500 or status == 408


@dataclass(frozen=True)
class Admission:
    """May this try call the vendor? `probe`: it is the open circuit's one probe. Else wait until `until`."""

    call: bool
    probe: bool = False
    until: dt.datetime | None = None
    # The failures counted when it was admitted: 0 means an answer has nothing to reset (one statement saved
    # per try while the vendor is well).
    failures: int = 0


def circuit_admit(integration: str, *, now: dt.datetime) -> Admission:
    circuit = VendorCircuit.objects.filter(integration=integration).first()
    if circuit is None or circuit.opened_at is None:
        return Admission(call=True, failures=circuit.failures if circuit is not None else 0)
    free = Q(probing_until__isnull=True) | Q(probing_until__lte=now)
    took = (
        VendorCircuit.objects.filter(pk=circuit.pk, opened_at__isnull=False, probe_at__lte=now)
        .filter(free)
        .update(probing_until=now + probe_lease())
    )
    if took:
        return Admission(call=True, probe=True)
    if circuit.probe_at is not None and circuit.probe_at > now:
        # One order waits for the next probe time and will be the probe; the others are parked.
        unbooked = Q(probe_booked_for__isnull=True) | Q(probe_booked_for__lt=circuit.probe_at)
        if VendorCircuit.objects.filter(pk=circuit.pk, probe_at=circuit.probe_at).filter(unbooked).update(
            probe_booked_for=circuit.probe_at
        ):
            return Admission(call=False, until=circuit.probe_at)
    return Admission(call=False, until=_parked_until(circuit.pk, now=now))


def _parked_until(pk: int, *, now: dt.datetime) -> dt.datetime:
    """The instant parked orders wait for, moved on when it comes close (the circuit stays open longer than
    planned): every sender parks its orders at the same value, so closing the circuit finds them all."""
    soon = now + dt.timedelta(seconds=park_seconds() / 2)
    VendorCircuit.objects.filter(pk=pk).filter(Q(parked_until__isnull=True) | Q(parked_until__lt=soon)).update(
        parked_until=now + dt.timedelta(seconds=park_seconds())
    )
    return VendorCircuit.objects.filter(pk=pk).values_list("parked_until", flat=True).get()


def circuit_failed(integration: str, *, now: dt.datetime, failures: int = 1, probe: bool = False) -> dt.datetime | None:
    """Record `failures` consecutive failures of the vendor itself. A failed probe moves the next probe on
    and returns its time: the probe's order waits for it and probes again (booked for it)."""
    circuit = VendorCircuit.objects.filter(integration=integration)
    if probe:
        row = circuit.filter(opened_at__isnull=False).values("probe_failures").first()
        if row is not None:
            probe_at = now + probe_interval(row["probe_failures"] + 1)
            if circuit.filter(opened_at__isnull=False).update(
                failures=F("failures") + failures, probe_failures=F("probe_failures") + 1,
                probe_at=probe_at, probing_until=None, probe_booked_for=probe_at,
            ):
                return probe_at
    if not circuit.update(failures=F("failures") + failures):
        try:
            with transaction.atomic():
                VendorCircuit.objects.create(integration=integration, failures=failures)
        except IntegrityError:  # created meanwhile by another sender
            circuit.update(failures=F("failures") + failures)
    circuit.filter(opened_at__isnull=True, failures__gte=failures_to_open()).update(
        opened_at=now, probe_at=now + probe_interval(0), probe_failures=0, probing_until=None, probe_booked_for=None,
        parked_until=now + dt.timedelta(seconds=park_seconds()),
    )
    return None


def circuit_answered(integration: str, *, now: dt.datetime) -> dt.datetime | None:
    """The vendor answered a call: reset the failures; when this closed the circuit, return the instant its
    parked orders wait for (the caller releases them), else None."""
    circuit = VendorCircuit.objects.filter(integration=integration)
    opened = circuit.filter(opened_at__isnull=False).values("opened_at", "parked_until").first()
    if opened is not None and circuit.filter(opened_at=opened["opened_at"]).update(
        opened_at=None, probe_at=None, probing_until=None, probe_booked_for=None, probe_failures=0, failures=0,
        closed_at=now,
    ):
        return opened["parked_until"]
    circuit.filter(failures__gt=0).update(failures=0)
    return None


def circuit_probe_end(integration: str) -> None:
    """A probe that made no call (a paused tenant, a spent budget): the next order that comes may probe."""
    VendorCircuit.objects.filter(integration=integration, opened_at__isnull=False).update(probing_until=None, probe_booked_for=None)


def circuit_state(integration: str) -> VendorCircuit | None:
    """The integration's circuit as stored (None: never opened nor failed)."""
    return VendorCircuit.objects.filter(integration=integration).first()


def circuits_open() -> list[VendorCircuit]:
    """The circuits open now (imports_health, the PROVISIONING tab)."""
    return list(VendorCircuit.objects.filter(opened_at__isnull=False).order_by("integration"))
