"""The one place that knows the NEW SERVICE wizard: which steps apply, which are done, where a draft
stands, where Next and Back lead, and whether a draft can be scheduled.

Views and services ask it; it knows no HTTP and no forms. A Wizard reads what it needs once (OrderFacts: the price list, the price in force, the terms
acceptance, the live subscriptions) and validates the saved configuration at most once, so a step
costs a handful of queries however many questions the view asks.
"""

import datetime as dt
from functools import cached_property

from django.utils.translation import gettext_lazy as _

from core.stored_messages import rendered

from .configuration import ConfigurationFields, configuration_data
from .facts import OrderFacts
from .models import Order
from .validation import Precheck, orders_precheck

STEP_SELECT = "select"
STEP_TERMS = "terms"
STEP_CONFIGURE = "configure"
STEP_REVIEW = "review"
WIZARD_STEPS = (STEP_SELECT, STEP_TERMS, STEP_CONFIGURE, STEP_REVIEW)
STEP_LABELS = {
    STEP_SELECT: _("Select service"),
    STEP_TERMS: _("Terms and Conditions"),
    STEP_CONFIGURE: _("Configuration"),
    STEP_REVIEW: _("Order review"),
}


class WizardStepError(Exception):
    """A step of the draft is not (or no longer) complete: go back to `step` and show `messages`."""

    def __init__(self, step: str, messages: list[str]):
        super().__init__(" ".join(messages))
        self.step = step
        self.messages = messages


NO_PRICE_LIST = _("%(company)s has no price list, so no service can be ordered for it yet.")
SERVICE_NOT_AVAILABLE = _("The price list of %(company)s does not offer the service %(service)s.")
SERVICE_NOT_SELECTED = _("Select a service to continue.")
TERMS_NOT_ACCEPTED_YET = _("Accept the Terms and Conditions to continue.")
CONFIGURATION_MISSING = _("Complete the configuration to continue.")
CONFIGURATION_INVALID = _("The configuration is no longer valid. Check the fields marked below.")


class Wizard:
    def __init__(self, order: Order, *, now: dt.datetime):
        self.order = order
        self.now = now
        self.day = now.astimezone(dt.timezone.utc).date()
        self.facts = OrderFacts.load([order], day=self.day)

    # --- Steps ---------------------------------------------------------------------------------

    def applies(self, step: str) -> bool:
        """Terms and Conditions applies to services that have terms; every other step always does."""
        if step == STEP_TERMS:
            return self.order.service is None or self.order.service.terms_id is not None
        return True

    def done(self, step: str) -> bool:
        """Whether a step's part of the draft is complete. Review is never done while it is a draft."""
        order, book = self.order, self.facts.book
        if step == STEP_SELECT:
            return order.service_id is not None and book.offers(order.company_id, order.service)
        if step == STEP_TERMS:
            return order.service_id is not None and book.terms_accepted(order.company_id, order.service)
        if step == STEP_CONFIGURE:
            return order.configured_at is not None
        return False

    def problem_at(self, step: str) -> WizardStepError | None:
        """Why `step` is not done, as the error that leads back to it (None when it is done)."""
        order = self.order
        if step == STEP_SELECT:
            if order.service_id is None:
                return WizardStepError(STEP_SELECT, [str(SERVICE_NOT_SELECTED)])
            if not self.done(STEP_SELECT):
                names = {"service": order.service.name, "company": order.company.name}
                return WizardStepError(STEP_SELECT, [str(SERVICE_NOT_AVAILABLE % names)])
        elif step == STEP_TERMS and not self.done(STEP_TERMS):
            return WizardStepError(STEP_TERMS, [str(TERMS_NOT_ACCEPTED_YET)])
        elif step == STEP_CONFIGURE and not self.done(STEP_CONFIGURE):
            return WizardStepError(STEP_CONFIGURE, [str(CONFIGURATION_MISSING)])
        return None

    @cached_property
    def first_unfinished(self) -> str:
        """Where the draft stands: the first step not done yet (else the review)."""
        for step in WIZARD_STEPS[:-1]:
            if not self.done(step):
                return step
        return STEP_REVIEW

    def previous_before(self, step: str) -> str:
        """Where Back leads: the closest earlier step that applies."""
        earlier = [s for s in WIZARD_STEPS[: WIZARD_STEPS.index(step)] if self.applies(s)]
        return earlier[-1] if earlier else STEP_SELECT

    def reachable(self, step: str) -> bool:
        return WIZARD_STEPS.index(step) <= WIZARD_STEPS.index(self.first_unfinished)

    def progress(self, current: str) -> list[dict]:
        """The progress bar: every step with its label, whether it is current, done, and reachable."""
        reached = WIZARD_STEPS.index(self.first_unfinished)
        return [
            {"key": key, "label": STEP_LABELS[key], "current": key == current, "done": index < reached,
             "reachable": index <= reached}
            for index, key in enumerate(WIZARD_STEPS)
        ]

    # --- Configuration ---------------------------------------------------------------------------

    @cached_property
    def configuration_fields(self) -> ConfigurationFields:
        return ConfigurationFields(self.order, self.facts)

    @cached_property
    def saved_configuration(self) -> tuple[dict, dict[str, list[str]]]:
        """(cleaned values, errors) of the saved configuration, validated once per Wizard (per request)."""
        return self.configuration_fields.clean(configuration_data(self.order))

    # --- Review ----------------------------------------------------------------------------------

    def problem(self) -> WizardStepError | None:
        """The first step that is not complete and valid today, or None when the draft can be scheduled."""
        for step in (STEP_SELECT, STEP_TERMS, STEP_CONFIGURE):
            if error := self.problem_at(step):
                return error
        if self.saved_configuration[1]:
            return WizardStepError(STEP_CONFIGURE, [str(CONFIGURATION_INVALID)])
        return None

    @cached_property
    def _precheck(self) -> Precheck:
        # Once per Wizard (per request): the vendor is asked at most once, outside any transaction (the
        # review's views run none around it).
        return orders_precheck([self.order], self.facts)[0]

    def precheck(self) -> list[str]:
        """The due-time checks, run today: what would fail if the order were provisioned now (in the
        active language): the local checks, then, when they pass, the vendor's (its reasons too)."""
        return [rendered(reason) for reason in self._precheck.reasons]

    def precheck_notes(self) -> list[str]:
        """What the pre-check could not find out now (the vendor could not be asked), in the active
        language: said beside the reasons, not a failure (no "Schedule anyway")."""
        return [rendered(note) for note in self._precheck.notes]

    def summary(self) -> list[tuple[str, str]]:
        """(label, shown value) of the saved configuration; call after problem() found none."""
        return self.configuration_fields.summary(self.saved_configuration[0])

    def price_item(self):
        return self.facts.price_item(self.order)
