"""The database work of a sender's chunk (Recorder), done by the sender's own thread in few statements while
its threads only call the vendor: what each try came to (Tried) recorded in groups through the finishing,
the vendor calls written together, each try counted in the integration's circuit, the tenants' requests
reserved, the cart ids written at once. Between the tries and their finishing (send → place → recorder →
finish): of imports.vendor it imports finish, outcomes, updates, outbox and pacing, never send or place."""

import datetime as dt
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from catalog.integrations.budget import tenant_requests_reserve
from catalog.integrations.calls import KeptCalls, calls_write
from catalog.integrations.circuit import Admission, circuit_admit, is_outage
from catalog.integrations.pauses import tenant_pause, tenants_paused_until
from core.clock import db_now
from core.datetimes import utc_text
from core.outbox import OutboxItem
from core.stored_messages import stored

from imports.models import VendorOrder
from imports.vendor.finish import Finished, finish_done, finish_failed, mark_trouble_by_pk, trouble_record, wait_record
from imports.vendor.outbox import VENDOR_ORDERS
from imports.vendor.outcomes import VENDOR_UNAVAILABLE, VENDOR_UNEXPECTED, Placed, Refusal, Trouble, vendor_name
from imports.vendor.pacing import Wait, circuit_after_try
from imports.vendor.updates import update_each

logger = logging.getLogger(__name__)
Pending = OutboxItem.Status.PENDING
Outcome = VendorOrder.Outcome


@dataclass
class Tried:
    """What one try of one vendor order came to, for the recorder: the answer (Placed, Refusal,
    Trouble), or `released` (not tried: the budget was spent), or `error` (an unexpected exception)."""

    vendor_order: VendorOrder
    result: Placed | Refusal | Trouble | Wait | None = None
    released: bool = False
    error: Exception | None = None
    calls: list = field(default_factory=list)  # the vendor calls it made (catalog.models.VendorCall, unsaved)
    probe: bool = False  # it was the open circuit's one probe


class Recorder:
    """The database work of a sender's chunk, done by the sender's own thread in few statements: the
    tries' answers recorded together (finish_done: one short transaction for a group of placed orders),
    the vendor calls written together (calls_write), the checks passed marked together, and the cart ids
    written at once (a try waits for its cart id's commit before the checkout). Sender threads hand it
    what they have (`put`, `cart_record`); `serve` runs it until they have all ended."""

    GROUP = 32  # answers recorded in one transaction, at most
    WAIT_SECONDS = 0.25  # the longest an answer waits for its group

    def __init__(self, pending: list[VendorOrder], *, now: dt.datetime, finished: Finished):
        self.now, self.finished = now, finished
        # Integration → its circuit is closed with no failure counted (read at the first admission): a try
        # whose calls were all answered then changes nothing in it and is not counted (no statement).
        self.circuit_clean: dict[str, bool] = {}
        self.outcomes: dict[int, str | None] = {}
        self.done = 0
        self.calls = KeptCalls()
        self.owner = threading.get_ident()
        self.requests: queue.Queue = queue.Queue()
        self.tried: list[Tried] = []
        self.checked: list[int] = []
        integrations = {vo.integration for vo in pending}
        self.paused: dict[tuple[str, str], dt.datetime] = {
            (integration, customer_id): until
            for integration in integrations
            for customer_id, until in tenants_paused_until(
                integration, [vo.customer_id for vo in pending if vo.integration == integration], now=now
            ).items()
        }

    # -- asked by the tries (any thread) ------------------------------------------------------------
    def paused_until(self, vendor_order: VendorOrder) -> dt.datetime | None:
        return self.paused.get((vendor_order.integration, vendor_order.customer_id))

    def pause(self, vendor_order: VendorOrder, until: dt.datetime) -> None:
        """A 429 paused the tenant: for every sender (tenant_pause) and for the rest of this chunk."""
        tenant_pause(vendor_order.integration, vendor_order.customer_id, until=until)
        key = (vendor_order.integration, vendor_order.customer_id)
        self.paused[key] = max(until, self.paused.get(key, until))

    def check_passed(self, vendor_order: VendorOrder) -> None:
        """The due time's vendor checks passed: recorded with the next group (a sender killed first asks
        again, which changes nothing at the vendor)."""
        if self._here():
            self.checked.append(vendor_order.pk)
        else:
            self.requests.put(("checked", vendor_order.pk))

    def cart_record(self, vendor_order: VendorOrder, cart_id: str) -> str:
        """Write the cart's id at once (committed before its checkout: a sender killed after this checks out
        this cart, never a second one); returns the cart id recorded (another sender's, the same cart)."""
        if self._here():
            return _cart_write(vendor_order, cart_id)
        answer: dict = {}
        done = threading.Event()
        self.requests.put(("cart", (vendor_order, cart_id, answer, done)))
        # Bounded: a sender thread never outlives its claim's lease waiting for a recorder that stopped.
        if not done.wait(timeout=settings.IMPORT_VENDOR_LEASE_SECONDS):
            raise RuntimeError("the sender's thread did not record the cart id in time")
        if "error" in answer:
            raise answer["error"]
        return answer["cart_id"]

    def admit(self, vendor_order: VendorOrder) -> Admission:
        """May this try call the vendor (the integration's circuit)? Asked of the sender's thread."""
        if self._here():
            return self._admit(vendor_order.integration)
        answer: dict = {}
        done = threading.Event()
        self.requests.put(("admit", (vendor_order, answer, done)))
        done.wait()
        if "error" in answer:
            raise answer["error"]
        return answer["admission"]

    def _admit(self, integration: str) -> Admission:
        if self.circuit_clean.get(integration):
            return Admission(call=True)
        admission = circuit_admit(integration, now=db_now())
        if admission.call and not admission.probe:  # closed; clean when no failure was counted
            self.circuit_clean[integration] = admission.failures == 0
        return admission

    def reserve(self, vendor_order: VendorOrder, n: int) -> dt.datetime | None:
        """Reserve n of the tenant's requests right before the calls that use them (catalog.integrations.budget):
        None when reserved, else the next slot's start. The sender's thread reserves for every try that asks
        at about the same time in one statement per tenant (Recorder.serve)."""
        if self._here():
            return tenant_requests_reserve(vendor_order.integration, [(vendor_order.customer_id, n)], now=db_now())[0]
        answer: dict = {}
        done = threading.Event()
        self.requests.put(("reserve", (vendor_order, n, answer, done)))
        done.wait()
        if "error" in answer:
            raise answer["error"]
        return answer["until"]

    def put(self, tried: Tried) -> None:
        self.requests.put(("tried", tried))

    # -- this thread ---------------------------------------------------------------------------------
    def _here(self) -> bool:
        return threading.get_ident() == self.owner

    def add(self, tried: Tried) -> None:
        self.count(tried)
        self.tried.append(tried)
        if len(self.tried) >= self.GROUP:
            self.flush()

    def serve(self, threads: list[threading.Thread]) -> None:
        """Until every thread has ended: write the cart ids asked for at once, the answers in groups."""
        oldest = None
        while True:
            alive = any(thread.is_alive() for thread in threads)
            try:
                requests = [self.requests.get(timeout=0.02)]
            except queue.Empty:
                requests = []
            while True:
                try:
                    requests.append(self.requests.get_nowait())
                except queue.Empty:
                    break
            for kind, value in requests:
                if kind == "tried":  # counted in the circuit before the next admission
                    self.count(value)
            for kind, (vendor_order, answer, done) in ((k, v) for k, v in requests if k == "admit"):
                try:
                    answer["admission"] = self._admit(vendor_order.integration)
                except Exception as exc:
                    answer["error"] = exc
                done.set()
            reserves = [value for kind, value in requests if kind == "reserve"]
            if reserves:
                self._reserve_all(reserves)
            carts = [value for kind, value in requests if kind == "cart"]
            if carts:
                error: Exception = RuntimeError("the cart id was not recorded")
                try:
                    recorded = _carts_write({vendor_order.pk: cart_id for vendor_order, cart_id, _answer, _done in carts})
                except Exception as exc:
                    recorded, error = {}, exc
                for vendor_order, _cart_id, answer, done in carts:
                    if vendor_order.pk in recorded:
                        answer["cart_id"] = recorded[vendor_order.pk]
                    else:
                        answer["error"] = error
                    done.set()
            for kind, value in requests:
                if kind in ("cart", "reserve", "admit"):
                    continue
                elif kind == "checked":
                    self.checked.append(value)
                else:
                    self.tried.append(value)
            if self.tried and oldest is None:
                oldest = time.monotonic()
            if self.tried and (len(self.tried) >= self.GROUP or time.monotonic() - oldest >= self.WAIT_SECONDS):
                try:
                    self.flush()
                except Exception:
                    # The database failing under us: what was not recorded stays under the claim's lease and
                    # the next sender tries it again with the same ids; keep serving the threads meanwhile.
                    logger.exception("Vendor orders: could not record a group of answers; their lease hands them on.")
                oldest = None
            if not alive and not requests and self.requests.empty():
                return

    def _reserve_all(self, reserves: list) -> None:
        """Answer the tries' reservations together: one statement per tenant (tenant_requests_reserve)."""
        try:
            by_integration: dict[str, list] = {}
            for value in reserves:
                by_integration.setdefault(value[0].integration, []).append(value)
            now = db_now()
            for integration, values in by_integration.items():
                answers = tenant_requests_reserve(integration, [(vo.customer_id, n) for vo, n, _a, _d in values], now=now)
                for (_vo, _n, answer, _done), until in zip(values, answers):
                    answer["until"] = until
        except Exception as exc:
            for _vo, _n, answer, _done in reserves:
                answer.setdefault("error", exc)
        finally:
            for _vo, _n, _answer, done in reserves:
                done.set()

    def count(self, tried: Tried) -> None:
        """Count a try's calls in its integration's circuit (the vendor's own failures across every sender
        open it; any answer resets it), and hand them on to be written; a failed probe waits for the next
        probe time. Never raises: the circuit's bookkeeping must not lose the vendor's answers."""
        with self.calls.lock:
            self.calls.calls.extend(tried.calls)
        integration = tried.vendor_order.integration
        outage = any(is_outage(call.status_code, call.outcome) for call in tried.calls)
        if not (outage or tried.probe or (tried.calls and not self.circuit_clean.get(integration))):
            return
        try:
            counted = circuit_after_try(
                integration, [(call.status_code, call.outcome) for call in tried.calls], probe=tried.probe, now=db_now()
            )
        except Exception:
            logger.exception("Vendor order %s: could not count its calls in the circuit.", tried.vendor_order.pk)
            return
        self.circuit_clean[integration] = False if outage else self.circuit_clean.get(integration, False)
        if counted.next_probe is not None and isinstance(tried.result, Trouble):
            vendor = vendor_name(tried.vendor_order)
            tried.result = Wait(stored(VENDOR_UNAVAILABLE, vendor=vendor, until=utc_text(counted.next_probe)),
                                counted.next_probe, announce=True)

    def flush(self) -> None:
        """Record the calls made, then what the tries came to: placed orders in one transaction
        (finish_done), the others one by one (refusals, trouble: rare in a burst), the released ones due
        again."""
        calls_write(self.calls)
        tried, self.tried = self.tried, []
        checked, self.checked = self.checked, []
        now = self.now
        if checked:
            VendorOrder.objects.filter(pk__in=checked, status=Pending, checked_at__isnull=True).update(checked_at=now)
        placed = [(t.vendor_order, t.result) for t in tried if isinstance(t.result, Placed)]
        if placed:
            try:
                self.done += finish_done(placed, now=now, finished=self.finished)
            except Exception as exc:
                logger.exception("Vendor orders %s: could not record their answers (%s: %s).",
                                 [vo.pk for vo, _placed in placed], type(exc).__name__, exc)
                for vendor_order, _placed in placed:
                    self._unexpected(vendor_order)
        released = [t.vendor_order.pk for t in tried if t.released]
        if released:
            VENDOR_ORDERS.release(released, now=now)
        for t in tried:
            if t.released or isinstance(t.result, Placed):
                continue
            try:
                if t.error is not None:
                    raise t.error
                if isinstance(t.result, Refusal):
                    finish_failed(t.vendor_order, Outcome.REFUSED, "\n".join(t.result.reasons), now=now, finished=self.finished)
                elif isinstance(t.result, Wait):
                    wait_record(t.vendor_order, t.result, now=now, finished=self.finished)
                else:
                    trouble_record(t.vendor_order, t.result, now=now, finished=self.finished)
            except Exception as exc:
                # Anything unexpected (a bug, the database gone): a failed attempt with the backoff, never a
                # verdict on the order; the deadline still ends it.
                logger.exception("Vendor order %s: unexpected error (%s: %s).", t.vendor_order.pk, type(exc).__name__, exc)
                self._unexpected(t.vendor_order)

    def _unexpected(self, vendor_order: VendorOrder) -> None:
        try:
            mark_trouble_by_pk(vendor_order.pk, now=self.now, error=stored(VENDOR_UNEXPECTED, vendor=vendor_name(vendor_order)))
        except Exception:
            logger.exception("Vendor order %s: could not record the error; its lease hands it to another sender.", vendor_order.pk)


def _carts_write(carts: dict[int, str]) -> dict[int, str]:
    """Write many cart ids at once (vendor order pk → cart id); returns vendor order pk → the cart id
    recorded (another sender's for one it had recorded first: the same MS-RequestId, the same cart)."""
    written = update_each(VendorOrder, {pk: {"cart_id": cart_id} for pk, cart_id in carts.items()},
                           where=Q(status=Pending, cart_id=""))
    recorded = {pk: cart_id for pk, cart_id in carts.items() if pk in written}
    others = [pk for pk in carts if pk not in written]
    if others:
        found = dict(VendorOrder.objects.filter(pk__in=others).values_list("pk", "cart_id"))
        recorded.update({pk: found.get(pk) or carts[pk] for pk in others})
    return recorded


def _cart_write(vendor_order: VendorOrder, cart_id: str) -> str:
    if VendorOrder.objects.filter(pk=vendor_order.pk, status=Pending, cart_id="").update(cart_id=cart_id):
        return cart_id
    # Recorded by another sender (the same MS-RequestId: the same cart).
    return VendorOrder.objects.filter(pk=vendor_order.pk).values_list("cart_id", flat=True).first() or cart_id
