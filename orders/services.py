"""Writes of the NEW SERVICE wizard: the draft order, step by step, and its submission.

Every write locks the draft row and re-checks that it is still a Draft, so a second tab or a replayed
request can never change an order that has already been scheduled. Where a draft stands and whether it
can be submitted is decided by orders.wizard; the job a submission schedules is created by
imports.jobs.services.provisioning_schedule, in the same transaction.
"""

import datetime as dt
from copy import deepcopy as copy_value
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.clock import db_now
from accounts.models import Company, User
from accounts.selectors import company_visible_to
from accounts.services import audit_log_record
from catalog.models import TermsAcceptance
from catalog.selectors import price_book, price_list_for
from catalog.services import terms_accept
from core.stored_messages import stored

from .configuration import CONFIGURATION_ATTRIBUTES, configuration_cleared
from .models import Order
from .validation import schedule_time_error
from .wizard import (  # noqa: F401  (the messages are re-exported: callers handle WizardStepError)
    CONFIGURATION_INVALID,
    NO_PRICE_LIST,
    SERVICE_NOT_AVAILABLE,
    SERVICE_NOT_SELECTED,
    STEP_CONFIGURE,
    STEP_SELECT,
    TERMS_NOT_ACCEPTED_YET,
    Wizard,
    WizardStepError,
)

ORDER_NOT_DRAFT = _("This order has already been scheduled; it can no longer be changed.")
NOT_A_CUSTOMER = _("Services can be ordered only for customer companies; %(company)s is a %(kind)s.")
ORDER_DISCARDED = _("The unfinished order was discarded.")
# Drafts nobody has touched for this long are removed by the worker's housekeeping.
DRAFT_MAX_IDLE_DAYS = 30
SERVICE_CHANGED = _("The service of this order was changed in another window. Check the configuration again.")

# Stored as a message and its parameters (core.stored_messages): shown in the reader's language.
AUDIT_ORDER_SCHEDULED = _(
    "Provisioning of %(service)s (%(quantity)s × %(term)s) scheduled for %(due)s (UTC), QuoteId %(quote)s."
)


class OrderNotDraft(Exception):
    """The order was scheduled (by this user, in another tab or request) while this one was open."""

    def __init__(self, order: Order):
        super().__init__(str(ORDER_NOT_DRAFT))
        self.order = order


@dataclass(frozen=True)
class SubmitResult:
    order: Order
    # False when the order had already been submitted (double click, replayed POST, second tab).
    created: bool


def _require_visible(user: User, company: Company) -> None:
    if not company_visible_to(user, company.pk):
        raise PermissionDenied


def _lock_draft(order_id: int, user: User) -> Order:
    """The order row locked for this transaction; it must be the user's and still a Draft."""
    order = (
        Order.objects.select_for_update(of=("self",))  # service is a nullable join
        .select_related("company", "service", "service__vendor")
        .filter(pk=order_id, created_by=user)
        .first()
    )
    if order is None:
        raise Order.DoesNotExist
    if not order.is_editable:
        raise OrderNotDraft(order)
    return order


def new_service_refusal(company: Company, price_list) -> ValidationError | None:
    """Why NEW SERVICE cannot be used on `company` (buying from `price_list`), or None when it can:
    services are ordered for customers only, and only when a price list says what they may buy.
    The company page shows the button by this rule; order_create enforces it for crafted POSTs."""
    if company.kind != Company.Kind.CUSTOMER:
        params = {"company": company.name, "kind": company.get_kind_display()}
        return ValidationError(NOT_A_CUSTOMER, code="not_a_customer", params=params)
    if price_list is None:
        return ValidationError(NO_PRICE_LIST, code="no_price_list", params={"company": company.name})
    return None


@transaction.atomic
def order_create(*, company: Company, user: User) -> Order:
    """The Draft NEW SERVICE opens on `company` (its uuid is the QuoteId): the user's own empty draft
    for the company (no service chosen yet) when there is one, so repeated clicks do not pile up
    unfinished orders; otherwise a new one."""
    _require_visible(user, company)
    if refusal := new_service_refusal(company, price_list_for(company)):
        raise refusal
    empty = (
        Order.objects.select_for_update()
        .filter(company=company, created_by=user, status=Order.Status.DRAFT, service__isnull=True)
        .order_by("-updated_at", "-id")
        .first()
    )
    if empty is not None:
        empty.save(update_fields=["updated_at"])  # touched: it is in use again (housekeeping keeps it)
        return empty
    order = Order(
        company=company,
        created_by=user,
        send_to_backend=company.send_to_backend,
        is_billable=company.is_billable,
    )
    order.full_clean()
    order.save()
    return order


@transaction.atomic
def order_copy(*, order: Order, user: User) -> Order:
    """A new Draft with the service and configuration of `order` (e.g. "Schedule again" on a failed
    provisioning): its review is reachable at once, the schedule field empty. The same refusals as
    NEW SERVICE apply; whether it can be scheduled is the wizard's to say, fresh, on the review."""
    _require_visible(user, order.company)
    if refusal := new_service_refusal(order.company, price_list_for(order.company)):
        raise refusal
    copy = Order(
        company=order.company,
        created_by=user,
        service=order.service,
        configured_at=timezone.now(),
        **{name: copy_value(getattr(order, name)) for name in CONFIGURATION_ATTRIBUTES},
    )
    copy.full_clean()
    copy.save()
    return copy


@transaction.atomic
def order_discard(*, order: Order, user: User) -> None:
    """Discard one of the user's unfinished orders. Raises OrderNotDraft when it has been scheduled
    meanwhile (it then belongs to its import job) and Order.DoesNotExist when it is gone already."""
    locked = _lock_draft(order.pk, user)
    locked.delete()


def orders_drafts_expire(*, now: dt.datetime, batch_size: int = 500) -> int:
    """Housekeeping: delete drafts nobody has changed for DRAFT_MAX_IDLE_DAYS; returns how many.

    Called by the import engine's every-minute tick (imports.tasks.dispatch_tick_task), so it is one
    indexed query when there is nothing to do, and bounded when there is. A draft something else still
    points at (on_delete=PROTECT) is left alone rather than failing the tick.
    """
    cutoff = now - dt.timedelta(days=DRAFT_MAX_IDLE_DAYS)
    stale = Order.objects.filter(status=Order.Status.DRAFT, updated_at__lt=cutoff)
    ids = list(stale.order_by("updated_at").values_list("pk", flat=True)[:batch_size])
    label = Order._meta.label
    # The DELETE filters again: a draft resumed (or scheduled) since the read above stays.
    try:
        with transaction.atomic():
            return stale.filter(pk__in=ids).delete()[1].get(label, 0)
    except ProtectedError:
        pass
    deleted = 0
    for pk in ids:  # one by one, to step over the protected ones
        try:
            with transaction.atomic():
                deleted += stale.filter(pk=pk).delete()[1].get(label, 0)
        except ProtectedError:
            continue
    return deleted


@transaction.atomic
def order_service_select(*, order: Order, service, user: User) -> Order:
    """Step 1. Choosing another service resets the configuration, which depended on the old one."""
    locked = _lock_draft(order.pk, user)
    book = price_book(company_ids=[locked.company_id], service_ids=[service.pk], day=timezone.now().date())
    if not book.offers(locked.company_id, service):
        raise ValidationError(
            SERVICE_NOT_AVAILABLE, code="not_on_price_list", params={"service": service.name, "company": locked.company.name}
        )
    if locked.service_id != service.pk:
        locked.service = service
        for name, value in configuration_cleared(locked).items():
            setattr(locked, name, value)
        locked.configured_at = None
        locked.scheduled_for = None
    locked.full_clean()
    locked.save()
    return locked


def order_terms_accept(*, order: Order, user: User) -> TermsAcceptance | None:
    """Step 2. Accepts the service's terms for the company's whole price list (audited by catalog)."""
    with transaction.atomic():
        locked = _lock_draft(order.pk, user)
        if locked.service_id is None:
            raise WizardStepError(STEP_SELECT, [str(SERVICE_NOT_SELECTED)])
        if locked.service.terms_id is None:
            return None
        price_list = price_list_for(locked.company)
        if price_list is None:
            raise WizardStepError(STEP_SELECT, [str(NO_PRICE_LIST % {"company": locked.company.name})])
        return terms_accept(price_list=price_list, service=locked.service, user=user, company=locked.company)


@transaction.atomic
def order_configure(*, order: Order, user: User, **values) -> Order:
    """Step 3. Saves the configuration (orders.configuration's values) for the order's current service."""
    if set(values) != set(CONFIGURATION_ATTRIBUTES):
        raise TypeError(f"order_configure takes exactly {', '.join(CONFIGURATION_ATTRIBUTES)}.")
    locked = _lock_draft(order.pk, user)
    if locked.service_id != order.service_id:
        # The values were validated for the service `order` had; another tab has chosen a different one since.
        raise WizardStepError(STEP_CONFIGURE, [str(SERVICE_CHANGED)])
    for name, value in values.items():
        setattr(locked, name, value)
    locked.configured_at = timezone.now()
    locked.full_clean()
    locked.save()
    return locked


def order_submit(*, order_id: int, user: User, due_at: dt.datetime | None) -> SubmitResult:
    """Step 4: submit a draft for provisioning at `due_at` (UTC; None = as soon as possible).

    Must run inside the caller's transaction (imports.jobs.services.provisioning_schedule, which creates the
    job next): locks the order, re-validates every step with orders.wizard, and marks it Submitted with a
    conditional update. If the order is no longer a Draft the earlier submission stands and is returned.
    Raises WizardStepError when a step is incomplete and ValidationError({"scheduled_for": ...}) for a bad time.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_submit must run in the transaction that creates the job.")
    try:
        order = _lock_draft(order_id, user)
    except OrderNotDraft as already:
        return SubmitResult(order=already.order, created=False)
    _require_visible(user, order.company)

    now = db_now()
    due_at = due_at or now
    if error := schedule_time_error(due_at, now=now):
        raise ValidationError({"scheduled_for": error})
    if problem := Wizard(order, now=now).problem():
        raise problem

    submitted = {"status": Order.Status.SUBMITTED, "submitted_at": now, "scheduled_for": due_at, "updated_at": now}
    if not Order.objects.filter(pk=order.pk, status=Order.Status.DRAFT).update(**submitted):
        order.refresh_from_db()  # another request submitted it between our read and our update
        return SubmitResult(order=order, created=False)
    for name, value in submitted.items():
        setattr(order, name, value)
    audit_log_record(
        company=order.company,
        actor=user,
        action="order.scheduled",
        message=stored(
            AUDIT_ORDER_SCHEDULED, service=order.service.name, quantity=order.quantity, term=order.term,
            due=f"{due_at.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M}", quote=str(order.uuid),
        ),
    )
    return SubmitResult(order=order, created=True)


def orders_submit_many(*, orders: list[Order], user: User, due_at: dt.datetime, now: dt.datetime) -> list[Order]:
    """Bulk imports: the submitted orders of a file's product lines, in one INSERT.

    Each order carries the values orders.configuration's fields cleaned for its line (exactly what
    the wizard's Configuration saves); the due-time checks run on them when the job runs, as for a
    scheduled provisioning. Must run inside the caller's transaction (the job is created next).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("orders_submit_many must run in the transaction that creates the job.")
    for order in orders:
        order.created_by = user
        order.status = Order.Status.SUBMITTED
        order.configured_at = now
        order.submitted_at = now
        order.scheduled_for = due_at
    return Order.objects.bulk_create(orders)
