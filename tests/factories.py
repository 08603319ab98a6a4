"""factory-boy factories shared by every test folder. Companies go through the model's save(),
which maintains the materialized path."""

import datetime as dt
from decimal import Decimal

import factory

from accounts.models import Company, User
from catalog.models import (
    BillingFrequency,
    Category,
    PriceList,
    PriceListAssignment,
    PriceListItem,
    Service,
    Term,
    TermsAndConditions,
    Vendor,
)
from orders.models import Subscription


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n} S.A.C.")
    kind = Company.Kind.CUSTOMER
    # Far from the demo data's ids (100001, 466158, 734772, ...) so factories and seed_demo can mix.
    account_id = factory.Sequence(lambda n: 5_000_000 + n)
    numeric_id = factory.Sequence(lambda n: 6_000_000 + n)
    email = factory.Sequence(lambda n: f"contact{n}@company.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@reseller.example")
    company = factory.SubFactory(CompanyFactory, kind=Company.Kind.RESELLER)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("name",)

    name = "Microsoft"
    integration = "microsoft"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = "Communication & Office"


class TermsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TermsAndConditions

    title = factory.Sequence(lambda n: f"Special product terms {n}")
    text = "SPECIAL PRODUCT TERMS\nBy purchasing these products you agree."


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"(NCE) Service {n}")
    code = factory.Sequence(lambda n: f"100113_Service_{n}")
    vendor = factory.SubFactory(VendorFactory)
    category = factory.SubFactory(CategoryFactory)
    description = "A service."


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"Price list {n}")
    owner = factory.SubFactory(CompanyFactory, kind=Company.Kind.RESELLER)


class PriceListAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListAssignment

    company = factory.SubFactory(CompanyFactory)
    price_list = factory.SubFactory(PriceListFactory)


class PriceListItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    service = factory.SubFactory(ServiceFactory)
    term = Term.P1Y
    billing_frequency = BillingFrequency.MONTHLY
    effective_from = dt.date(2024, 1, 1)
    cost = Decimal("4.8175")
    selling_price = Decimal("6.02175")
    currency = "USD"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    company = factory.SubFactory(CompanyFactory)
    service = factory.SubFactory(ServiceFactory)
    name = factory.LazyAttribute(lambda o: o.service.name)
    account_id = factory.Sequence(lambda n: 300000 + n)
    quantity = 1
    unit_cost = Decimal("1.00000")
    unit_price = Decimal("1.25000")


class TreeCompanyFactory(CompanyFactory):
    """Kept for readability in tree tests; CompanyFactory's ids already stay clear of seed_demo's."""
