"""The columns of an import file, per account type.

The headers are the labels the portal shows (the wizard's Configuration, the company page, the
user page), so a reseller recognises them. A file is a format exchanged between people and
languages, so the English label always matches; the label in the active language matches too.
"""

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy as _, gettext_noop as N_

from ..models import ImportJob

AccountType = ImportJob.AccountType


@dataclass(frozen=True)
class Column:
    label: str  # English, as written in the templates (marked for translation: the page lists them)
    key: str
    required: bool = False
    example: str = ""


PARENT = Column(N_("Parent Account Id"), "parent_account_id", required=True, example="466158")

PRODUCT_COLUMNS = (
    PARENT,
    Column(N_("Product code"), "product_code", required=True, example="100113_ExchanOnlineKiosk_61893"),
    Column(N_("Subscription Name"), "subscription_name", example="(NCE) Exchange Online Kiosk"),
    Column(N_("Quantity"), "quantity", example="1"),
    Column(N_("Billing Type"), "billing_type", example="Monthly (with 1-year commitment) - P1Y"),
    Column(N_("Subscription end date alignment"), "end_date_alignment"),
    Column(N_("Microsoft Tenant Id"), "microsoft_tenant_id"),
    Column(N_("MPN ID (Reseller)"), "mpn_id"),
    # The vendor field of a service that creates a Microsoft tenant (<domain>.onmicrosoft.com).
    Column(N_("Tenant domain"), "tenant_domain"),
    Column(N_("Send to backend"), "send_to_backend", example="true"),
    Column(N_("Notify me"), "notify_me", example="false"),
    Column(N_("Billing start date"), "billing_start_date", example="2026-01-01 00:00"),
    Column(N_("Is billable"), "is_billable", example="true"),
    Column(N_("Contract ID"), "contract_id"),
)

COMPANY_COLUMNS = (
    Column(N_("Parent Account Id"), "parent_account_id", required=True, example="410002"),
    Column(N_("Company name"), "name", required=True, example="LIMA FOODS S.A.C."),
    Column(N_("Domain"), "domain", example="limafoods.example"),
    Column(N_("VAT ID"), "vat_id", example="20123456789"),
    Column(N_("Language"), "language", example="English"),
    Column(N_("Currency"), "currency", example="USD"),
    Column(N_("Address"), "address", example="Av. Arequipa 1234"),
    Column(N_("City"), "city", example="Lima"),
    Column(N_("Country"), "country", example="Peru"),
    Column(N_("Zip code"), "zip_code", example="15046"),
    Column(N_("Email"), "email", example="ti@limafoods.example"),
    Column(N_("Contact phone"), "contact_phone", example="+51 900 000 303"),
    Column(N_("Contact person"), "contact_person", example="Rosa Vargas"),
    Column(N_("Billing start date"), "billing_start_date", example="2026-01-01 00:00"),
    Column(N_("Is billable"), "is_billable", example="true"),
    Column(N_("Contract ID"), "contract_id"),
    Column(N_("Customer ID"), "customer_id"),
)

USER_COLUMNS = (
    PARENT,
    Column(N_("Email"), "email", required=True, example="ana.rios@eritechperu.com"),
    Column(N_("First name"), "first_name", example="Ana"),
    Column(N_("Last name"), "last_name", example="Ríos"),
    Column(N_("Job title"), "job_title", example="IT manager"),
    Column(N_("Phone"), "phone", example="+51 900 000 404"),
)

COLUMNS = {
    AccountType.PRODUCTS: PRODUCT_COLUMNS,
    AccountType.COMPANIES: COMPANY_COLUMNS,
    AccountType.USERS: USER_COLUMNS,
}

# The import type of each line of a job of this account type (ImportRow.import_type).
ROW_TYPES = {
    AccountType.PRODUCTS: "product",
    AccountType.COMPANIES: "company",
    AccountType.USERS: "user",
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
