"""The whole file is checked before anything is queued: one message per problem with its line,
and nothing written while any line is wrong."""

import datetime as dt


from accounts.models import Company, User
from imports.bulk import checks, files
from imports.bulk.services import imports_bulk_start
from imports.models import ImportFile, ImportJob, ImportRow
from orders.configuration import QUANTITY_INVALID
from orders.models import Order
from orders.validation import SERVICE_NOT_ON_PRICE_LIST

from .bulk_helpers import csv_bytes, lines_for, xlsx_bytes
from .helpers import BASIC, KIOSK, UTC

P, C, U = ImportJob.AccountType.PRODUCTS, ImportJob.AccountType.COMPANIES, ImportJob.AccountType.USERS
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def start(demo, account_type, rows, *, user=None, **kwargs):
    content = kwargs.pop("content", None) or csv_bytes(rows)
    return imports_bulk_start(
        user=user or demo.admin_abbie, account_type=account_type, file_name="file.csv", content=content,
        due_at=kwargs.pop("due_at", None), now=NOW, **kwargs,
    )


def nothing_written():
    return not ImportJob.objects.exists() and not ImportRow.objects.exists() and not ImportFile.objects.exists()


def kiosk(**extra):
    return {"Parent Account Id": "466158", "Product code": KIOSK, **extra}


def test_a_good_products_file_becomes_one_pending_import_job_with_a_row_and_order_per_line(demo):
    result = start(demo, P, lines_for(P, kiosk(Quantity="3"), kiosk(**{"Subscription Name": "Kiosk B", "Billing Type": "P1M"})))
    assert result.errors == []
    job = result.job
    assert (job.source, job.account_type, job.status, job.name, job.due_at) == (
        ImportJob.Source.IMPORT, P, ImportJob.Status.PENDING, "file.csv", NOW
    )
    assert job.company == demo.eritech
    rows = list(job.rows.order_by("position").select_related("order"))
    assert [r.position for r in rows] == [2, 3]
    first, second = (r.order for r in rows)
    assert (first.quantity, first.term, first.billing_frequency, first.subscription_name) == (3, "P1Y", "monthly", "(NCE) Exchange Online Kiosk")
    assert (second.quantity, second.term, second.subscription_name) == (1, "P1M", "Kiosk B")
    # The wizard's defaults: the company's tenant id and flags, billing from the schedule date.
    assert first.vendor_config["microsoft_tenant_id"] == "e0d72b05-fb92-4d65-9424-7b58ea99d5d3"
    assert (first.send_to_backend, first.is_billable, first.notify_me) == (True, True, False)
    assert first.billing_start_date == NOW and first.status == Order.Status.SUBMITTED
    assert rows[0].payload["cells"]["product_code"] == KIOSK
    assert job.file.name == "file.csv" and job.file.content in (b"", memoryview(b""))


def test_the_billing_type_label_of_the_wizard_is_accepted(demo):
    result = start(demo, P, lines_for(P, kiosk(**{"Billing Type": "monthly (WITH 1-year commitment) - p1y"})))
    assert result.errors == [] and result.job.rows.get().order.term == "P1Y"


def test_an_xlsx_file_works_the_same(demo):
    result = start(demo, P, None, content=xlsx_bytes(lines_for(P, kiosk(Quantity=2))))
    assert result.errors == [] and result.job.rows.get().order.quantity == 2


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_written(demo):
    rows = lines_for(
        P,
        kiosk(),                                                       # 2 fine
        {"Parent Account Id": "999999", "Product code": KIOSK},        # 3 does not exist
        {"Parent Account Id": "470011", "Product code": KIOSK},        # 4 CUSCO TECH: another reseller's
        {"Parent Account Id": "abc", "Product code": KIOSK},           # 5 not a number
        kiosk(**{"Product code": "NOPE"}),                             # 6 unknown product
        {"Parent Account Id": "470011", "Product code": ""},           # 7 no product code (and not visible)
        kiosk(Quantity="many"),                                        # 8 not a number
        kiosk(Quantity="100000"),                                      # 9 above the limit
        kiosk(**{"Is billable": "perhaps"}),                           # 10 not a boolean
        kiosk(**{"Billing start date": "01/02/2026"}),                 # 11 not a date
        kiosk(**{"Billing Type": "P3Y"}),                              # 12 not offered
        kiosk(),                                                       # 13 repeats line 2
    )
    result = start(demo, P, rows)
    assert result.job is None and nothing_written()
    text = "\n".join(result.errors)
    not_found = checks.PARENT_NOT_FOUND
    assert str(checks.LINE % {"line": 3, "message": not_found % {"id": 999999}}) in result.errors
    # The same words for a company that exists outside the user's subtree.
    assert str(checks.LINE % {"line": 4, "message": not_found % {"id": 470011}}) in result.errors
    assert str(checks.LINE % {"line": 5, "message": checks.PARENT_NOT_A_NUMBER}) in result.errors
    assert str(checks.LINE % {"line": 6, "message": checks.PRODUCT_UNKNOWN % {"code": "NOPE"}}) in result.errors
    assert str(checks.LINE % {"line": 7, "message": checks.PRODUCT_CODE_REQUIRED}) in result.errors
    assert str(checks.LINE_FIELD % {"line": 8, "column": "Quantity", "message": QUANTITY_INVALID}) in result.errors
    assert "Line 9: Quantity: Quantity can be at most" in text
    assert str(checks.LINE_FIELD % {"line": 10, "column": "Is billable", "message": checks.BOOLEAN_INVALID}) in result.errors
    assert "Line 11: Billing start date:" in text
    assert "Line 12: Billing Type: P3Y is not a billing type of this service" in text
    assert str(checks.LINE_REPEATED % {"line": 13, "first": 2}) in result.errors
    # In file order.
    numbers = [int(e.split(":")[0].split()[1]) for e in result.errors]
    assert numbers == sorted(numbers)


def test_a_product_not_on_the_companys_price_list_is_refused(demo):
    result = start(demo, P, lines_for(P, {"Parent Account Id": "470011", "Product code": KIOSK}), user=demo.admin_andes)
    service = demo.service(KIOSK)
    assert result.errors == [
        str(checks.LINE % {"line": 2, "message": SERVICE_NOT_ON_PRICE_LIST % {"service": service.name, "company": "CUSCO TECH E.I.R.L."}})
    ]


def test_products_for_a_reseller_are_refused(demo):
    result = start(demo, P, lines_for(P, {"Parent Account Id": "410002", "Product code": KIOSK}))
    assert result.errors and result.errors[0].startswith("Line 2: Services can be ordered only for customer companies")


def test_a_file_level_problem_is_shown_alone(demo):
    result = start(demo, U, None, content=csv_bytes([["Email", "Shoe size"], ["a@b.example", "42"]]))
    assert result.errors == [
        str(files.HEADER_UNKNOWN % {"columns": '"Shoe size"'}), str(files.HEADER_MISSING % {"columns": '"Parent Account Id"'})
    ]
    assert nothing_written()


def test_a_schedule_date_in_the_past_is_refused(demo):
    result = start(demo, P, lines_for(P, kiosk()), due_at=NOW - dt.timedelta(days=1))
    assert result.errors and "past" in result.errors[0] and nothing_written()


def test_terms_not_accepted_wait_for_the_reseller_then_are_accepted_and_audited(demo):
    result = start(demo, P, lines_for(P, kiosk(), {"Parent Account Id": "466158", "Product code": BASIC}))
    assert result.job is None and result.errors == []
    assert [t.service.code for t in result.terms] == [BASIC]
    pending = result.pending
    assert pending.job is None and bytes(pending.content)
    assert not ImportJob.objects.exists()
    from imports.bulk.services import imports_bulk_confirm

    refused = imports_bulk_confirm(user=demo.admin_abbie, upload_id=pending.pk, accept_terms=False, import_again=False, now=NOW)
    assert refused.job is None and refused.terms
    done = imports_bulk_confirm(user=demo.admin_abbie, upload_id=pending.pk, accept_terms=True, import_again=False, now=NOW)
    assert done.job is not None and done.job.rows.count() == 2
    from catalog.models import TermsAcceptance
    from accounts.models import AuditLogEntry

    assert TermsAcceptance.objects.filter(price_list=demo.abbie_price_list, service__code=BASIC).exists()
    assert AuditLogEntry.objects.filter(action="terms.accepted").exists()
    # A second click creates nothing more.
    again = imports_bulk_confirm(user=demo.admin_abbie, upload_id=pending.pk, accept_terms=True, import_again=False, now=NOW)
    assert again.job == done.job and ImportJob.objects.count() == 1


def test_the_same_file_twice_needs_confirmation_naming_the_earlier_import(demo):
    rows = lines_for(P, kiosk())
    first = start(demo, P, rows)
    second = start(demo, P, rows)
    assert second.job is None and second.earlier == first.job
    assert ImportJob.objects.count() == 1
    third = start(demo, P, rows, import_again=True)
    assert third.job is not None and ImportJob.objects.count() == 2


def test_companies_file_is_checked(demo):
    rows = lines_for(
        C,
        {"Parent Account Id": "410002", "Company name": "LIMA FOODS S.A.C.", "Domain": "limafoods.example", "Currency": "pen"},
        {"Parent Account Id": "410002", "Company name": "", "Email": "not-an-email"},
        {"Parent Account Id": "100001", "Company name": "UNDER THE DISTRIBUTOR"},
        {"Parent Account Id": "410002", "Company name": "OTHER", "Domain": "LIMAFOODS.example"},
        {"Parent Account Id": "410002", "Company name": "X", "Currency": "dollars", "Is billable": "maybe", "Billing start date": "soon"},
    )
    result = start(demo, C, rows)
    text = "\n".join(result.errors)
    assert "Line 3: Company name: This field is required." in text
    assert "Line 3: Email: Enter a valid email address." in text
    assert "Line 4: Parent Account Id 100001 is not one of your companies." in text
    assert "Line 5: Domain LIMAFOODS.example is also on line 2." in text
    assert str(checks.LINE_FIELD % {"line": 6, "column": "Currency", "message": checks.CURRENCY_INVALID}) in text
    assert "Line 6: Is billable: must be true or false." in text
    assert "Line 6: Billing start date:" in text
    assert "Line 2" not in text and nothing_written()


def test_users_file_is_checked(demo):
    rows = lines_for(
        U,
        {"Parent Account Id": "466158", "Email": "ana@eritechperu.com"},
        {"Parent Account Id": "466158", "Email": "ANA@eritechperu.com ", "First name": "Ana"},
        {"Parent Account Id": "466158", "Email": ""},
        {"Parent Account Id": "466158", "Email": "nope"},
    )
    result = start(demo, U, rows)
    assert result.errors == [
        "Line 3: Email ANA@eritechperu.com is also on line 2.",
        "Line 4: Email: This field is required.",
        "Line 5: Email: Enter a valid email address.",
    ]
    assert not User.objects.filter(email="ana@eritechperu.com").exists() and Company.objects.count() > 0


def test_uploads_left_waiting_are_forgotten_after_a_day(demo):
    from freezegun import freeze_time

    from imports.engine.dispatch import dispatch_housekeeping

    pending = start(demo, P, lines_for(P, {"Parent Account Id": "466158", "Product code": BASIC})).pending
    started = start(demo, P, lines_for(P, kiosk())).job.file
    ImportFile.objects.filter(pk__in=[pending.pk, started.pk]).update(created_at=NOW)
    with freeze_time(NOW + dt.timedelta(hours=23)):
        dispatch_housekeeping()
    assert ImportFile.objects.filter(pk=pending.pk).exists()
    with freeze_time(NOW + dt.timedelta(hours=25)):
        dispatch_housekeeping()
    assert list(ImportFile.objects.values_list("pk", flat=True)) == [started.pk]
