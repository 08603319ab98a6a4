"""The columns of an import file, per account type.

The headers are the labels the portal shows (the wizard's Configuration, the company page, the
user page), so a reseller recognises them. A file is a format exchanged between people and
languages, so the English label always matches; the label in the active language matches too.
"""

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy as _, gettext_noop

from imports.models import ImportJob

AccountType = ImportJob.AccountType


@dataclass(frozen=True)
class Column:
    label: str  # English, as written in the templates (marked for translation: the page lists them)
    key: str
    required: bool = False
    example: str = ""


PARENT = Column(gettext_noop("Parent Account Id"), "parent_account_id", required=True, example="466158")

PRODUCT_COLUMNS = (
    PARENT,
    Column(gettext_noop("Product code"), "product_code", required=True, example="100113_ExchanOnlineKiosk_61893"),
    Column(gettext_noop("Subscription Name"), "subscription_name", example="(NCE) Exchange Online Kiosk"),
    Column(gettext_noop("Quantity"), "quantity", example="1"),
    Column(gettext_noop("Billing Type"), "billing_type", example="Monthly (with 1-year commitment) - P1Y"),
    Column(gettext_noop("Subscription end date alignment"), "end_date_alignment"),
    Column(gettext_noop("Microsoft Tenant Id"), "microsoft_tenant_id"),
    Column(gettext_noop("MPN ID (Reseller)"), "mpn_id"),
    # The vendor field of a service that creates a Microsoft tenant (<domain>.onmicrosoft.com).
    Column(gettext_noop("Tenant domain"), "tenant_domain"),
    Column(gettext_noop("Send to backend"), "send_to_backend", example="true"),
    Column(gettext_noop("Notify me"), "notify_me", example="false"),
    Column(gettext_noop("Billing start date"), "billing_start_date", example="2026-01-01 00:00"),
    Column(gettext_noop("Is billable"), "is_billable", example="true"),
    Column(gettext_noop("Contract ID"), "contract_id"),
)

COMPANY_COLUMNS = (
    Column(gettext_noop("Parent Account Id"), "parent_account_id", required=True, example="410002"),
    Column(gettext_noop("Company name"), "name", required=True, example="LIMA FOODS S.A.C."),
    Column(gettext_noop("Domain"), "domain", example="limafoods.example"),
    Column(gettext_noop("VAT ID"), "vat_id", example="20123456789"),
    Column(gettext_noop("Language"), "language", example="English"),
    Column(gettext_noop("Currency"), "currency", example="USD"),
    Column(gettext_noop("Address"), "address", example="Av. Arequipa 1234"),
    Column(gettext_noop("City"), "city", example="Lima"),
    Column(gettext_noop("Country"), "country", example="Peru"),
    Column(gettext_noop("Zip code"), "zip_code", example="15046"),
    Column(gettext_noop("Email"), "email", example="ti@limafoods.example"),
    Column(gettext_noop("Contact phone"), "contact_phone", example="+51 900 000 303"),
    Column(gettext_noop("Contact person"), "contact_person", example="Rosa Vargas"),
    Column(gettext_noop("Billing start date"), "billing_start_date", example="2026-01-01 00:00"),
    Column(gettext_noop("Is billable"), "is_billable", example="true"),
    Column(gettext_noop("Contract ID"), "contract_id"),
    Column(gettext_noop("Customer ID"), "customer_id"),
)

USER_COLUMNS = (
    PARENT,
    Column(gettext_noop("Email"), "email", required=True, example="ana.rios@eritechperu.com"),
    Column(gettext_noop("First name"), "first_name", example="Ana"),
    Column(gettext_noop("Last name"), "last_name", example="Ríos"),
    Column(gettext_noop("Job title"), "job_title", example="IT manager"),
    Column(gettext_noop("Phone"), "phone", example="+51 900 000 404"),
)

# Scheduled changes to live subscriptions, one a line (imports.bulk.change_lines).
CHANGE_COLUMNS = (
    Column(gettext_noop("Account Id"), "account_id", required=True, example="300001"),
    Column(gettext_noop("Change"), "change", required=True, example="quantity"),
    Column(gettext_noop("New value"), "new_value", example="8"),
    Column(gettext_noop("When"), "when", example="renewal"),
)

COLUMNS = {
    AccountType.PRODUCTS: PRODUCT_COLUMNS,
    AccountType.CHANGES: CHANGE_COLUMNS,
    AccountType.COMPANIES: COMPANY_COLUMNS,
    AccountType.USERS: USER_COLUMNS,
}

# The import type of each line of a job of this account type (ImportRow.import_type).
ROW_TYPES = {
    AccountType.PRODUCTS: "product",
    AccountType.COMPANIES: "company",
    AccountType.USERS: "user",
    AccountType.CHANGES: "change",
}

ERROR_COLUMN_EN = "Error"
ERROR_COLUMN = _("Error")


def normalise(header) -> str:
    """Header matching ignores case and surrounding or repeated spaces."""
    return " ".join(str(header or "").split()).casefold()


def columns_by_header(account_type: str) -> dict[str, Column]:
    """Normalised header → column: the English label and the one in the active language."""
    found: dict[str, Column] = {}
    for column in COLUMNS[account_type]:
        found[normalise(column.label)] = column
        found.setdefault(normalise(gettext(column.label)), column)
    return found
