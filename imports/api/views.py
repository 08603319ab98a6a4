"""API: schedule a provisioning, and follow, cancel and reschedule import jobs (My imports).

Thin: the rules are the services' (imports.api.scheduling, imports.jobs.services), the list's filters are
My imports' (imports.my_imports.listing, imports.my_imports.selectors). Every POST is idempotent with an Idempotency-Key.
"""

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.clock import db_now
from accounts.selectors import company_for_user
from core.api.errors import django_validation_errors, error_body, validation_response
from core.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from core.api.idempotency import IDEMPOTENCY_PARAMETER, REPLAYED_HEADER, idempotent, idempotent_answer_amend
from core.api.pagination import NewestFirstCursor
from orders.configuration import GENERIC_FIELDS
from orders.validation import schedule_time_error

from imports.my_imports.listing import Listing, listing_problems
from imports.models import ImportJob, ImportRow
from imports.api.scheduling import UNKNOWN_FIELD, provisioning_schedule_direct
from imports.jobs.waiting import STATES, job_vendor_state
from imports.my_imports.selectors import import_for_user, imports_for_api
from imports.jobs.services import (
    JOB_NOT_CANCELLABLE,
    JobNotReschedulable,
    import_cancel,
    import_reschedule,
)

UTC = dt.timezone.utc
SCHEDULE_AT_INVALID = _(
    "Enter schedule_at as an ISO 8601 date-time in UTC, e.g. 2024-08-01T10:00:00Z, or leave it empty for as soon as possible."
)
SCHEDULE_AT_REQUIRED = _("schedule_at is required: the new time, ISO 8601 in UTC, e.g. 2024-08-01T10:00:00Z.")
PRODUCT_CODE_REQUIRED = _("product_code is required: the code of a service the company's price list offers.")
QUANTITY_REQUIRED = _("Quantity is required.")
# The request field the services call scheduled_for / a Configuration field name.
RENAMED = {"scheduled_for": "schedule_at"}


# --- Serializers ------------------------------------------------------------------------------


class CreatedAccountSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=["company", "user", "subscription"], help_text="What the line created: a customer company, a user, a subscription."
    )
    id = serializers.IntegerField(help_text="The company's or subscription's account id, or the user's User Id.")
    name = serializers.CharField(help_text="The company's name, or the user's first and last name, as created (empty for a subscription).")
    email = serializers.CharField(help_text="The user's email address (empty for a company or a subscription).")


class ImportRowSerializer(serializers.ModelSerializer):
    parent_account_id = serializers.IntegerField(source="parent_company.account_id")
    parent_display_name = serializers.CharField(source="parent_company.name")
    parent_account_start_date = serializers.DateTimeField(source="parent_company.billing_start_date", allow_null=True)
    product_code = serializers.CharField()
    account_id = serializers.IntegerField(source="result_account_id", allow_null=True, help_text="What the row created.")
    is_direct_payment = serializers.BooleanField()
    error = serializers.CharField(source="failure_reason", help_text="Why the row failed (empty otherwise).")
    file_line = serializers.IntegerField(
        allow_null=True,
        help_text="The line of the uploaded file the row came from, as a spreadsheet numbers it (the header is "
        "line 1); null for a scheduled provisioning.",
    )
    created_account = CreatedAccountSerializer(
        allow_null=True, help_text="What a completed row created (null while pending or when it failed)."
    )

    class Meta:
        model = ImportRow
        fields = [
            "position", "import_type", "status", "parent_account_id", "parent_display_name", "parent_account_start_date",
            "product_code", "account_id", "is_direct_payment", "error", "processed_at", "file_line", "created_account",
        ]
        read_only_fields = fields


class VendorStateSerializer(serializers.Serializer):
    """Where the job stands with the vendor (imports.jobs.waiting): null for a job nothing sent to a vendor."""

    status = serializers.ChoiceField(
        choices=list(STATES),
        help_text="waiting: with the vendor, tried again at next_try_at; done, refused or expired (the vendor "
        "stayed unavailable until the deadline): how it ended.",
    )
    vendor_name = serializers.CharField(source="vendor", help_text="The vendor, e.g. Microsoft.")
    next_try_at = serializers.DateTimeField(allow_null=True, help_text="When the vendor is asked again (UTC); null unless waiting.")
    reason = serializers.CharField(help_text="The vendor's last reason (a refusal, or the last transient trouble), in the reader's language.")
    message = serializers.CharField(
        source="headline", help_text='"Waiting for Microsoft, next try at 2026-12-06 10:42 UTC" while waiting, else empty.'
    )
    vendor_order_id = serializers.CharField(help_text="The vendor's order id (a job of one vendor order), else empty.")
    vendor_subscription_id = serializers.CharField(help_text="The vendor's subscription id (a job of one vendor order), else empty.")


class ImportJobSerializer(serializers.ModelSerializer):
    company_account_id = serializers.IntegerField(source="company.account_id")
    creator = serializers.EmailField(source="created_by.email")
    schedule_at = serializers.DateTimeField(source="due_at", help_text="Import schedule date (UTC).")
    rows = ImportRowSerializer(many=True)
    vendor = serializers.SerializerMethodField(help_text="Where the job stands with the vendor; null when it went to none.")

    class Meta:
        model = ImportJob
        fields = [
            "id", "name", "account_type", "source", "status", "company_account_id", "creator", "created_at",
            "schedule_at", "finished_at", "imported_count", "error_count", "retry_of", "vendor", "rows",
        ]
        read_only_fields = fields


    @extend_schema_field(VendorStateSerializer(allow_null=True))
    def get_vendor(self, job):
        state = job_vendor_state(job)
        return VendorStateSerializer(state).data if state is not None else None


class ImportJobWithWarningsSerializer(ImportJobSerializer):
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="The Order review's pre-check run today: what would fail if it ran now."
    )

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class _StrictSerializer(serializers.Serializer):
    """Unknown fields are errors (a typo must not silently fall back to a default), reported with
    the other fields' errors."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        unknown_errors = {name: [str(UNKNOWN_FIELD)] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                exc.detail.update(unknown_errors)
            raise
        if unknown_errors:
            raise serializers.ValidationError(unknown_errors)
        return value

    def validate_schedule_at(self, value):
        due_at, errors = _schedule_at(value, now=self.context["now"], required=self.schedule_required)
        if errors:
            raise serializers.ValidationError(errors)
        return due_at


# The request bodies. drf-spectacular names a component after its serializer without "Serializer"
# and, with COMPONENT_SPLIT_REQUEST, adds "Request" to request components: these become
# ScheduledProvisioningRequest and RescheduleRequest (not ...RequestRequest).
class ScheduledProvisioningSerializer(_StrictSerializer):
    schedule_required = False
    product_code = StrictCharField(max_length=100, error_messages={"required": PRODUCT_CODE_REQUIRED})
    quantity = StrictIntegerField(error_messages={"required": QUANTITY_REQUIRED})
    schedule_at = StrictCharField(
        required=False, allow_null=True, allow_blank=True,
        help_text="ISO 8601, UTC (e.g. 2024-08-01T10:00:00Z); empty or left out: as soon as possible.",
    )
    accept_terms = StrictBooleanField(
        required=False, default=False,
        help_text="true accepts the service's terms for the whole price list when not yet accepted (the wizard's Accept).",
    )
    subscription_name = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    billing_type = StrictCharField(
        required=False,
        help_text="A key of the service's billing_types (default monthly:P1Y), its label "
        "(\"Monthly (with 1-year commitment) - P1Y\", as in bulk files) or its term alone (P1Y) when only one "
        "billing type has it. A refusal lists the valid keys.",
    )
    send_to_backend = StrictBooleanField(required=False)
    notify_me = StrictBooleanField(required=False)
    billing_start_date = StrictCharField(required=False, help_text="ISO 8601, UTC; default now.")
    is_billable = StrictBooleanField(required=False)
    contract_id = StrictCharField(required=False, allow_blank=True)
    vendor_fields = serializers.DictField(
        child=StrictCharField(allow_blank=True), required=False,
        help_text="The service's vendor_fields by name (e.g. microsoft_tenant_id); left out: their initial value.",
    )


class RescheduleSerializer(_StrictSerializer):
    schedule_required = True
    schedule_at = StrictCharField(
        allow_blank=True, allow_null=True, help_text="The new time: ISO 8601, UTC.",
        error_messages={"required": SCHEDULE_AT_REQUIRED},
    )


# --- Input helpers ---------------------------------------------------------------------------


def _utc(text: str) -> dt.datetime | None:
    """An ISO 8601 date-time as UTC (without an offset it is read as UTC); None when it is not one."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # Before 0001-01-01 or after 9999-12-31 in UTC (0001-01-01T00:00+05:00): the first or last
        # moment there is stands for it, which every rule then refuses with its own message.
        return dt.datetime.min.replace(tzinfo=UTC) if value.year == 1 else dt.datetime.max.replace(tzinfo=UTC)


def _schedule_at(text: str | None, *, now: dt.datetime, required: bool = False) -> tuple[dt.datetime | None, list[str]]:
    """(time, errors) of a schedule_at value under the wizard's rules (schedule_time_error)."""
    if not text:
        return None, [str(SCHEDULE_AT_REQUIRED)] if required else []
    due_at = _utc(text)
    if due_at is None:
        return None, [str(SCHEDULE_AT_INVALID)]
    if error := schedule_time_error(due_at, now=now):
        return None, [error]
    return due_at, []


def _configuration_values(data: dict) -> tuple[dict, dict]:
    """The request's Configuration fields as orders.configuration names them; the vendor's are
    flattened beside the generic ones (a vendor key naming a generic field is unknown)."""
    values = {name: data[name] for name in GENERIC_FIELDS if name in data}
    if "billing_start_date" in values:
        # ISO 8601 as parsed here; anything else goes to the field as typed, which accepts
        # YYYY-MM-DD HH:MM too and otherwise answers with the page's message.
        values["billing_start_date"] = _utc(values["billing_start_date"]) or values["billing_start_date"]
    vendor = data.get("vendor_fields", {})
    return values, vendor


def _renamed(errors: dict[str, list[str]], *, vendor_names) -> dict[str, list[str]]:
    result = {}
    for name, messages in errors.items():
        key = RENAMED.get(name, name)
        if name in vendor_names:
            key = f"vendor_fields.{name}"
        result[key] = messages
    return result


# --- Views ------------------------------------------------------------------------------------


@extend_schema(
    tags=["imports"],
    summary="Schedule the provisioning of a subscription",
    description="The wizard in one request: the service, its terms, the Configuration fields and the schedule "
    "time, validated with the same rules and messages as the pages. 201 with the Pending job.",
    request=ScheduledProvisioningSerializer,
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={
        201: ImportJobWithWarningsSerializer,
        400: OpenApiResponse(ErrorSerializer, description="Bad input; nothing was written."),
        404: ErrorSerializer,
        409: OpenApiResponse(ErrorSerializer, description="Idempotency-Key reused with a different request."),
    },
)
class ScheduledProvisioningCreate(APIView):
    def post(self, request, account_id):
        response = self._schedule(request, account_id)
        if response.status_code == status.HTTP_201_CREATED and not response.get(REPLAYED_HEADER):
            _add_vendor_warnings(request, response)
        return response

    @idempotent
    def _schedule(self, request, account_id):
        company = company_for_user(request.user, account_id=account_id)
        now = db_now()
        serializer = ScheduledProvisioningSerializer(data=request.data, context={"now": now})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        values, vendor = _configuration_values(data)
        if clash := sorted(set(vendor) & set(GENERIC_FIELDS)):
            return validation_response({f"vendor_fields.{name}": [str(UNKNOWN_FIELD)] for name in clash})
        try:
            scheduled = provisioning_schedule_direct(
                company=company, user=request.user, product_code=data["product_code"], values={**values, **vendor},
                accept_terms=data["accept_terms"], due_at=data.get("schedule_at"), now=now,
            )
        except ValidationError as exc:
            return validation_response(_renamed(django_validation_errors(exc), vendor_names=set(vendor) | _vendor_names(exc)))
        return Response(_with_warnings(request.user, scheduled.job, scheduled.warnings), status=status.HTTP_201_CREATED)


def _vendor_names(exc: ValidationError) -> set[str]:
    """Field names in a service's errors that are neither generic nor the request's own: the vendor's."""
    own = {*GENERIC_FIELDS, "product_code", "accept_terms", "scheduled_for", "__all__"}
    return {name for name in getattr(exc, "error_dict", {}) if name not in own}


def _add_vendor_warnings(request, response) -> None:
    """The vendor's half of the pre-check (orders.validation.orders_precheck), asked after the scheduling
    committed (a remote call no transaction waits on) and only when the local checks passed: its reasons,
    or that it could not be asked now, join the answer's warnings (and the Idempotency-Key's record)."""
    if response.data.get("warnings"):
        return
    job = ImportJob.objects.get(pk=response.data["id"])
    if warnings := job.precheck(day=db_now().date(), vendor=True):
        response.data["warnings"] = warnings
        idempotent_answer_amend(request, response)


def _with_warnings(user, job: ImportJob, warnings: list[str]) -> dict:
    job = import_for_user(user, job_id=job.pk)  # with its rows, as the list shows them
    job.warnings = warnings
    return ImportJobWithWarningsSerializer(job).data


LISTING_PARAMETERS = [
    OpenApiParameter("status", str, many=True, enum=ImportJob.Status.values, description="Repeat for several."),
    OpenApiParameter("source", str, enum=ImportJob.Source.values),
    OpenApiParameter("account_type", str, enum=ImportJob.AccountType.values),
    OpenApiParameter("company", int, description="A company's account id: its jobs and those of every company below it."),
    OpenApiParameter("creator", int, description="A user id."),
    OpenApiParameter("created_from", dt.date), OpenApiParameter("created_to", dt.date),
    OpenApiParameter("due_from", dt.date), OpenApiParameter("due_to", dt.date),
    OpenApiParameter("q", str, description="Search: import name, product, company name, account id."),
    OpenApiParameter("job", int, description="One job by its id."),
]


@extend_schema(
    tags=["imports"], summary="Import jobs (My imports), newest first", parameters=LISTING_PARAMETERS,
    responses={200: ImportJobSerializer(many=True),
               400: OpenApiResponse(ErrorSerializer, description="A filter value or per_page that is not one.")},
)
class ImportList(generics.ListAPIView):
    serializer_class = ImportJobSerializer
    pagination_class = NewestFirstCursor

    def list(self, request, *args, **kwargs):
        # A filter the list would ignore (an unknown status, a date that is not one) is the client's
        # mistake: said, not answered with every job as if there were no filter.
        if problems := listing_problems(request.query_params):
            return validation_response(problems)
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return imports_for_api(self.request.user, Listing.parse(self.request.query_params))


@extend_schema(tags=["imports"], summary="One import job with its rows")
class ImportDetail(generics.RetrieveAPIView):
    serializer_class = ImportJobSerializer

    def get_object(self):
        return import_for_user(self.request.user, job_id=self.kwargs["job_id"])


@extend_schema(
    tags=["imports"], summary="Cancel a pending import", request=None, parameters=[IDEMPOTENCY_PARAMETER],
    responses={200: ImportJobSerializer, 404: ErrorSerializer, 409: OpenApiResponse(ErrorSerializer, description="Not pending any more.")},
)
class ImportCancel(APIView):
    @idempotent
    def post(self, request, job_id):
        job = import_for_user(request.user, job_id=job_id)
        if request.data:  # cancel takes no fields: anything sent is a mistake worth telling
            names = request.data if isinstance(request.data, Mapping) else ["non_field_errors"]
            return validation_response({str(name): [str(UNKNOWN_FIELD)] for name in names})
        try:
            cancelled = import_cancel(job_id=job.pk, user=request.user)
        except (ImportJob.DoesNotExist, PermissionDenied):
            raise Http404 from None
        if not cancelled:
            return Response(error_body(JOB_NOT_CANCELLABLE), status=status.HTTP_409_CONFLICT)
        return Response(ImportJobSerializer(import_for_user(request.user, job_id=job.pk)).data)


@extend_schema(
    tags=["imports"], summary="Reschedule a pending import", request=RescheduleSerializer, parameters=[IDEMPOTENCY_PARAMETER],
    responses={200: ImportJobWithWarningsSerializer, 400: ErrorSerializer, 404: ErrorSerializer,
               409: OpenApiResponse(ErrorSerializer, description="Not pending any more.")},
)
class ImportReschedule(APIView):
    @idempotent
    def post(self, request, job_id):
        job = import_for_user(request.user, job_id=job_id)
        now = db_now()
        serializer = RescheduleSerializer(data=request.data, context={"now": now})
        serializer.is_valid(raise_exception=True)
        due_at = serializer.validated_data["schedule_at"]
        try:
            result = import_reschedule(job_id=job.pk, user=request.user, due_at=due_at, now=now)
        except (ImportJob.DoesNotExist, PermissionDenied):
            raise Http404 from None
        except ValidationError as exc:
            return validation_response({"schedule_at": list(exc.messages)})
        except JobNotReschedulable as exc:
            return Response(error_body(exc.message), status=status.HTTP_409_CONFLICT)
        return Response(_with_warnings(request.user, job, result.warnings))
