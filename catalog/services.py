"""Writes on the catalog."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User
from accounts.services import audit_log_record
from core.stored_messages import stored

from .models import PriceList, PriceListAssignment, Service, TermsAcceptance


# Audit entries are stored as a message and its parameters (core.stored_messages), shown in the reader's language.
AUDIT_TERMS_ACCEPTED = _("Terms and conditions '%(terms)s' accepted for %(service)s on price list %(price_list)s.")


@transaction.atomic
def terms_accept(*, price_list: PriceList, service: Service, user: User | None, company: Company) -> TermsAcceptance:
    """Accept the service's current terms for the whole price list (idempotent) and audit it."""
    if service.terms_id is None:
        raise ValueError("This service has no terms to accept.")
    existing = TermsAcceptance.objects.filter(price_list=price_list, service=service, terms_id=service.terms_id).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            acceptance = TermsAcceptance.objects.create(
                price_list=price_list, service=service, terms_id=service.terms_id, accepted_by=user
            )
    except IntegrityError:  # accepted at the same moment in another tab
        return TermsAcceptance.objects.get(price_list=price_list, service=service, terms_id=service.terms_id)
    audit_log_record(
        company=company,
        actor=user,
        action="terms.accepted",
        message=stored(AUDIT_TERMS_ACCEPTED, terms=str(service.terms), service=service.name, price_list=price_list.name),
    )
    return acceptance


def price_list_inherit(*, company: Company, cache: dict | None = None) -> PriceListAssignment | None:
    """A new customer buys from its parent's price list: the list a customer parent buys from, or
    the first list a reseller parent owns. Nothing when the parent has neither. `cache` (parent id →
    price list) lets a bulk import read each parent's list once."""
    parent = company.parent
    if parent is None:
        return None
    cache = {} if cache is None else cache
    if parent.pk not in cache:
        cache[parent.pk] = (
            PriceList.objects.filter(assignments__company=parent).first()
            or PriceList.objects.filter(owner=parent).order_by("pk").first()
        )
    price_list = cache[parent.pk]
    if price_list is None:
        return None
    return PriceListAssignment.objects.create(company=company, price_list=price_list)
