"""The NEW SERVICE wizard: Select service → Terms and Conditions → Configuration → Order review.

Views stay thin: reads come from selectors, writes go through orders.services, input through orders.forms.
Each step loads the user's draft (404 for anyone else's), and a step cannot be opened before the steps
it depends on are done: wizard_first_unfinished_step decides where the draft stands.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import company_for_user
from catalog.billing import billing_type_label, cancellation_notice
from catalog.selectors import price_item_on, price_list_for, terms_accepted

from .forms import DATETIME_PLACEHOLDER, ConfigurationForm, ScheduleForm, ServiceChoiceForm, format_utc
from .models import Order
from .pricing import quote_for
from .selectors import (
    SERVICE_QUERY_MAX_LENGTH,
    STEP_CONFIGURE,
    STEP_REVIEW,
    STEP_SELECT,
    STEP_TERMS,
    WIZARD_STEPS,
    draft_for_user,
    drafts_of,
    order_for_user,
    wizard_first_unfinished_step,
    wizard_services,
)
from .services import (
    TERMS_NOT_ACCEPTED_YET,
    OrderNotDraft,
    WizardStepError,
    order_configure,
    order_create,
    order_schedule,
    order_service_select,
    order_terms_accept,
    order_wizard_problem,
)
from .validation import validate_order

STEP_LABELS = {
    STEP_SELECT: _("Select service"),
    STEP_TERMS: _("Terms and Conditions"),
    STEP_CONFIGURE: _("Configuration"),
    STEP_REVIEW: _("Order review"),
}
STEP_URL_NAMES = {step: f"orders:{step}" for step in WIZARD_STEPS}

SCHEDULED = _("Provisioning of %(service)s scheduled for %(due)s (UTC).")
ALREADY_SCHEDULED = _("This order was already scheduled: provisioning of %(service)s for %(due)s (UTC).")
INVOICE_NOTE = _(
    "Your invoice is based on the price of the subscription on the day it is created, "
    "not on the day you schedule the provisioning."
)
NO_PRICE_TODAY = _("The price list has no price for this billing type today.")


def step_url(order: Order, step: str) -> str:
    return reverse(STEP_URL_NAMES[step], kwargs={"order_uuid": order.uuid})


def _already_scheduled(request, order: Order):
    """Where a finished order's pages lead: My imports, with what was scheduled (never an error page)."""
    messages.info(
        request,
        ALREADY_SCHEDULED % {"service": order.service.name if order.service else "", "due": format_utc(order.scheduled_for)},
    )
    return redirect("imports:my_imports")


def wizard_step(step: str):
    """Load the draft for a step view, or send the user where the draft really stands.

    Someone else's draft, an unknown uuid or a company outside the user's subtree: 404.
    The user's own order that has been scheduled meanwhile (back button, second tab): My imports.
    A step later than the first unfinished one: redirect to that one.
    """

    def decorator(view):
        @login_required
        @require_http_methods(["GET", "POST"])
        @wraps(view)
        def wrapper(request, order_uuid):
            try:
                order = draft_for_user(request.user, order_uuid=order_uuid)
            except Http404:
                order = order_for_user(request.user, order_uuid=order_uuid)  # 404 unless it is the user's own
                if order.status == Order.Status.DRAFT:
                    raise
                return _already_scheduled(request, order)
            first_unfinished = wizard_first_unfinished_step(order)
            if WIZARD_STEPS.index(step) > WIZARD_STEPS.index(first_unfinished):
                return redirect(step_url(order, first_unfinished))
            try:
                return view(request, order, first_unfinished)
            except OrderNotDraft as exc:
                return _already_scheduled(request, exc.order)
            except Order.DoesNotExist:  # deleted (e.g. by staff in admin) while the page was open
                raise Http404 from None
            except WizardStepError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                return redirect(step_url(order, exc.step))

        return wrapper

    return decorator


def _wizard_context(order: Order, step: str, first_unfinished: str, **extra) -> dict:
    reachable = WIZARD_STEPS.index(first_unfinished)
    steps = []
    for index, key in enumerate(WIZARD_STEPS):
        steps.append(
            {
                "key": key,
                "label": STEP_LABELS[key],
                "current": key == step,
                "done": index < reachable,
                "url": step_url(order, key) if index <= reachable else "",
            }
        )
    return {"order": order, "company": order.company, "step": step, "steps": steps, **extra}


@login_required
@require_POST
def order_new(request, account_id):
    """NEW SERVICE: a fresh draft for the company, then its first step."""
    company = company_for_user(request.user, account_id=account_id)
    try:
        order = order_create(company=company, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("company_detail", account_id=company.account_id)
    return redirect(step_url(order, STEP_SELECT))


@wizard_step(STEP_SELECT)
def step_select(request, order: Order, first_unfinished: str):
    price_list = price_list_for(order.company)
    offered = wizard_services(price_list)
    # NUL characters dropped: PostgreSQL rejects them in a query parameter (a 500 otherwise).
    query = request.GET.get("q", "").replace("\x00", "").strip()[:SERVICE_QUERY_MAX_LENGTH]

    if request.method == "POST":
        form = ServiceChoiceForm(request.POST, services=offered)
        if form.is_valid():
            try:
                order = order_service_select(order=order, service=form.cleaned_data["service"], user=request.user)
            except ValidationError as error:  # the price list changed between the list and the click
                form.add_error("service", error)
            else:
                next_step = STEP_CONFIGURE if terms_accepted(price_list=price_list, service=order.service) else STEP_TERMS
                return redirect(step_url(order, next_step))
        if form.tampered:
            # Only a hand-made request can name a service that the list did not offer.
            raise Http404
    else:
        form = ServiceChoiceForm(services=offered)

    services = list(wizard_services(price_list, query=query))
    highlighted = None
    highlight_id = request.GET.get("highlight", "")
    if highlight_id.isascii() and highlight_id.isdigit():  # "²".isdigit() is True, but int("²") fails
        highlighted = offered.filter(pk=int(highlight_id)).first()
    if highlighted is None and order.service_id:
        highlighted = offered.filter(pk=order.service_id).first()
    if highlighted is None and services:
        highlighted = services[0]
    checked_id = highlighted.pk if highlighted and (highlight_id or order.service_id) else None

    def highlight_url(service):
        params = {"highlight": service.pk}
        if query:
            params = {"q": query, **params}
        return f"?{urlencode(params)}"

    context = _wizard_context(
        order,
        STEP_SELECT,
        first_unfinished,
        form=form,
        query=query,
        services=[(service, highlight_url(service)) for service in services],
        highlighted=highlighted,
        checked_id=checked_id,
        other_drafts=drafts_of(request.user, company=order.company).exclude(pk=order.pk)[:5],
    )
    return render(request, "orders/wizard/select.html", context)


@wizard_step(STEP_TERMS)
def step_terms(request, order: Order, first_unfinished: str):
    price_list = price_list_for(order.company)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "accept":
            order_terms_accept(order=order, user=request.user)
            return redirect(step_url(order, STEP_TERMS))
        if action == "next":
            if wizard_first_unfinished_step(order) != STEP_TERMS:
                return redirect(step_url(order, STEP_CONFIGURE))
            messages.error(request, TERMS_NOT_ACCEPTED_YET)
            return redirect(step_url(order, STEP_TERMS))
    accepted = terms_accepted(price_list=price_list, service=order.service)
    context = _wizard_context(order, STEP_TERMS, first_unfinished, terms=order.service.terms, accepted=accepted)
    return render(request, "orders/wizard/terms.html", context)


@wizard_step(STEP_CONFIGURE)
def step_configure(request, order: Order, first_unfinished: str):
    now = timezone.now()
    today = now.date()
    if request.method == "POST":
        form = ConfigurationForm(request.POST, order=order, day=today)
        if form.is_valid():
            order_configure(order=order, user=request.user, **form.configuration_values())
            return redirect(step_url(order, STEP_REVIEW))
    elif order.configured_at is not None:
        # Back / resume: show what was saved, validated again so anything no longer valid is marked.
        form = ConfigurationForm(ConfigurationForm.data_from_order(order), order=order, day=today)
        form.is_valid()
    else:
        form = ConfigurationForm(order=order, day=today)
        form.initial = ConfigurationForm.initial_for(order, now=now, billing_types=form.billing_types)
    previous = STEP_TERMS if order.service.terms_id else STEP_SELECT
    context = _wizard_context(order, STEP_CONFIGURE, first_unfinished, form=form, back_url=step_url(order, previous))
    return render(request, "orders/wizard/configure.html", context)


@wizard_step(STEP_REVIEW)
def step_review(request, order: Order, first_unfinished: str):
    now = timezone.now()
    today = now.date()
    if problem := order_wizard_problem(order, day=today):
        raise problem

    if request.method == "POST":
        form = ScheduleForm(request.POST, now=now)
        if form.is_valid():
            try:
                result = order_schedule(order_id=order.pk, user=request.user, due_at=form.due_at())
            except ValidationError as exc:
                # A time that went out of range between the form check and the lock: shown on its field.
                form.add_error(None, exc)
            else:
                if not result.created:
                    return _already_scheduled(request, result.order)
                messages.success(
                    request,
                    SCHEDULED % {"service": result.order.service.name, "due": format_utc(result.order.scheduled_for)},
                )
                return redirect("imports:my_imports")
    else:
        form = ScheduleForm(now=now, initial={"scheduled_for": order.scheduled_for})

    price_list = price_list_for(order.company)
    item = price_item_on(
        price_list=price_list, service=order.service, frequency=order.billing_frequency, term=order.term, day=today
    )
    configuration = ConfigurationForm(ConfigurationForm.data_from_order(order), order=order, day=today)
    configuration.is_valid()  # order_wizard_problem has just checked it
    context = _wizard_context(
        order,
        STEP_REVIEW,
        first_unfinished,
        form=form,
        quote=quote_for(item, order.quantity) if item else None,
        billing_type=billing_type_label(order.billing_frequency, order.term),
        notice=cancellation_notice(order.billing_frequency, order.term),
        warnings=validate_order(order, day=today),
        summary=configuration.summary(),
        invoice_note=INVOICE_NOTE,
        no_price_today=NO_PRICE_TODAY,
        placeholder=DATETIME_PLACEHOLDER,
    )
    return render(request, "orders/wizard/review.html", context)
