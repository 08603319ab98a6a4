"""EXPORT on the company page: the company's overview, its users and its subscriptions, in the words
of the page (active language), as CSV (one table after the other) or .xlsx (a sheet each).
core.spreadsheets writes the file (and makes formula-like text inert)."""

import datetime as dt

from django.utils.text import slugify
from django.utils.translation import gettext

from accounts import company_page
from accounts.models import Company, User
from accounts.users.selectors import users_visible_to
from core.spreadsheets import sections_response


def _utc(value: dt.datetime | None) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M") if value else ""


def _yes_no(value: bool) -> str:
    return "true" if value else "false"  # as the overview shows it (the manual's true / false)


def overview_rows(company: Company) -> list[list]:
    """The OVERVIEW tab's sections, a row per field: section, field, value."""
    sections = [
        (gettext("COMPANY DETAILS"), [
            (gettext("Company name"), company.name),
            (gettext("Domain"), company.domain),
            (gettext("Numeric ID"), company.numeric_id),
            (gettext("VAT ID"), company.vat_id),
            (gettext("Parent numeric ID"), company.parent.numeric_id if company.parent_id else ""),
            (gettext("Account Id"), company.account_id),
            (gettext("Account status"), company.get_status_display()),
        ]),
        (gettext("ACCOUNT INFORMATION"), [
            (gettext("Language"), company.language),
            (gettext("Sales Manager"), company.sales_manager),
            (gettext("Marketplaces"), company.marketplace),
            (gettext("Send to backend"), _yes_no(company.send_to_backend)),
            (gettext("CreateUserIdService"), _yes_no(company.create_user_id_service)),
        ]),
        (gettext("CONTRACT DETAILS"), [
            (gettext("Contract ID"), company.contract_id),
            (gettext("Customer ID"), company.customer_id),
            (gettext("Company contract end date") + " (UTC)", _utc(company.contract_end_date)),
        ]),
        (gettext("CONTACT DETAILS"), [
            (gettext("Address"), company.address),
            (gettext("City"), company.city),
            (gettext("Country"), company.country),
            (gettext("Zip code"), company.zip_code),
            (gettext("Email"), company.email),
            (gettext("Contact phone"), company.contact_phone),
            (gettext("Contact person"), company.contact_person),
            (gettext("Technical contact"), company.technical_contact),
            (gettext("Technical Account Manager"), company.technical_account_manager),
            (gettext("Technical contact email"), company.technical_contact_email),
        ]),
        (gettext("PAYMENT DETAILS"), [
            (gettext("Billing start date") + " (UTC)", _utc(company.billing_start_date)),
            (gettext("Is billable"), _yes_no(company.is_billable)),
            (gettext("Currency"), company.currency),
            (gettext("Bank name"), company.bank_name),
            (gettext("Bank Identifier Code"), company.bank_identifier_code),
        ]),
    ]
    rows = [[gettext("Section"), gettext("Field"), gettext("Value")]]
    rows += [[section, label, value] for section, pairs in sections for label, value in pairs]
    return rows


def user_rows(viewer: User, company: Company) -> list[list]:
    """The company's users the viewer may see (as in the COMPANY STRUCTURE), with their USER INFO."""
    rows = [[
        gettext("Email"), gettext("First name"), gettext("Last name"), gettext("Job title"), gettext("Phone"),
        gettext("Mobile"), gettext("Department"), gettext("Account status"), gettext("Last login") + " (UTC)",
    ]]
    for user in users_visible_to(viewer).filter(company=company).order_by("email"):
        rows.append([
            user.email, user.first_name, user.last_name, user.job_title, user.phone, user.mobile, user.department,
            gettext("Active") if user.is_active else gettext("Terminated"), _utc(user.last_login),
        ])
    return rows


def company_export(fmt: str, *, viewer: User, company: Company):
    """The download: Overview, Users and (when an app provides them) Subscriptions."""
    sections = [(gettext("Overview"), overview_rows(company)), (gettext("Users"), user_rows(viewer, company))]
    if (table := company_page.subscription_table(company)) is not None:
        sections.append((table.title, [list(table.headers), *[list(row) for row in table.rows]]))
    stem = f"company-{company.account_id}-{slugify(company.name)[:40] or 'export'}"
    return sections_response(fmt, stem, sections)
