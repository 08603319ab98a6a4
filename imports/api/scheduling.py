"""Scheduling a provisioning in one call (the API's POST scheduled-provisionings): the wizard's four
steps through orders.services, then imports.jobs.services.provisioning_schedule, in one transaction.

No rule is written here: the company and service checks are order_create's and
order_service_select's, the terms the wizard's, the fields orders.configuration's, the schedule
time and the re-validation order_submit's. Any refusal raises and rolls everything back (the
draft too), so a refused request leaves nothing behind.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.clock import db_now
from accounts.models import Company, User
from catalog.billing import billing_type_parse
from catalog.models import Service
from orders.services import order_configure, order_create, order_service_select, order_terms_accept
from orders.wizard import STEP_SELECT, STEP_TERMS, TERMS_NOT_ACCEPTED_YET, Wizard, WizardStepError

from imports.models import ImportJob
from imports.jobs.services import provisioning_schedule

UNKNOWN_PRODUCT = _("No service has the product code %(code)s.")
UNKNOWN_FIELD = _("Unknown field.")
# Where a step's refusal is reported: the request field that step reads.
STEP_FIELDS = {STEP_SELECT: "product_code", STEP_TERMS: "accept_terms"}


@dataclass(frozen=True)
class Scheduled:
    job: ImportJob
    # The due-time checks run today (the Order review's pre-check): warnings, not refusals.
    warnings: list[str]


def _step_error(exc: WizardStepError) -> ValidationError:
    return ValidationError({STEP_FIELDS.get(exc.step, "__all__"): exc.messages})


@transaction.atomic
def provisioning_schedule_direct(
    *,
    company: Company,
    user: User,
    product_code: str,
    values: dict,
    accept_terms: bool,
    due_at: dt.datetime | None,
    now: dt.datetime | None = None,
) -> Scheduled:
    """Order `product_code` for `company` with the Configuration `values` (field name → value, as
    orders.configuration names them; left-out fields take the wizard's initial values) and
    schedule it at `due_at` (None: as soon as possible).

    Raises ValidationError keyed by field (product_code, accept_terms, a configuration field,
    scheduled_for), PermissionDenied for a company the user may not see.
    """
    now = now or db_now()
    service = Service.objects.select_related("vendor").filter(code=product_code).first()
    if service is None:
        raise ValidationError({"product_code": [UNKNOWN_PRODUCT % {"code": product_code}]})
    order = order_create(company=company, user=user)
    try:
        order = order_service_select(order=order, service=service, user=user)
    except ValidationError as exc:
        raise ValidationError({"product_code": exc.messages}) from None
    wizard = Wizard(order, now=now)
    if wizard.applies(STEP_TERMS) and not wizard.done(STEP_TERMS):
        if not accept_terms:
            raise ValidationError({"accept_terms": [TERMS_NOT_ACCEPTED_YET]})
        try:
            order_terms_accept(order=order, user=user)
        except WizardStepError as exc:
            raise _step_error(exc) from None
    spec = wizard.configuration_fields
    if unknown := sorted(set(values) - set(spec.fields)):
        raise ValidationError({name: [UNKNOWN_FIELD] for name in unknown})
    if isinstance(values.get("billing_type"), str) and values["billing_type"]:
        # The same reading as a bulk file's Billing Type column: key, label or term (catalog.billing).
        try:
            values = {**values, "billing_type": billing_type_parse(values["billing_type"], spec.billing_types)}
        except ValueError as exc:
            raise ValidationError({"billing_type": [str(exc.args[0])]}) from None
    vendor_initial = {name: spec.fields[name].initial for name in spec.vendor_names}
    cleaned, errors = spec.clean({**spec.initial(now=now), **vendor_initial, **values})
    if errors:
        raise ValidationError(errors)
    order = order_configure(order=order, user=user, **spec.values(cleaned))
    try:
        result = provisioning_schedule(order_id=order.pk, user=user, due_at=due_at)
    except WizardStepError as exc:
        raise _step_error(exc) from None
    job = ImportJob.objects.select_related("created_by", "company").get(rows__order=result.order)
    return Scheduled(job=job, warnings=job.precheck(day=now.date()))
