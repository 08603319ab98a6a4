"""The manual's demo scenario as plain data and functions: the `seed_demo` command, the benchmarks
and the tests all build it from here.

It lives in icp, the project package, because it writes companies (accounts), the catalog and
subscriptions (orders): only the top of the dependency graph may import every app. Building is
idempotent: what exists is left exactly as it is (an operator's later edits survive a reseed).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone

from accounts.models import Company, User
from catalog.models import (
    BillingFrequency,
    Category,
    PriceList,
    PriceListAssignment,
    PriceListItem,
    Service,
    Tag,
    Term,
    TermsAcceptance,
    TermsAndConditions,
    Vendor,
)
from orders.models import Subscription
from orders.terms import CANCELLATION_WINDOW, term_end, term_fields

DEFAULT_PASSWORD = "icp-demo-2024"
# The demo users, in the order the seed_demo command lists them.
DEMO_LOGINS = ("admin@abbiebox.com", "admin@andescloud.example", "staff@intcomex.example")
UTC = dt.timezone.utc
# One history, as My imports shows it (the manual's 27/10/23 imports): the companies, users and terms
# exist from WORLD_FROM, ERITECH PERU S.A.'s subscriptions from STRUCTURE_CREATED_AT, the two finished
# bulk imports ran on DEMO_IMPORTS_AT. Prices are in force from PRICES_FROM, before all of them, so
# every subscription was priced on its creation day. Nothing seeded is dated at the time of the seed.
WORLD_FROM = dt.datetime(2023, 9, 1, 12, 0, tzinfo=UTC)
PRICES_FROM = dt.date(2023, 1, 1)
STRUCTURE_CREATED_AT = dt.datetime(2023, 10, 2, 10, 0, tzinfo=UTC)
ERITECH_TENANT_ID = "e0d72b05-fb92-4d65-9424-7b58ea99d5d3"
# ERITECH's subscriptions "at Microsoft" (issue 27): the sandbox's seed (sandbox/demo_customers.json) holds them
# with these vendor ids, placed in their term relative to the day of the seed as these are:
# (account id, service, quantity, vendor subscription id, where its term stands). Business Basic renews in 3
# days (mid-term: a reduction waits for the renewal); Business Standard was bought 2 days ago (inside its
# 7-day cancellation window).
DEMO_VENDOR_SUBSCRIPTIONS = (
    (493797, "100113_Micros365BusineBasic_14991", 1, "5b2f0c8e-7d1a-4c3e-9f6b-2a8d4e1c7b01", {"renewsInDays": 3}),
    (493798, "100113_Micros365BusineStand_20553", 2, "5b2f0c8e-7d1a-4c3e-9f6b-2a8d4e1c7b02", {"startedDaysAgo": 2}),
)

NCE_TERMS_TEXT = """SPECIAL PRODUCT TERMS
Microsoft New Commerce Experience
(English Version - Below is the Spanish Version)

In addition to any other End User License Agreement, Terms of Use, Privacy Policy, and/or policies issued by Microsoft and/or Software Brokers of America, Inc. ("Intcomex"), the following additional Special Product Terms apply to the Microsoft New Commerce Experience ("NCE") for licensed-based subscriptions (e.g., Office 365, Dynamics 365, Microsoft 365, etc.) (the "License(s)" and/or "Subscription(s)"). In view of the foregoing, these Special Product Terms, provided by Microsoft, will govern the relationship between Microsoft, the resellers (the "Intcomex Reseller"), and the end users (the "End Users") concerning the Microsoft products. Any term not defined herein shall have the definition set forth on the Intcomex Cloud Platform Agreement.

It is the Intcomex Reseller's responsibility to carefully review this document and understand the new functionalities the NCE offers, as well as the new options and policies related to the management, terms, and payment of the Subscription.

This document summarizes some of the key changes to your subscription under the NCE. By purchasing these products, the Intcomex Reseller hereby agrees to these Special Product Terms.

Special prices for Microsoft 365 Business Basic for Mexico:

The special prices for the Microsoft 365 Business Basic service for México only apply as long as the end customer's tenant is registered in México, otherwise the prices with a 20% increase will be applied automatically.

Subscription Term:

- 1-month Subscription (Monthly Commitment)
  - Intcomex Reseller may change the number of Licenses month to month
  - Pricing is 20% higher than the 12-month Subscription
  - Price protection for only 1 month (starting when Intcomex Reseller subscribes to the service)
- 12-month Subscription (Annual Commitment)
  - 7-day cancellation window from the time of provisioning, with pro-rated credit
  - Billed monthly or annually; price protected for 12 months
  - Subscriptions auto-renew by default
"""

# The Spanish version the English text announces ("Below is the Spanish Version"): shown below it.
NCE_TERMS_TEXT_ES = """TÉRMINOS ESPECIALES DEL PRODUCTO
Microsoft New Commerce Experience
(Versión en español)

Además de cualquier otro Contrato de Licencia de Usuario Final, Términos de Uso, Política de Privacidad y/o políticas emitidas por Microsoft y/o Software Brokers of America, Inc. ("Intcomex"), los siguientes Términos Especiales del Producto adicionales se aplican a Microsoft New Commerce Experience ("NCE") para las suscripciones basadas en licencias (por ejemplo, Office 365, Dynamics 365, Microsoft 365, etc.) (la(s) "Licencia(s)" y/o "Suscripción(es)"). En vista de lo anterior, estos Términos Especiales del Producto, proporcionados por Microsoft, regirán la relación entre Microsoft, los revendedores (el "Revendedor de Intcomex") y los usuarios finales (los "Usuarios Finales") en relación con los productos de Microsoft. Cualquier término no definido en este documento tendrá la definición establecida en el Contrato de Intcomex Cloud Platform.

Es responsabilidad del Revendedor de Intcomex revisar cuidadosamente este documento y comprender las nuevas funcionalidades que ofrece NCE, así como las nuevas opciones y políticas relacionadas con la gestión, los plazos y el pago de la Suscripción.

Este documento resume algunos de los cambios clave de su suscripción bajo NCE. Al comprar estos productos, el Revendedor de Intcomex acepta estos Términos Especiales del Producto.

Precios especiales de Microsoft 365 Business Basic para México:

Los precios especiales del servicio Microsoft 365 Business Basic para México solo se aplican mientras el tenant del cliente final esté registrado en México; de lo contrario, se aplicarán automáticamente los precios con un incremento del 20%.

Plazo de la suscripción:

- Suscripción de 1 mes (compromiso mensual)
  - El Revendedor de Intcomex puede cambiar el número de Licencias de un mes a otro
  - El precio es un 20% más alto que el de la Suscripción de 12 meses
  - Protección de precio solo por 1 mes (desde que el Revendedor de Intcomex se suscribe al servicio)
- Suscripción de 12 meses (compromiso anual)
  - Ventana de cancelación de 7 días desde el aprovisionamiento, con crédito prorrateado
  - Facturación mensual o anual; precio protegido durante 12 meses
  - Las suscripciones se renuevan automáticamente de forma predeterminada
"""

# (name, code, description, tags, once per account, needs a tenant, creates a tenant, P1Y monthly (cost, price))
SERVICES = [
    (
        "(NCE) Microsoft 365 Business Basic",
        "100113_Micros365BusineBasic_14991",
        "Web and mobile versions of Microsoft 365 apps, chat, call and meet with Teams, 1 TB of cloud storage "
        "per user and business-class e-mail.",
        ["Base subscription", "NCE", "PROMO", "E-Mail", "Cloud Storage", "File Management", "Audio-Video Conferencing"],
        False, True, False, ("4.8175", "6.02175"),
    ),
    (
        "(NCE) Exchange Online Kiosk",
        "100113_ExchanOnlineKiosk_61893",
        "Cloud e-mail for frontline workers: a 2 GB mailbox with Outlook on the web.",
        ["NCE", "E-Mail"],
        False, True, False, ("1.6000", "2.0000"),
    ),
    (
        "(NCE) Microsoft 365 Business Standard",
        "100113_Micros365BusineStand_20553",
        "Desktop versions of Microsoft 365 apps with premium features, webinars and collaboration tools.",
        ["Base subscription", "NCE", "E-Mail", "Cloud Storage", "Audio-Video Conferencing"],
        False, True, False, ("10.0000", "12.5000"),
    ),
    (
        "(NCE) Microsoft 365 Business Premium",
        "100113_Micros365BusinePremi_20554",
        "Everything in Business Standard plus advanced security, access and data control.",
        ["Base subscription", "NCE", "E-Mail", "Cloud Storage", "Security"],
        False, True, False, ("17.6000", "22.0000"),
    ),
    (
        "Microsoft Organization tenant",
        "100113_MicrosOrganiTenant_10001",
        "The Microsoft Entra tenant (<domain>.onmicrosoft.com) that Microsoft 365 subscriptions belong to.",
        ["Base subscription"],
        True, False, True, ("0.0000", "0.0000"),
    ),
    (
        "Azure Plan",
        "100113_AzurePlan_10002",
        "Pay-as-you-go access to Azure services, billed on consumption.",
        ["Cloud Storage"],
        False, False, False, ("0.0000", "0.0000"),
    ),
]
BASIC, KIOSK, STANDARD, PREMIUM, TENANT, AZURE = (s[1] for s in SERVICES)
# Services whose terms ABBIE BOX has already accepted: the wizard skips the terms step for them.
ABBIE_ACCEPTED = {KIOSK, STANDARD}


@dataclass
class DemoRefs:
    intcomex: Company
    abbiebox: Company
    eritech: Company
    norte: Company
    pacifico: Company
    andes: Company
    cusco: Company
    admin_abbie: User
    admin_andes: User
    staff: User
    abbie_price_list: PriceList

    @classmethod
    def load(cls) -> "DemoRefs":
        c = {company.name: company for company in Company.objects.all()}
        u = {user.email: user for user in User.objects.all()}
        return cls(
            intcomex=c["INTCOMEX PERU S.A.C."],
            abbiebox=c["ABBIE BOX S.A.C."],
            eritech=c["ERITECH PERU S.A."],
            norte=c["NORTE DIGITAL S.A.C."],
            pacifico=c["PACIFICO RETAIL S.A.C."],
            andes=c["ANDES CLOUD S.A.C."],
            cusco=c["CUSCO TECH E.I.R.L."],
            admin_abbie=u["admin@abbiebox.com"],
            admin_andes=u["admin@andescloud.example"],
            staff=u["staff@intcomex.example"],
            abbie_price_list=PriceList.objects.get(name="ABBIE BOX - Price list"),
        )

    def service(self, code: str) -> Service:
        return Service.objects.get(code=code)


def seed_demo(*, password: str = DEFAULT_PASSWORD) -> int:
    """Build the scenario in one transaction; returns how many objects were created (0 on a reseed)."""
    builder = _Builder()
    with transaction.atomic():
        builder.build(password)
    return builder.created


class _Builder:
    """Creates what is missing and counts it, so a reseed can say that nothing changed."""

    def __init__(self):
        self.created = 0

    def ensure(self, model, lookup: dict, defaults: dict | None = None, *, dated: dt.datetime | None = None,
               date_field: str = "created_at"):
        """get_or_create; a new row's `date_field` (an auto_now_add field, which ignores a value
        given to create) is then set to `dated`, its place in the demo's history."""
        obj, created = model.objects.get_or_create(**lookup, defaults=defaults or {})
        self.created += created
        if created and dated is not None:
            model.objects.filter(pk=obj.pk).update(**{date_field: dated})
            setattr(obj, date_field, dated)
        return obj

    def company(self, name, parent, kind, account_id, numeric_id, **fields):
        return self.ensure(
            Company,
            {"account_id": account_id},
            {"name": name, "parent": parent, "kind": kind, "numeric_id": numeric_id, **fields},
            dated=WORLD_FROM,
        )

    def user(self, email, company, password, **flags):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password, company=company, date_joined=WORLD_FROM, **flags)
            self.created += 1
        return user

    def build(self, password):
        intcomex = self.company(
            "INTCOMEX PERU S.A.C.", None, Company.Kind.DISTRIBUTOR, 100001, 700001,
            domain="intcomex.example", city="Lima", country="Peru", marketplace="INTCOMEX - Marketplace",
        )
        abbiebox = self.company(
            "ABBIE BOX S.A.C.", intcomex, Company.Kind.RESELLER, 410002, 734772,
            domain="abbiebox.com", city="Surquillo", country="Peru", zip_code="15494",
            address="Ca. Los Negocios 448", marketplace="ABBIE BOX - Marketplace", email="billing@abbiebox.com",
        )
        eritech = self.company(
            "ERITECH PERU S.A.", abbiebox, Company.Kind.CUSTOMER, 466158, 793131,
            domain="eritechperu.com", language="English", marketplace="ABBIE BOX - Marketplace",
            send_to_backend=True, create_user_id_service=False,
            contract_end_date=dt.datetime(2024, 4, 2, 0, 47, tzinfo=UTC),
            address="Av. Las Cascadas 254", city="Lima", country="Peru", zip_code="15494",
            email="contacto@eritechperu.com", contact_phone="+51 900 000 101", contact_person="Lucía Fernández",
            billing_start_date=dt.datetime(2024, 4, 1, 23, 40, 47, tzinfo=UTC), is_billable=True, currency="USD",
        )
        norte = self.company(
            "NORTE DIGITAL S.A.C.", abbiebox, Company.Kind.CUSTOMER, 466201, 793202,
            domain="nortedigital.example", marketplace="ABBIE BOX - Marketplace", city="Trujillo", country="Peru",
            email="ti@nortedigital.example", contact_person="Mateo Quispe", contact_phone="+51 900 000 202",
            billing_start_date=dt.datetime(2024, 5, 6, 15, 0, tzinfo=UTC),
        )
        pacifico = self.company(
            "PACIFICO RETAIL S.A.C.", abbiebox, Company.Kind.CUSTOMER, 466305, 793303,
            status=Company.Status.SUSPENDED, domain="pacificoretail.example", marketplace="ABBIE BOX - Marketplace",
            city="Callao", country="Peru", email="sistemas@pacificoretail.example", contact_person="Valeria Rojas",
        )
        andes = self.company(
            "ANDES CLOUD S.A.C.", intcomex, Company.Kind.RESELLER, 420010, 735010,
            domain="andescloud.example", city="Arequipa", country="Peru", marketplace="ANDES CLOUD - Marketplace",
        )
        cusco = self.company(
            "CUSCO TECH E.I.R.L.", andes, Company.Kind.CUSTOMER, 470011, 794011,
            domain="cuscotech.example", city="Cusco", country="Peru", marketplace="ANDES CLOUD - Marketplace",
            email="admin@cuscotech.example", contact_person="Diego Huamán",
        )

        self.user(
            "admin@abbiebox.com", abbiebox, password, first_name="Carla", last_name="Mendoza",
            # CONTACT INFORMATION of the manual's user page.
            address="Ca. Los Negocios 448", city="Surquillo", country="Peru", zip_code="15494",
        )
        self.user("admin@andescloud.example", andes, password, first_name="Jorge", last_name="Paredes")
        self.user("staff@intcomex.example", intcomex, password, is_staff=True, is_superuser=True, first_name="Ana", last_name="Torres")

        microsoft = self.ensure(Vendor, {"name": "Microsoft"}, {"integration": "microsoft"})
        office = self.ensure(Category, {"name": "Communication & Office"})
        infra = self.ensure(Category, {"name": "Infrastructure"})
        terms = self.ensure(
            TermsAndConditions,
            {"title": "Microsoft New Commerce Experience - Special Product Terms", "version": 1},
            {"text": NCE_TERMS_TEXT, "text_es": NCE_TERMS_TEXT_ES},
            dated=WORLD_FROM,
        )
        if not terms.text_es:
            # Seeded before the terms had a Spanish version: add it (nothing an operator wrote is replaced).
            self.created += TermsAndConditions.objects.filter(pk=terms.pk, text_es="").update(text_es=NCE_TERMS_TEXT_ES)

        services = {}
        for name, code, description, tags, once, _needs_tenant, makes_tenant, _price in SERVICES:
            service = Service.objects.filter(code=code).first()
            if service is None:
                service = Service.objects.create(
                    name=name, code=code, description=description, vendor=microsoft,
                    category=infra if code in (TENANT, AZURE) else office,
                    once_per_account=once, terms=terms if name.startswith("(NCE)") else None,
                    integration_options={"creates_tenant": True} if makes_tenant else {},
                )
                service.tags.set([self.ensure(Tag, {"name": tag}) for tag in tags])
                self.created += 1
            services[code] = service
        tenant_service = services[TENANT]
        for code in (STANDARD, PREMIUM):
            if not services[code].dependencies.filter(pk=tenant_service.pk).exists():
                services[code].dependencies.add(tenant_service)
                self.created += 1
        # The catalog's upgrade paths (issue 27): Business Basic → Standard → Premium.
        for source, target in ((BASIC, STANDARD), (BASIC, PREMIUM), (STANDARD, PREMIUM)):
            if not services[source].upgrades_to.filter(pk=services[target].pk).exists():
                services[source].upgrades_to.add(services[target])
                self.created += 1

        abbie_list = self.ensure(PriceList, {"name": "ABBIE BOX - Price list"}, {"owner": abbiebox})
        andes_list = self.ensure(PriceList, {"name": "ANDES CLOUD - Price list"}, {"owner": andes})
        for price_list, codes in ((abbie_list, list(services)), (andes_list, [BASIC, TENANT, AZURE])):
            for code in codes:
                cost, price = (Decimal(v) for v in SERVICES[[s[1] for s in SERVICES].index(code)][7])
                terms_and_prices = [(Term.P1Y, cost, price), (Term.P1M, cost * Decimal("1.2"), price * Decimal("1.2"))]
                if code in (TENANT, AZURE):
                    terms_and_prices = [(Term.P1M, cost, price)]
                for term, item_cost, item_price in terms_and_prices:
                    self.ensure(
                        PriceListItem,
                        {"price_list": price_list, "service": services[code], "term": term,
                         "billing_frequency": BillingFrequency.MONTHLY, "effective_from": PRICES_FROM},
                        {"cost": item_cost, "selling_price": item_price, "currency": "USD"},
                    )
        for company in (eritech, norte, pacifico):
            self.ensure(PriceListAssignment, {"company": company}, {"price_list": abbie_list})
        self.ensure(PriceListAssignment, {"company": cusco}, {"price_list": andes_list})
        for code in ABBIE_ACCEPTED:
            self.ensure(TermsAcceptance, {"price_list": abbie_list, "service": services[code], "terms": terms},
                        dated=WORLD_FROM, date_field="accepted_at")

        created = STRUCTURE_CREATED_AT
        self.ensure(
            Subscription, {"account_id": 493796},
            {"company": eritech, "service": services[KIOSK], "name": "(NCE) Exchange Online Kiosk", "quantity": 1,
             "term": Term.P1Y, "billing_frequency": BillingFrequency.MONTHLY,
             "unit_cost": Decimal("1.6000"), "unit_price": Decimal("2.0000")},
            dated=created,
        )
        self.ensure(
            Subscription, {"account_id": 466160},
            {"company": eritech, "service": services[AZURE], "name": "Azure Plan (Eritech Perú)", "quantity": 1,
             "unit_cost": Decimal("0"), "unit_price": Decimal("0")},
            dated=created,
        )
        self.ensure(
            Subscription, {"account_id": 466159},
            {"company": eritech, "service": services[TENANT], "quantity": 1,
             "name": "Microsoft Organization tenant (eritechperu.onmicrosoft.com)",
             "unit_cost": Decimal("0"), "unit_price": Decimal("0"),
             "attributes": {"tenant_id": ERITECH_TENANT_ID, "domain": "eritechperu.onmicrosoft.com"},
             "tenant_domain": "eritechperu.onmicrosoft.com"},
            dated=created,
        )
        self.vendor_subscriptions(eritech, services)
        terms_brought_to_now(now=timezone.now())

    def vendor_subscriptions(self, eritech, services):
        """ERITECH's licences provisioned through Microsoft (DEMO_VENDOR_SUBSCRIPTIONS), their terms placed
        relative to today as the sandbox's seed places them (the first sync aligns the two to the minute)."""
        now = timezone.now()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for account_id, code, quantity, vendor_id, where in DEMO_VENDOR_SUBSCRIPTIONS:
            if "renewsInDays" in where:
                ends = today + dt.timedelta(days=where["renewsInDays"])
                purchased = start = ends.replace(year=ends.year - 1)
            else:
                purchased = now - dt.timedelta(days=where["startedDaysAgo"])
                start = purchased.replace(hour=0, minute=0, second=0, microsecond=0)
            cost, price = (Decimal(v) for v in SERVICES[[s[1] for s in SERVICES].index(code)][7])
            self.ensure(
                Subscription, {"account_id": account_id},
                {"company": eritech, "service": services[code], "name": services[code].name, "quantity": quantity,
                 "term": Term.P1Y, "billing_frequency": BillingFrequency.MONTHLY, "unit_cost": cost, "unit_price": price,
                 # The tenant it was bought for, as a licence the vendor provisions holds it.
                 "attributes": {"tenant_id": ERITECH_TENANT_ID}, "vendor_subscription_id": vendor_id,
                 "vendor_status": "active", "term_start": start, "term_end": term_end(start, Term.P1Y),
                 "cancellation_window_ends_at": purchased + CANCELLATION_WINDOW, "auto_renew": True},
                dated=purchased,
            )


def terms_brought_to_now(*, now: dt.datetime) -> int:
    """The demo's local subscriptions with a term are in their current term, as if the engine had renewed them
    on time since their creation (orders.sync renews them from now on); returns how many were moved."""
    moved = 0
    due = Subscription.objects.live().filter(vendor_subscription_id="").exclude(term="")
    for subscription in due.filter(models.Q(term_start__isnull=True) | models.Q(term_end__lte=now)):
        fields = term_fields(subscription.term_start or subscription.created_at, subscription.term)
        while fields["term_end"] is not None and fields["term_end"] <= now:
            fields = term_fields(fields["term_end"], subscription.term)
        moved += Subscription.objects.filter(pk=subscription.pk).update(**fields)
    return moved


# --- Two finished bulk imports, so a new user sees the manual's My imports at once ----------------

DEMO_IMPORT_FILES = ("demo-companies.csv", "demo-products.csv")
DEMO_IMPORTS_AT = dt.datetime(2023, 10, 27, 16, 7, 7, tzinfo=UTC)
DEMO_IMPORT_RUN_SECONDS = dt.timedelta(seconds=20)


def seed_demo_imports() -> int:
    """A Companies import (one new customer of ABBIE BOX) and a Products import (three subscriptions
    for ERITECH PERU S.A.), started and run through the real services and engine at the manual's
    dates (27/10/23, 16:07 and 16:23 UTC): the job, its file, orders, rows, the subscriptions and the
    company it created, its audit entries and its "Your import is completed" email all carry that
    date, and the email is written as sent then (so `make run` sends nothing about the past).
    Idempotent: nothing is done when they exist. Returns the jobs created."""
    import csv
    import io

    from imports.bulk.columns import COMPANY_COLUMNS, PRODUCT_COLUMNS
    from imports.bulk.services import imports_bulk_start
    from imports.models import ImportFile, ImportJob
    from django.test.utils import override_settings

    from imports.engine.runner import run_jobs
    from imports.jobs.states import transition

    if ImportFile.objects.filter(name__in=DEMO_IMPORT_FILES).exists():
        return 0
    refs = DemoRefs.load()
    files = [
        (ImportJob.AccountType.COMPANIES, DEMO_IMPORT_FILES[0], COMPANY_COLUMNS, [
            {"Parent Account Id": "410002", "Company name": "LIMA FOODS S.A.C.", "Domain": "limafoods.example",
             "City": "Lima", "Country": "Peru", "Email": "ti@limafoods.example", "Contact person": "Rosa Vargas"},
        ]),
        (ImportJob.AccountType.PRODUCTS, DEMO_IMPORT_FILES[1], PRODUCT_COLUMNS, [
            {"Parent Account Id": "466158", "Product code": KIOSK, "Quantity": "3", "Subscription Name": "(NCE) Exchange Online Kiosk - Tienda"},
            {"Parent Account Id": "466158", "Product code": STANDARD, "Quantity": "2"},
            {"Parent Account Id": "466158", "Product code": KIOSK, "Billing Type": "P1M", "Subscription Name": "(NCE) Exchange Online Kiosk - Almacén"},
        ]),
    ]
    created = 0
    for offset, (account_type, name, columns, lines) in enumerate(files):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([c.label for c in columns])
        for line in lines:
            writer.writerow([line.get(c.label, "") for c in columns])
        when = DEMO_IMPORTS_AT + dt.timedelta(minutes=16 * offset)  # uploaded, due at once
        ran = when + DEMO_IMPORT_RUN_SECONDS  # run and finished
        # One transaction per import: its emails are marked sent before the commit, so the
        # engine's after-commit sending finds nothing to send.
        with transaction.atomic():
            seeding_since = timezone.now()  # what the services date "now" (auto_now_add) is re-dated below
            result = imports_bulk_start(
                user=refs.admin_abbie, account_type=account_type, file_name=name, content=buffer.getvalue().encode(),
                due_at=None, now=when, accept_terms=False, import_again=True, ask_vendor=False,
            )
            if result.job is None:  # the demo data was changed by hand: leave it be
                transaction.set_rollback(True)
                continue
            job = result.job
            transition(job.pk, ImportJob.Status.PENDING, ImportJob.Status.IN_PROGRESS, claimed_at=ran,
                       lease_expires_at=ran + dt.timedelta(minutes=5))
            # History: provisioned in 2023 as the portal did then, locally, whether or not `make run` has
            # Microsoft on (its sandbox is not even started while seeding).
            with override_settings(MICROSOFT_ENABLED=False):
                run_jobs([job.pk], now=ran)
            _date_as_history(job, uploaded=when, ran=ran, since=seeding_since)
        created += 1
    terms_brought_to_now(now=timezone.now())  # provisioned in 2023: renewed every year since
    return created


def _date_as_history(job, *, uploaded: dt.datetime, ran: dt.datetime, since: dt.datetime) -> None:
    """Give what an import just wrote its place in the demo's history: `uploaded` for the upload
    (job, file, orders, the "scheduled" audit entry), `ran` for what its run did (subscriptions,
    companies, the other audit entries, the email, sent then)."""
    from accounts.models import AuditLogEntry
    from imports.models import ImportFile, ImportJob, Notification, WebhookDelivery
    from orders.models import Order

    ImportJob.objects.filter(pk=job.pk).update(created_at=uploaded, due_at=uploaded, finished_at=ran)
    ImportFile.objects.filter(job=job).update(created_at=uploaded)
    rows = job.rows.all()
    Order.objects.filter(pk__in=rows.values("order_id")).update(created_at=uploaded, updated_at=uploaded)
    Subscription.objects.filter(pk__in=rows.values("subscription_id")).update(created_at=ran)
    Company.objects.filter(created_at__gte=since).update(created_at=ran)
    recent = AuditLogEntry.objects.filter(created_at__gte=since)
    recent.filter(action="import.scheduled").update(created_at=uploaded)
    recent.update(created_at=ran)
    # Its email went out when it finished: history, not news.
    Notification.objects.filter(job=job).update(
        status=Notification.Status.SENT, created_at=ran, next_attempt_at=ran, sent_at=ran,
    )
    WebhookDelivery.objects.filter(job=job).update(
        status=WebhookDelivery.Status.SENT, created_at=ran, next_attempt_at=ran, sent_at=ran,
    )
