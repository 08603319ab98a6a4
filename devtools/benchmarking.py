"""Helpers shared by the benchmark commands (bench_tree, bench_dispatch) and the reliability tests."""


class QueryCounter:
    """A `connection.execute_wrapper` that counts every SQL statement.

    Unlike CaptureQueriesContext it keeps no log, so it stays exact past Django's 9,000-query cap.
    """

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def page_timing(client, url: str, repeat: int) -> tuple[float, int, int, int]:
    """(median ms, SQL statements, HTTP status, bytes) of `repeat` requests of `url` by a test client, after one
    request that warms the caches (templates, database pages): the page benchmarks' measure."""
    import statistics
    import time

    from django.db import connection

    client.get(url)
    timings = []
    counter = QueryCounter()
    status = size = 0
    for _i in range(repeat):
        counter.count = 0
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            response = client.get(url)
            body = b"".join(response.streaming_content) if hasattr(response, "streaming_content") else response.content
            timings.append((time.perf_counter() - started) * 1000)
        status, size = response.status_code, len(body)
    return statistics.median(timings), counter.count, status, size


def page_figures_write(stdout, results: list) -> None:
    """One line per (label, ms, queries, status, bytes), aligned; a status other than 200 is flagged."""
    width = max(len(r[0]) for r in results)
    for label, ms, queries, status, size in results:
        flag = "" if status == 200 else f"  HTTP {status}!"
        stdout.write(f"{label:<{width}}  {ms:8.1f} ms  {queries:3d} queries  {size / 1024:8.1f} KB{flag}")


def due_jobs_create(n: int, *, companies: int, now, due_at) -> list[int]:
    """A burst for the benchmarks and the reliability tests: `n` scheduled provisioning jobs over
    `companies` customers of ABBIE BOX (created once, each with a Microsoft tenant), on the demo
    data (seed_demo first). `due_at` is a time, or a function of the job's index. Returns the job
    ids in index order.

    A realistic mix: Business Basic yearly, Exchange Kiosk monthly, Business Premium (needs the
    tenant), and one job in ten for the suspended PACIFICO RETAIL (it fails, and is emailed too).
    """
    import datetime as dt
    from decimal import Decimal

    from django.db import transaction

    from accounts.models import Company
    from catalog.models import BillingFrequency, PriceListAssignment, Term, TermsAcceptance
    from devtools.demo import BASIC, KIOSK, PREMIUM, TENANT, DemoRefs
    from imports.models import ImportJob, ImportRow
    from imports.jobs.services import import_job_name_for
    from orders.models import Order, Subscription

    due = due_at if callable(due_at) else (lambda i: due_at)
    demo = DemoRefs.load()
    basic, kiosk, premium, tenant = (demo.service(code) for code in (BASIC, KIOSK, PREMIUM, TENANT))
    with transaction.atomic():
        for service in (basic, premium):  # the demo price list has accepted Kiosk and Standard only
            TermsAcceptance.objects.get_or_create(price_list=demo.abbie_price_list, service=service, terms_id=service.terms_id)
        existing = {c.account_id: c for c in Company.objects.filter(account_id__range=(5_000_000, 5_000_000 + companies - 1))}
        new = [
            Company(
                name=f"BENCH CUSTOMER {i:04d} S.A.C.", parent=demo.abbiebox, kind=Company.Kind.CUSTOMER,
                account_id=5_000_000 + i, numeric_id=6_000_000 + i, email=f"it@bench{i}.example", billing_start_date=now,
            )
            for i in range(companies)
            if 5_000_000 + i not in existing
        ]
        for company in new:  # save(): the tree's path fields are computed there
            company.save()
        PriceListAssignment.objects.bulk_create([PriceListAssignment(company=c, price_list=demo.abbie_price_list) for c in new])
        customers = sorted([*existing.values(), *new], key=lambda c: c.account_id)
        tenant_ids = {c.pk: f"{c.pk:08x}-0000-4000-8000-{c.pk:012x}" for c in customers}
        Subscription.objects.bulk_create(
            [
                Subscription(
                    company=c, service=tenant, name=f"Microsoft Organization tenant (bench{c.account_id}.onmicrosoft.com)",
                    account_id=7_000_000 + c.account_id - 5_000_000, unit_cost=Decimal(0), unit_price=Decimal(0),
                    attributes={"tenant_id": tenant_ids[c.pk], "domain": f"bench{c.account_id}.onmicrosoft.com"},
                )
                for c in new
            ]
        )
        plans = [(basic, Term.P1Y), (kiosk, Term.P1M), (premium, Term.P1Y)]
        orders = []
        for i in range(n):
            service, term = plans[i % len(plans)]
            company = demo.pacifico if i % 10 == 9 else customers[i % companies]
            orders.append(
                Order(
                    company=company, created_by=demo.admin_abbie, status=Order.Status.SUBMITTED, service=service,
                    configured_at=now, subscription_name=f"{service.name} #{i}", quantity=1 + i % 5, term=term,
                    billing_frequency=BillingFrequency.MONTHLY, notify_me=i % 2 == 0,
                    vendor_config={
                        "microsoft_tenant_id": tenant_ids.get(company.pk, "e0d72b05-fb92-4d65-9424-7b58ea99d5d3"),
                        "mpn_id": "", "end_date_alignment": "",
                    },
                    scheduled_for=due(i), submitted_at=now - dt.timedelta(hours=1),
                )
            )
        orders = Order.objects.bulk_create(orders, batch_size=500)
        jobs = ImportJob.objects.bulk_create(
            [
                ImportJob(
                    name=import_job_name_for(order), due_at=due(i), created_by=demo.admin_abbie, company=order.company,
                    notify_emails=[order.company.email] if order.notify_me else [],
                )
                for i, order in enumerate(orders)
            ],
            batch_size=500,
        )
        ImportRow.objects.bulk_create(
            [ImportRow(job=job, position=1, parent_company=order.company, order=order) for job, order in zip(jobs, orders)],
            batch_size=500,
        )
    return [job.pk for job in jobs]


def vendor_jobs_create(n: int, *, companies: int, now, due_at, customer_for) -> list[int]:
    """`due_jobs_create` for the vendor path (issue 25): every job on a bench customer (none on the
    suspended PACIFICO RETAIL, so every job can complete), and each bench customer's Microsoft tenant
    made a customer that exists at the vendor: `customer_for(domain)` creates it (the sandbox's
    POST /v1/customers with that <domain>) and returns its id, which becomes the tenant subscription's
    tenant_id and the orders' Microsoft Tenant Id, so the due-time vendor checks pass (the customer's
    domain is the one the tenant subscription holds). Send to backend stays on (the default)."""
    from django.db import transaction

    from accounts.models import Company
    from imports.models import ImportJob, ImportRow
    from orders.models import Order, Subscription

    job_ids = due_jobs_create(n, companies=companies, now=now, due_at=due_at)
    customers = list(Company.objects.filter(account_id__range=(5_000_000, 5_000_000 + companies - 1)).order_by("account_id"))
    tenants = {
        sub.company_id: sub
        for sub in Subscription.objects.filter(company__in=customers, attributes__has_key="domain").order_by("pk")
    }
    vendor_ids = {company_id: customer_for(sub.attributes["domain"]) for company_id, sub in tenants.items()}
    with transaction.atomic():
        for company_id, sub in tenants.items():
            sub.attributes = {**sub.attributes, "tenant_id": vendor_ids[company_id]}
            sub.tenant_domain = sub.attributes["domain"]
        Subscription.objects.bulk_update(tenants.values(), ["attributes", "tenant_domain"])
        rows = list(ImportRow.objects.filter(job_id__in=job_ids).select_related("order", "job").order_by("job_id"))
        for i, row in enumerate(rows):
            if row.order.company_id not in vendor_ids:  # PACIFICO's tenth: moved to a bench customer
                company = customers[i % len(customers)]
                row.order.company = row.job.company = row.parent_company = company
            row.order.vendor_config = {**row.order.vendor_config, "microsoft_tenant_id": vendor_ids[row.order.company_id]}
        Order.objects.bulk_update([row.order for row in rows], ["company", "vendor_config"], batch_size=500)
        ImportJob.objects.bulk_update([row.job for row in rows], ["company"], batch_size=500)
        ImportRow.objects.bulk_update(rows, ["parent_company"], batch_size=500)
    return job_ids
