"""The whole file checked before anything is queued: one message per problem, with its line number.

Product lines are checked with the wizard's own rules (orders.configuration's fields over the
same OrderFacts, loaded once for the whole file), so a value the wizard refuses is refused here
with the same words. What depends on earlier lines of the same file (a tenant created on line 3
serving line 7) or on the day the job runs (parent active, once per account, dependencies, the
vendor integration's local checks, unique domain or email) is left to the run, which fails that line
alone with its reason.

The vendor is asked too (orders.validation.orders_vendor_problems: the fifth check's remote half, the
same as the wizard's and the API's pre-check), once the whole file passed the checks above and when
`ask_vendor`: what it refuses (a Microsoft Tenant Id Microsoft does not know or that is another
company's, a tenant domain taken at Microsoft) is a line's problem like any other; when it cannot be
asked now, the line gets a warning and the due time asks again. Each distinct tenant or domain is
asked once for the file, at most catalog.integrations.asking.MAX_QUESTIONS of them within
BUDGET_SECONDS (the rest: the warning), one after another (see catalog/integrations/asking.py).
"""

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext, gettext_lazy as _

from core.numbers import parse_whole
from accounts.models import Company, User
from accounts.selectors import companies_visible_to
from catalog.billing import (  # noqa: F401  (the messages are re-exported for the tests)
    BILLING_TYPE_AMBIGUOUS,
    BILLING_TYPE_UNKNOWN,
    billing_type_parse,
)
from catalog.models import PriceList, Service
from catalog.selectors import price_list_for
from orders.configuration import BOOLEAN_FIELDS, ConfigurationFields
from orders.facts import OrderFacts
from orders.fields import UTCDateTimeField, format_utc
from orders.models import Order
from orders.services import new_service_refusal
from catalog.integrations import VendorWait
from orders.validation import SERVICE_NOT_ON_PRICE_LIST, orders_vendor_problems, vendor_wait_note
from core.stored_messages import rendered

from imports.models import ImportJob
from imports.bulk import change_lines
from imports.bulk.columns import normalise

AccountType = ImportJob.AccountType

LINE = _("Line %(line)s: %(message)s")
LINE_FIELD = _("Line %(line)s: %(column)s: %(message)s")
LINE_REPEATED = _("Line %(line)s repeats line %(first)s.")
VALUE_REPEATED = _("Line %(line)s: %(column)s %(value)s is also on line %(first)s.")
PARENT_REQUIRED = _("Parent Account Id is required.")
PARENT_NOT_A_NUMBER = _("Parent Account Id must be a number, e.g. 466158.")
# The same words whether the company does not exist or is outside the user's companies: no hint.
PARENT_NOT_FOUND = _("Parent Account Id %(id)s is not one of your companies.")
PARENT_NOT_RESELLER_OR_CUSTOMER = _("New companies can be created only below a reseller or a customer; %(company)s is a %(kind)s.")
PRODUCT_CODE_REQUIRED = _("Product code is required.")
PRODUCT_UNKNOWN = _("Product code %(code)s does not exist.")
BOOLEAN_INVALID = _("must be true or false.")
ALIGNMENT_UNKNOWN = _("%(value)s is not an option; use one of: %(options)s.")
CURRENCY_INVALID = _("Currency must be a three-letter code, e.g. USD.")

TRUE_WORDS = {"true", "yes", "y", "1", "x", "sí", "si", "verdadero"}
FALSE_WORDS = {"false", "no", "n", "0", "falso"}
EMPTY_CHOICE_WORDS = {"", "-", "—"}


@dataclass
class Line:
    """A line that passed the check: what the job's row will carry."""

    position: int
    cells: dict[str, str]  # as in the file, by column key (the row's payload; failed lines are downloaded from it)
    parent: Company
    service: Service | None = None
    # Products: the Order attributes of orders.configuration (what the wizard's Configuration saves).
    order_values: dict | None = None
    # Products: vendor fields left empty whose wizard default can only be known when the row runs
    # (e.g. the Microsoft Tenant Id of a tenant created by an earlier line of the file).
    deferred: list[str] = field(default_factory=list)
    # Companies and users: the cleaned values.
    values: dict | None = None
    # Changes: the change to create on confirmation (imports.bulk.change_lines.ChangeLine).
    change: object | None = None


@dataclass(frozen=True)
class TermsToAccept:
    price_list: PriceList
    service: Service


@dataclass
class FileCheck:
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    lines: list[Line] = field(default_factory=list)
    terms: list[TermsToAccept] = field(default_factory=list)
    # (line number, message): what could not be checked now (the vendor could not be asked); not a failure.
    warnings: list[tuple[int, str]] = field(default_factory=list)


def parse_bool(text: str) -> bool | None:
    """True, False, or None when empty; raises ValueError for anything else."""
    word = text.strip().casefold()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(text)


def _line_error(number: int, message, column: str | None = None) -> tuple[int, str]:
    if column:
        return number, str(LINE_FIELD % {"line": number, "column": column, "message": message})
    return number, str(LINE % {"line": number, "message": message})


def _parents(user: User, lines, errors: list) -> dict[int, Company]:
    """Line number → its visible parent company (one query for the file); errors for the others."""
    wanted: dict[int, int] = {}
    for number, cells in lines:
        text = cells.get("parent_account_id", "")
        if not text:
            errors.append(_line_error(number, PARENT_REQUIRED))
        elif (account_id := parse_whole(text)) is None:
            errors.append(_line_error(number, PARENT_NOT_A_NUMBER))
        else:
            wanted[number] = account_id
    found = {c.account_id: c for c in companies_visible_to(user).filter(account_id__in=set(wanted.values()))}
    parents = {}
    for number, account_id in wanted.items():
        if account_id in found:
            parents[number] = found[account_id]
        else:
            errors.append(_line_error(number, PARENT_NOT_FOUND % {"id": account_id}))
    return parents


def _repeated_lines(lines, errors: list, *, unique_key: str | None = None, unique_label: str = "") -> None:
    """Identical lines (ignoring case and spaces), and a value that must be unique given twice."""
    first_of: dict[tuple, int] = {}
    first_value: dict[str, int] = {}
    for number, cells in lines:
        key = tuple(sorted((k, normalise(v)) for k, v in cells.items() if v))
        if key in first_of:
            errors.append((number, str(LINE_REPEATED % {"line": number, "first": first_of[key]})))
            continue
        first_of[key] = number
        value = normalise(cells.get(unique_key, "")) if unique_key else ""
        if value:
            if value in first_value:
                params = {"line": number, "column": unique_label, "value": cells[unique_key], "first": first_value[value]}
                errors.append((number, str(VALUE_REPEATED % params)))
            else:
                first_value[value] = number


# --- Products ------------------------------------------------------------------------------------


def _choice_value(text: str, field: forms.ChoiceField) -> str:
    """A choice field's value from its value or its label; raises ValueError(message)."""
    if text.casefold() in EMPTY_CHOICE_WORDS:
        return ""
    wanted = normalise(text)
    for value, label in field.choices:
        if wanted in (normalise(value), normalise(label)):
            return value
    options = "; ".join(str(label) for value, label in field.choices if value)
    raise ValueError(ALIGNMENT_UNKNOWN % {"value": text, "options": options})


def _product_data(cells: dict, config: ConfigurationFields, initial: dict, due: dt.datetime):
    """Form data for the wizard's fields from a line's cells (empty cells take the wizard's defaults),
    the fields deferred to the run, and the errors found while translating the cells."""
    data: dict = {
        "subscription_name": cells.get("subscription_name", ""),
        "quantity": cells.get("quantity", "") or "1",
        "contract_id": cells.get("contract_id", ""),
        # Empty: the subscription is billed from when it is created (the schedule date).
        "billing_start_date": cells.get("billing_start_date", "") or format_utc(due),
    }
    errors: dict[str, str] = {}
    text = cells.get("billing_type", "")
    try:
        data["billing_type"] = billing_type_parse(text, config.billing_types) if text else initial["billing_type"]
    except ValueError as exc:
        errors["billing_type"] = str(exc.args[0])
    for name in BOOLEAN_FIELDS:
        try:
            value = parse_bool(cells.get(name, ""))
        except ValueError:
            errors[name] = str(BOOLEAN_INVALID)
            continue
        data[name] = "on" if (initial[name] if value is None else value) else ""
    deferred = []
    for name in config.vendor_names:
        field_ = config.fields[name]
        text = cells.get(name, "")
        if text and isinstance(field_, forms.ChoiceField):
            try:
                text = _choice_value(text, field_)
            except ValueError as exc:
                errors[name] = str(exc.args[0])
                continue
        if not text:
            text = field_.initial or ""
            if not text and field_.required:
                deferred.append(name)
        data[name] = text
    return data, deferred, errors


def _ask_vendor(result: FileCheck, facts: OrderFacts) -> None:
    """The vendor's pre-check of the lines that passed (see the module's docstring); the orders are
    built as the job will submit them, so Send to backend and the vendor fields are the line's."""
    orders = [Order(company=line.parent, service=line.service, **line.order_values) for line in result.lines]
    for line, order, answer in zip(result.lines, orders, orders_vendor_problems(orders, facts)):
        if isinstance(answer, VendorWait):
            result.warnings.append(_line_error(line.position, rendered(vendor_wait_note(order, answer))))
        else:
            result.errors.extend(_line_error(line.position, rendered(reason)) for reason in answer)


def _check_products(user: User, lines, errors: list, *, due: dt.datetime, now: dt.datetime, ask_vendor: bool = True) -> FileCheck:
    parents = _parents(user, lines, errors)
    codes = {cells.get("product_code", "") for _n, cells in lines}
    services = {s.code: s for s in Service.objects.select_related("vendor").filter(code__in=codes - {""})}
    stubs: dict[int, Order] = {}
    for number, cells in lines:
        code = cells.get("product_code", "")
        if not code:
            errors.append(_line_error(number, PRODUCT_CODE_REQUIRED))
        elif code not in services:
            errors.append(_line_error(number, PRODUCT_UNKNOWN % {"code": code}))
        elif number in parents:
            company = parents[number]
            stubs[number] = Order(company=company, service=services[code], vendor_config={}, created_by=user)
    # The wizard's facts for every (company, service) of the file at once.
    facts = OrderFacts.load(stubs.values(), day=now.date())
    book = facts.book
    configs: dict[tuple[int, int], tuple[ConfigurationFields, dict]] = {}
    result = FileCheck(errors=errors)
    needs_terms: dict[tuple[int, int], TermsToAccept] = {}
    for number, cells in lines:
        stub = stubs.get(number)
        if stub is None:
            continue
        company, service = stub.company, stub.service
        if refusal := new_service_refusal(company, book.price_list(company.pk)):
            errors.extend(_line_error(number, message) for message in refusal.messages)
            continue
        if not book.offers(company.pk, service):
            errors.append(_line_error(number, SERVICE_NOT_ON_PRICE_LIST % {"service": service.name, "company": company.name}))
            continue
        key = (company.pk, service.pk)
        if key not in configs:
            config = ConfigurationFields(stub, facts)
            configs[key] = (config, config.initial(now=now))
        config, initial = configs[key]
        data, deferred, problems = _product_data(cells, config, initial, due)
        cleaned, field_errors = config.clean({k: v for k, v in data.items() if k not in deferred})
        for name in deferred:
            field_errors.pop(name, None)
            cleaned[name] = ""
        for name, message in problems.items():
            field_errors[name] = [message]
        if field_errors:
            errors.extend(
                _line_error(number, message, column=str(config.fields[name].label))
                for name, messages in field_errors.items()
                for message in messages
            )
            continue
        if not book.terms_accepted(company.pk, service):
            price_list = book.price_list(company.pk)
            needs_terms.setdefault((price_list.pk, service.pk), TermsToAccept(price_list, service))
        result.lines.append(
            Line(position=number, cells=cells, parent=company, service=service, order_values=config.values(cleaned), deferred=deferred)
        )
    result.terms = list(needs_terms.values())
    if ask_vendor and not errors and result.lines:
        _ask_vendor(result, facts)
    return result


# --- Companies and users -------------------------------------------------------------------------


class _Form(forms.Form):
    """A line's cells as form data; error messages are prefixed with the column's label."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field_ in self.fields.values():
            field_.required = getattr(field_, "line_required", False)


def _text(label, max_length, *, required=False):
    field_ = forms.CharField(label=label, max_length=max_length, required=False)
    field_.line_required = required
    return field_


class CompanyLineForm(_Form):
    name = _text(_("Company name"), 200, required=True)
    domain = _text(_("Domain"), 255)
    vat_id = _text(_("VAT ID"), 50)
    language = _text(_("Language"), 50)
    currency = forms.RegexField(
        label=_("Currency"), regex=r"^[A-Za-z]{3}$", required=False, error_messages={"invalid": CURRENCY_INVALID}
    )
    address = _text(_("Address"), 255)
    city = _text(_("City"), 100)
    country = _text(_("Country"), 100)
    zip_code = _text(_("Zip code"), 20)
    email = forms.EmailField(label=_("Email"), required=False)
    contact_phone = _text(_("Contact phone"), 50)
    contact_person = _text(_("Contact person"), 200)
    billing_start_date = UTCDateTimeField(label=_("Billing start date"), required=False)
    contract_id = _text(_("Contract ID"), 100)
    customer_id = _text(_("Customer ID"), 100)


class UserLineForm(_Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    email.line_required = True
    first_name = _text(_("First name"), 150)
    last_name = _text(_("Last name"), 150)
    job_title = _text(_("Job title"), 200)
    phone = _text(_("Phone"), 50)


# Below which companies a Companies line (or + NEW) may create a customer company.
COMPANY_PARENT_KINDS = frozenset({Company.Kind.RESELLER, Company.Kind.CUSTOMER})


def parent_kind_problem(parent: Company, kinds=COMPANY_PARENT_KINDS) -> str | None:
    """Why no company can be created below `parent` (a distributor), or None."""
    if parent.kind in kinds:
        return None
    return str(PARENT_NOT_RESELLER_OR_CUSTOMER % {"company": parent.name, "kind": parent.get_kind_display()})


def _check_form_lines(user, lines, errors, form_class, *, booleans=(), parent_kinds=None) -> FileCheck:
    parents = _parents(user, lines, errors)
    result = FileCheck(errors=errors)
    for number, cells in lines:
        form = form_class(data=cells)
        valid = form.is_valid()
        line_errors = [
            _line_error(number, message, column=str(form.fields[name].label))
            for name, messages in form.errors.items()
            for message in messages
        ]
        values = dict(form.cleaned_data) if valid else {}
        for name, label in booleans:
            try:
                value = parse_bool(cells.get(name, ""))
            except ValueError:
                line_errors.append(_line_error(number, BOOLEAN_INVALID, column=str(label)))
                continue
            if value is not None:
                values[name] = value
        parent = parents.get(number)
        if parent is not None and parent_kinds and (problem := parent_kind_problem(parent, parent_kinds)):
            line_errors.append(_line_error(number, problem))
        errors.extend(line_errors)
        if not line_errors and parent is not None:
            values = {name: value for name, value in values.items() if value not in ("", None)}
            result.lines.append(Line(position=number, cells=cells, parent=parent, values=values))
    return result


def _check_changes(user: User, lines, errors: list, *, due: dt.datetime, now: dt.datetime) -> FileCheck:
    """Changes: each line read and checked by the change rules' one home (imports.bulk.change_lines)."""
    result = FileCheck(errors=errors)
    subscriptions = change_lines.subscriptions_of_lines(user, lines)
    kinds_seen: dict[tuple[int, str], int] = {}
    needs_terms: dict[tuple[int, int], TermsToAccept] = {}
    price_lists: dict[int, PriceList | None] = {}  # company id → its price list: read once per company, not per line
    for number, cells in lines:
        line, problems = change_lines.check_change_line(user, cells, subscriptions=subscriptions, due=due, now=now)
        for message in problems:
            errors.append(_line_error(number, message))
        if line is None:
            continue
        # One open change per kind and subscription: a file asking two is refused like the page's second tab.
        key = (line.subscription.pk, line.kind)
        if key in kinds_seen:
            errors.append((number, str(VALUE_REPEATED % {
                "line": number, "column": gettext("Change"), "value": f"{line.subscription.account_id} {line.kind}",
                "first": kinds_seen[key],
            })))
            continue
        kinds_seen[key] = number
        if line.terms is not None:
            company = line.subscription.company
            if company.pk not in price_lists:
                price_lists[company.pk] = price_list_for(company)
            if (price_list := price_lists[company.pk]) is not None:
                needs_terms.setdefault((price_list.pk, line.terms.pk), TermsToAccept(price_list, line.terms))
        result.lines.append(Line(position=number, cells=cells, parent=line.subscription.company, change=line))
    result.terms = list(needs_terms.values())
    return result


def check_lines(
    *, user: User, account_type: str, lines, due: dt.datetime, now: dt.datetime, errors: list[tuple[int, str]] | None = None,
    ask_vendor: bool = True,
) -> FileCheck:
    """Check every line of a file (cells by column key); nothing is written. `ask_vendor`: also ask the
    vendor about product lines (it calls the vendor: only outside transactions)."""
    errors = list(errors or [])
    if account_type == AccountType.PRODUCTS:
        _repeated_lines(lines, errors)
        result = _check_products(user, lines, errors, due=due, now=now, ask_vendor=ask_vendor)
    elif account_type == AccountType.COMPANIES:
        _repeated_lines(lines, errors, unique_key="domain", unique_label=gettext("Domain"))
        result = _check_form_lines(
            user, lines, errors, CompanyLineForm,
            booleans=[("is_billable", _("Is billable"))],
            parent_kinds=COMPANY_PARENT_KINDS,
        )
    elif account_type == AccountType.CHANGES:
        _repeated_lines(lines, errors)
        result = _check_changes(user, lines, errors, due=due, now=now)
    else:
        _repeated_lines(lines, errors, unique_key="email", unique_label=gettext("Email"))
        result = _check_form_lines(user, lines, errors, UserLineForm)
    result.errors.sort(key=lambda error: error[0])  # in file order (stable within a line)
    result.warnings.sort(key=lambda warning: warning[0])
    return result


