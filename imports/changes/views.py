"""The subscription page's change wizard (issue 27, point 4): choose the change → review its price effect
and when it applies → schedule; the "replace?" confirmation when one of the kind is open; cancel of an
open change. Thin: the rules are orders.changes.rules', the writes imports.changes.services'."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import company_breadcrumb
from core.clock import db_now
from core.datetimes import utc_text
from core.stored_messages import rendered
from orders.changes.describe import change_text
from orders.changes.preview import price_effect
from orders.changes.rules import before_values, due_at_for, notices, open_change, scheduling_review
from orders.models import Subscription, SubscriptionChange
from orders.selectors import subscription_for_user

from imports.changes.forms import ChangeForm, ChangeTermsForm
from imports.changes.services import (
    ChangeConflict,
    ChangeNotCancellable,
    ChangeRefused,
    change_cancel,
    change_schedule,
)

CHANGE_SCHEDULED = _("Change scheduled: %(change)s.")
CHANGE_CANCELLED = _("Change cancelled: %(change)s.")
CHOOSE, SCHEDULE = "choose", "schedule"


def _subscription_url(subscription: Subscription) -> str:
    return reverse("orders:subscription_detail", kwargs={"account_id": subscription.account_id})


def _context(request, subscription: Subscription, **extra) -> dict:
    company = subscription.company
    return {
        "subscription": subscription,
        "company": company,
        "breadcrumb": company_breadcrumb(request.user, company) + [(company, True)],
        "subscription_url": _subscription_url(subscription),
        **extra,
    }


def _unsaved(subscription: Subscription, spec, *, now) -> SubscriptionChange:
    """The change as it would be scheduled (for its sentence and the review), not saved."""
    return SubscriptionChange(
        subscription=subscription, kind=spec.kind, when=spec.when, due_at=due_at_for(subscription, spec, now=now) or now,
        before=before_values(subscription), **spec.values(),
    )


@login_required
@require_http_methods(["GET", "POST"])
def change_new(request, account_id):
    """GET: choose the change. POST step=review: the rules, then the review. POST step=schedule: schedule it.
    Terms not accepted yet for what the change is charged for are shown on the review, to accept with it."""
    subscription = subscription_for_user(request.user, account_id=account_id)
    now = db_now()
    if request.method == "GET":
        form = ChangeForm(
            subscription=subscription, time_zone=request.user.time_zone,
            initial={"kind": SubscriptionChange.Kind.QUANTITY, "when": SubscriptionChange.When.AT, "quantity": subscription.quantity},
        )
        return render(request, "imports/changes/choose.html", _context(request, subscription, form=form))
    form = ChangeForm(request.POST, subscription=subscription, time_zone=request.user.time_zone)
    if request.POST.get("step") == CHOOSE:  # the review's Back: the choices as they were
        return render(request, "imports/changes/choose.html", _context(request, subscription, form=form))
    if not form.is_valid():
        return render(request, "imports/changes/choose.html", _context(request, subscription, form=form), status=400)
    spec = form.spec()
    problems, terms_service = scheduling_review(subscription, spec, now=now)
    if problems:
        for problem in problems:
            form.add_error(None, rendered(problem))
        return render(request, "imports/changes/choose.html", _context(request, subscription, form=form), status=400)
    scheduling = request.POST.get("step") == SCHEDULE
    terms_form = ChangeTermsForm(request.POST if scheduling else None) if terms_service else None
    terms_ok = terms_form is None or terms_form.is_valid()
    existing = open_change(subscription, spec.kind)
    if scheduling and terms_ok and (existing is None or form.cleaned_data["replace"]):
        try:
            scheduled = change_schedule(
                subscription_id=subscription.pk, user=request.user, spec=spec, replace_open=form.cleaned_data["replace"], now=now,
                accept_terms=terms_form is not None,
            )
        except PermissionDenied:
            raise Http404 from None
        except ChangeRefused as refused:
            for message in refused.messages:
                form.add_error(None, message)
            return render(request, "imports/changes/choose.html", _context(request, subscription, form=form), status=400)
        except ChangeConflict as conflict:
            existing = conflict.existing  # opened meanwhile (another tab): ask again, showing both
        else:
            messages.success(request, CHANGE_SCHEDULED % {"change": change_text(scheduled.change)})
            for notice in scheduled.notices:
                messages.info(request, notice)
            return redirect(_subscription_url(subscription))
    change = _unsaved(subscription, spec, now=now)
    applies = change.due_at
    context = _context(
        request, subscription, form=form, change=change, change_text=change_text(change), applies=utc_text(applies),
        effect=price_effect(subscription, spec, day=applies.date()), existing=existing,
        existing_text=change_text(existing) if existing else "", notices=[rendered(text) for text in notices(spec)],
        schedule_at_utc=(spec.at.strftime("%Y-%m-%d %H:%M") if spec.at else ""),
        terms_service=terms_service, terms_form=terms_form,
    )
    return render(request, "imports/changes/review.html", context, status=400 if scheduling and not terms_ok else 200)


@login_required
@require_POST
def change_cancel_view(request, account_id, change_id):
    subscription = subscription_for_user(request.user, account_id=account_id)
    change = SubscriptionChange.objects.filter(pk=change_id, subscription=subscription).first()
    if change is None:
        raise Http404
    try:
        change_cancel(change_id=change.pk, user=request.user)
    except PermissionDenied:
        raise Http404 from None
    except ChangeNotCancellable as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, CHANGE_CANCELLED % {"change": change_text(change)})
    return redirect(_subscription_url(subscription))
