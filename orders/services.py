"""Writes of the NEW SERVICE wizard: the draft order, step by step, and its scheduling.

Every write locks the draft row and re-checks that it is still a Draft, so a second tab or a replayed
request can never change an order that has already been scheduled.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User
from accounts.selectors import companies_visible_to
from accounts.services import audit_log_record
from catalog.models import TermsAcceptance
from catalog.selectors import price_list_for, services_on_price_list, terms_accepted
from catalog.services import terms_accept

from .forms import ConfigurationForm
from .models import Order
from .selectors import STEP_CONFIGURE, STEP_SELECT, STEP_TERMS
from .signals import order_submitted
from .validation import schedule_time_error

NO_PRICE_LIST = _("%(company)s has no price list, so no service can be ordered for it yet.")
ORDER_NOT_DRAFT = _("This order has already been scheduled; it can no longer be changed.")
SERVICE_NOT_AVAILABLE = _("The price list of %(company)s does not offer the service %(service)s.")
SERVICE_NOT_SELECTED = _("Select a service to continue.")
TERMS_NOT_ACCEPTED_YET = _("Accept the Terms and Conditions to continue.")
CONFIGURATION_MISSING = _("Complete the configuration to continue.")
CONFIGURATION_INVALID = _("The configuration is no longer valid. Check the fields marked below.")
SERVICE_CHANGED = _("The service of this order was changed in another window. Check the configuration again.")


class OrderNotDraft(Exception):
    """The order was scheduled (by this user, in another tab or request) while this one was open."""

    def __init__(self, order: Order):
        super().__init__(str(ORDER_NOT_DRAFT))
        self.order = order


class WizardStepError(Exception):
    """A step of the draft is not (or no longer) complete: go back to `step` and show `messages`."""

    def __init__(self, step: str, messages: list[str]):
        super().__init__(" ".join(messages))
        self.step = step
        self.messages = messages


@dataclass(frozen=True)
class ScheduleResult:
    order: Order
    # False when the order had already been scheduled (double click, replayed POST, second tab).
    created: bool


def _require_visible(user: User, company: Company) -> None:
    if not companies_visible_to(user).filter(pk=company.pk).exists():
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
    if order.status != Order.Status.DRAFT:
        raise OrderNotDraft(order)
    return order


def _reset_configuration(order: Order) -> None:
    """Forget step 3: its values belonged to the previous service (billing types, vendor fields, limits)."""
    order.configured_at = None
    order.subscription_name = ""
    order.quantity = None
    order.term = ""
    order.billing_frequency = ""
    order.send_to_backend = order.company.send_to_backend
    order.notify_me = False
    order.billing_start_date = None
    order.is_billable = order.company.is_billable
    order.contract_id = ""
    order.vendor_config = {}
    order.scheduled_for = None


@transaction.atomic
def order_create(*, company: Company, user: User) -> Order:
    """A new Draft for NEW SERVICE on `company` (its uuid is the QuoteId)."""
    _require_visible(user, company)
    if price_list_for(company) is None:
        raise ValidationError(NO_PRICE_LIST, code="no_price_list", params={"company": company.name})
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
def order_service_select(*, order: Order, service, user: User) -> Order:
    """Step 1. Choosing another service resets the configuration, which depended on the old one."""
    locked = _lock_draft(order.pk, user)
    if not services_on_price_list(price_list_for(locked.company)).filter(pk=service.pk).exists():
        raise ValidationError(
            SERVICE_NOT_AVAILABLE, code="not_on_price_list", params={"service": service.name, "company": locked.company.name}
        )
    if locked.service_id != service.pk:
        locked.service = service
        _reset_configuration(locked)
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
def order_configure(
    *,
    order: Order,
    user: User,
    subscription_name: str,
    quantity: int,
    frequency: str,
    term: str,
    send_to_backend: bool,
    notify_me: bool,
    billing_start_date: dt.datetime,
    is_billable: bool,
    contract_id: str,
    vendor_config: dict,
) -> Order:
    """Step 3. Saves the configuration validated by ConfigurationForm for the order's current service."""
    locked = _lock_draft(order.pk, user)
    if locked.service_id != order.service_id:
        # The form was built for the service `order` had; another tab has chosen a different one since.
        raise WizardStepError(STEP_CONFIGURE, [str(SERVICE_CHANGED)])
    locked.subscription_name = subscription_name
    locked.quantity = quantity
    locked.billing_frequency = frequency
    locked.term = term
    locked.send_to_backend = send_to_backend
    locked.notify_me = notify_me
    locked.billing_start_date = billing_start_date
    locked.is_billable = is_billable
    locked.contract_id = contract_id
    locked.vendor_config = vendor_config
    locked.configured_at = timezone.now()
    locked.full_clean()
    locked.save()
    return locked


def order_wizard_problem(order: Order, *, day: dt.date) -> WizardStepError | None:
    """The first step of the draft that is not complete and valid today, or None when it can be scheduled.

    Unlike selectors.wizard_first_unfinished_step (which only asks "was it done?"), this re-validates the
    saved configuration with the configuration form, since prices, billing types or the service's limits
    may have changed since it was saved. It lives here because selectors must not import forms.
    """
    company = order.company
    price_list = price_list_for(company)
    if order.service_id is None:
        return WizardStepError(STEP_SELECT, [str(SERVICE_NOT_SELECTED)])
    if price_list is None or not services_on_price_list(price_list).filter(pk=order.service_id).exists():
        return WizardStepError(
            STEP_SELECT, [str(SERVICE_NOT_AVAILABLE % {"service": order.service.name, "company": company.name})]
        )
    if not terms_accepted(price_list=price_list, service=order.service):
        return WizardStepError(STEP_TERMS, [str(TERMS_NOT_ACCEPTED_YET)])
    if order.configured_at is None:
        return WizardStepError(STEP_CONFIGURE, [str(CONFIGURATION_MISSING)])
    form = ConfigurationForm(ConfigurationForm.data_from_order(order), order=order, day=day)
    if not form.is_valid():
        return WizardStepError(STEP_CONFIGURE, [str(CONFIGURATION_INVALID)])
    return None


def order_schedule(*, order_id: int, user: User, due_at: dt.datetime | None) -> ScheduleResult:
    """Step 4: schedule the provisioning of a draft for `due_at` (UTC; None = as soon as possible).

    One transaction: lock the order, re-validate every step, mark it Submitted with a conditional update,
    and let imports create the Pending job through order_submitted. If the order is no longer a Draft the
    earlier scheduling stands and is returned, so a double click or a second tab creates one job, not two.
    Raises WizardStepError when a step is incomplete and ValidationError({"scheduled_for": ...}) for a bad time.
    """
    with transaction.atomic():
        try:
            order = _lock_draft(order_id, user)
        except OrderNotDraft as already:
            return ScheduleResult(order=already.order, created=False)
        _require_visible(user, order.company)

        now = timezone.now()
        due_at = due_at or now
        if error := schedule_time_error(due_at, now=now):
            raise ValidationError({"scheduled_for": error})
        if problem := order_wizard_problem(order, day=now.date()):
            raise problem

        won = Order.objects.filter(pk=order.pk, status=Order.Status.DRAFT).update(
            status=Order.Status.SUBMITTED, submitted_at=now, scheduled_for=due_at, updated_at=now
        )
        order.refresh_from_db()
        if not won:  # another request scheduled it between our read and our update
            return ScheduleResult(order=order, created=False)

        # imports creates the job and its row here, inside this transaction: if that fails, nothing is kept.
        order_submitted.send(sender=Order, order=order, due_at=due_at, user=user)
        audit_log_record(
            company=order.company,
            actor=user,
            action="order.scheduled",
            message=(
                f"Provisioning of {order.service.name} ({order.quantity} × {order.term}) scheduled for "
                f"{due_at.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} (UTC), QuoteId {order.uuid}."
            ),
        )
        return ScheduleResult(order=order, created=True)
