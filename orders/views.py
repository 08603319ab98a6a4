"""The NEW SERVICE wizard: Select service → Terms and Conditions → Configuration → Order review.

Views stay thin: where a draft stands and where Next and Back lead is orders.wizard's, writes go
through orders.services, input through orders.forms. Each step loads the user's draft (404 for
anyone else's), and a step cannot be opened before the steps it depends on are done. The review's
"Schedule provisioning" button posts to imports (imports.my_imports.views.schedule_provisioning), which owns
the job it creates.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.clock import db_now
from core.numbers import parse_whole
from accounts.selectors import company_for_user
from catalog.billing import billing_type_label, cancellation_notice

from .configuration import configuration_data
from core.datetimes import DATETIME_PLACEHOLDER, utc_text
from accounts.users.services import user_time_zone_remember
from .forms import (
    PRECHECK_CONFIRM,
    PRECHECK_CONFIRM_TITLE,
    ConfigurationForm,
    ScheduleForm,
    ServiceChoiceForm,
    precheck_fingerprint,
)
from .models import Order
from .pricing import quote_for
from .selectors import (
    SERVICE_QUERY_MAX_LENGTH,
    draft_for_user,
    drafts_of,
    order_for_user,
    wizard_services,
)
from .services import (
    ORDER_DISCARDED,
    OrderNotDraft,
    order_configure,
    order_create,
    order_discard,
    order_service_select,
    order_terms_accept,
)
from .wizard import (
    STEP_CONFIGURE,
    STEP_REVIEW,
    STEP_SELECT,
    STEP_TERMS,
    TERMS_NOT_ACCEPTED_YET,
    WIZARD_STEPS,
    Wizard,
    WizardStepError,
)

STEP_URL_NAMES = {step: f"orders:{step}" for step in WIZARD_STEPS}

# %(due)s is core.datetimes.utc_text: "2024-08-01 10:00 UTC".
SCHEDULED = _("Provisioning of %(service)s scheduled for %(due)s.")
ALREADY_SCHEDULED = _("This order was already scheduled: provisioning of %(service)s for %(due)s.")
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
        ALREADY_SCHEDULED % {"service": order.service.name if order.service else "", "due": utc_text(order.scheduled_for)},
    )
    return redirect("imports:my_imports")


def wizard_step(step: str, *, methods=("GET", "POST")):
    """Load the draft and its Wizard for a step view, or send the user where the draft really stands.

    Someone else's draft, an unknown uuid or a company outside the user's subtree: 404.
    The user's own order that has been scheduled meanwhile (back button, second tab): My imports.
    A step later than the first unfinished one: redirect to that one.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, order_uuid):
            try:
                order = draft_for_user(request.user, order_uuid=order_uuid)
            except Http404:
                order = order_for_user(request.user, order_uuid=order_uuid)  # 404 unless it is the user's own
                if order.is_editable:
                    raise
                return _already_scheduled(request, order)
            if request.method not in methods:  # after the lookup: someone else's draft is 404 whatever the method
                return HttpResponseNotAllowed(methods)
            wizard = Wizard(order, now=db_now())
            if not wizard.reachable(step):
                return redirect(step_url(order, wizard.first_unfinished))
            try:
                return view(request, wizard)
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


def _wizard_context(wizard: Wizard, step: str, **extra) -> dict:
    order = wizard.order
    steps = [
        {**item, "url": step_url(order, item["key"]) if item["reachable"] else ""} for item in wizard.progress(step)
    ]
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


def _safe_next(request, fallback: str) -> str:
    """Where Discard returns to: the page it was opened from (a path on this site), else `fallback`."""
    target = (request.POST if request.method == "POST" else request.GET).get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def order_discard_view(request, order_uuid):
    """GET: the confirm question as a page (what Discard opens when JavaScript is off).
    POST: delete the user's unfinished order. Someone else's order, or an unknown one: 404."""
    order = order_for_user(request.user, order_uuid=order_uuid)
    if not order.is_editable:
        return _already_scheduled(request, order)
    company_url = reverse("company_detail", kwargs={"account_id": order.company.account_id})
    back = _safe_next(request, company_url)
    if back == step_url(order, STEP_SELECT) or str(order.uuid) in back:
        back = company_url  # the page of the discarded order itself would be a 404
    if request.method == "POST":
        try:
            order_discard(order=order, user=request.user)
        except OrderNotDraft as exc:
            return _already_scheduled(request, exc.order)
        except Order.DoesNotExist:  # discarded in another tab meanwhile: what was asked is done
            pass
        messages.success(request, ORDER_DISCARDED)
        return redirect(back)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "orders/discard_confirm.html", {"order": order, "company": order.company, "back": back})


def _where_next(order: Order) -> str:
    """After a step was saved: the first unfinished step of the draft as it is now."""
    return step_url(order, Wizard(order, now=db_now()).first_unfinished)


@wizard_step(STEP_SELECT)
def step_select(request, wizard: Wizard):
    order = wizard.order
    price_list = wizard.facts.book.price_list(order.company_id)
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
                return redirect(_where_next(order))
        if form.tampered:
            # Only a hand-made request can name a service that the list did not offer.
            raise Http404
    else:
        form = ServiceChoiceForm(services=offered)

    services = list(wizard_services(price_list, query=query))
    # The highlighted service is the selected one (its radio is checked, so Next goes on): the one
    # asked for by Details (?highlight=), else the draft's service. Nothing else is ever pre-selected:
    # Next on an untouched list must not order whatever happens to come first (issue 24), it asks
    # for a choice (SERVICE_REQUIRED). Only a service shown in the list can be highlighted, or the
    # panel would describe a radio that is not there.
    shown = {service.pk: service for service in services}
    highlight_id = request.GET.get("highlight", "")
    highlighted = None
    if (number := parse_whole(highlight_id)) is not None:
        highlighted = shown.get(number)
    if highlighted is None and order.service_id:
        highlighted = shown.get(order.service_id)
    if request.method == "POST" and form.is_bound and form.data.get("service"):
        posted = form.data.get("service")  # a refused POST keeps what the user picked
        if (number := parse_whole(posted)) in shown:
            highlighted = shown[number]
    checked_id = highlighted.pk if highlighted else None
    if request.method == "GET" and request.GET.get("partial") == "detail":
        # The script on the page swaps the detail panel in place when a radio is picked.
        return render(request, "orders/wizard/_service_detail.html", {"highlighted": highlighted})

    def highlight_url(service):
        params = {"highlight": service.pk}
        if query:
            params = {"q": query, **params}
        return f"?{urlencode(params)}"

    context = _wizard_context(
        wizard,
        STEP_SELECT,
        form=form,
        query=query,
        services=[(service, highlight_url(service)) for service in services],
        highlighted=highlighted,
        checked_id=checked_id,
        other_drafts=drafts_of(request.user, company=order.company).exclude(pk=order.pk)[:5],
    )
    return render(request, "orders/wizard/select.html", context)


@wizard_step(STEP_TERMS)
def step_terms(request, wizard: Wizard):
    order = wizard.order
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "accept":
            order_terms_accept(order=order, user=request.user)
            return redirect(step_url(order, STEP_TERMS))
        if action == "next":
            if wizard.done(STEP_TERMS):
                return redirect(step_url(order, STEP_CONFIGURE))
            messages.error(request, TERMS_NOT_ACCEPTED_YET)
            return redirect(step_url(order, STEP_TERMS))
    context = _wizard_context(
        wizard, STEP_TERMS, terms=order.service.terms, accepted=wizard.done(STEP_TERMS),
        back_url=step_url(order, wizard.previous_before(STEP_TERMS)),
    )
    return render(request, "orders/wizard/terms.html", context)


@wizard_step(STEP_CONFIGURE)
def step_configure(request, wizard: Wizard):
    order = wizard.order
    if request.method == "POST":
        form = ConfigurationForm(request.POST, spec=wizard.configuration_fields, time_zone=request.user.time_zone)
        if form.is_valid():
            user_time_zone_remember(user=request.user, time_zone=form.chosen_zone)
            order_configure(order=order, user=request.user, **form.configuration_values())
            return redirect(step_url(order, STEP_REVIEW))
    elif order.configured_at is not None:
        # Back / resume: show what was saved, validated again so anything no longer valid is marked.
        form = ConfigurationForm(
            configuration_data(order), spec=wizard.configuration_fields, time_zone=request.user.time_zone, saved=True
        )
        form.is_valid()
    else:
        form = ConfigurationForm(spec=wizard.configuration_fields, time_zone=request.user.time_zone)
        form.initial = wizard.configuration_fields.initial(now=wizard.now)
    context = _wizard_context(
        wizard, STEP_CONFIGURE, form=form, back_url=step_url(order, wizard.previous_before(STEP_CONFIGURE))
    )
    return render(request, "orders/wizard/configure.html", context)


@wizard_step(STEP_REVIEW, methods=("GET",))
def step_review(request, wizard: Wizard):
    if problem := wizard.problem():
        raise problem
    form = ScheduleForm(now=wizard.now, initial={"scheduled_for": wizard.order.scheduled_for}, time_zone=request.user.time_zone)
    return review_response(request, wizard, form)


def review_response(request, wizard: Wizard, form: ScheduleForm, *, warnings: list[str] | None = None,
                    confirm_failing: bool = False):
    """The Order review page for a draft that wizard.problem() found complete, with `form` (the
    Schedule provisioning field, possibly with errors from imports.my_imports.views.schedule_provisioning).

    `warnings`: the pre-check's reasons when the caller has run it already. `confirm_failing`: the
    reseller asked to schedule an order those checks say would fail; the page names the reasons
    and offers "Schedule anyway" (a plain form post: it works without JavaScript)."""
    order = wizard.order
    item = wizard.price_item()
    if warnings is None:
        warnings = wizard.precheck()
    context = _wizard_context(
        wizard,
        STEP_REVIEW,
        form=form,
        quote=quote_for(item, order.quantity) if item else None,
        billing_type=billing_type_label(order.billing_frequency, order.term),
        notice=cancellation_notice(order.billing_frequency, order.term),
        warnings=warnings,
        precheck_notes=wizard.precheck_notes(),
        confirm_failing=bool(confirm_failing and warnings),
        precheck_fingerprint=precheck_fingerprint(warnings) if warnings else "",
        confirm_title=PRECHECK_CONFIRM_TITLE,
        confirm_text=PRECHECK_CONFIRM,
        summary=wizard.summary(),
        invoice_note=INVOICE_NOTE,
        no_price_today=NO_PRICE_TODAY,
        placeholder=DATETIME_PLACEHOLDER,
        back_url=step_url(order, wizard.previous_before(STEP_REVIEW)),
    )
    return render(request, "orders/wizard/review.html", context)
