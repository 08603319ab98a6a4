"""API: scheduled changes to a live subscription (issue 27, point 5).

POST subscriptions/{account_id}/changes/ schedules one (Idempotency-Key like every POST): 201 with the change
and its job; 409 with both changes when one of the kind is open and `replace` is false; 400 with the rule's
message. GET lists the subscription's changes, newest first. A change is cancelled and rescheduled like any
import (imports/{id}/cancel/, imports/{id}/reschedule/ on its job) or here (changes/{id}/cancel/, /reschedule/).

Thin: the rules are orders.changes.rules', the writes imports.changes.services'.
"""

from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import BillingFrequency, Service, Term
from core.api.errors import NON_FIELD, error_body, validation_response
from core.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from core.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from core.api.pagination import NewestFirstCursor
from core.clock import db_now
from core.stored_messages import rendered
from orders.changes.describe import change_text
from orders.changes.rules import ALREADY_OPEN, ChangeSpec, before_values, due_at_for
from orders.models import SubscriptionChange
from orders.selectors import subscription_for_user

from imports.api.scheduling import UNKNOWN_FIELD
from imports.api.views import (
    SCHEDULE_AT_INVALID,
    ErrorSerializer,
    ImportJobSerializer,
    ImportJobWithWarningsSerializer,
    RescheduleSerializer,
    _StrictSerializer,
    _utc,
    _with_warnings,
)
from imports.changes.services import (
    ChangeConflict,
    ChangeNotCancellable,
    ChangeRefused,
    change_cancel,
    change_job,
    change_reschedule,
    change_schedule,
)
from imports.jobs.services import JobNotReschedulable
from imports.my_imports.selectors import import_for_user

Kind = SubscriptionChange.Kind
When = SubscriptionChange.When
PRODUCT_NOT_FOUND = _("No service has the product code %(code)s.")


class SubscriptionChangeSerializer(serializers.ModelSerializer):
    subscription_account_id = serializers.IntegerField(source="subscription.account_id")
    applies_at = serializers.DateTimeField(source="due_at", help_text="When it applies (UTC): the chosen time, or the renewal.")
    billing_cycle = serializers.CharField(source="billing_frequency", help_text="The new billing cycle (billing_cycle changes).")
    product_code = serializers.SerializerMethodField(help_text="The upgrade's product (upgrade changes), else empty.")
    description = serializers.SerializerMethodField(help_text='"Quantity 10 → 8 at renewal on 2027-03-01", in the reader\'s language.')
    reason = serializers.SerializerMethodField(help_text="Why it failed or was wiped, in the reader's language.")
    job_id = serializers.SerializerMethodField(help_text="Its import job (cancel and reschedule it like any import).")

    class Meta:
        model = SubscriptionChange
        fields = [
            "id", "subscription_account_id", "kind", "when", "applies_at", "status", "quantity", "billing_cycle",
            "term", "product_code", "auto_renew", "before", "description", "reason", "created_at", "sent_at",
            "applied_at", "job_id",
        ]
        read_only_fields = fields

    def get_product_code(self, change) -> str:
        return change.service.code if change.service_id else ""

    def get_description(self, change) -> str:
        return change_text(change)

    def get_reason(self, change) -> str:
        return rendered(change.reason)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_job_id(self, change):
        row = getattr(change, "import_row", None) if change.pk else None
        return row.job_id if row is not None else None


class NewChangeSerializer(_StrictSerializer):
    schedule_required = False
    kind = serializers.ChoiceField(choices=Kind.values, help_text="quantity, billing_cycle, term, upgrade, auto_renew or cancel.")
    when = serializers.ChoiceField(
        choices=When.values, required=False, default=When.AT,
        help_text='"at" schedule_at (now when empty), or "renewal" (sent to the vendor at once as next-term instructions).',
    )
    schedule_at = StrictCharField(
        required=False, allow_null=True, allow_blank=True,
        help_text='For "at": ISO 8601, UTC (e.g. 2027-03-01T10:00:00Z); empty or left out: now.',
    )
    quantity = StrictIntegerField(required=False, help_text="The new quantity (kind quantity).")
    billing_cycle = StrictCharField(required=False, help_text=f"kind billing_cycle: {', '.join(BillingFrequency.values)}.")
    term = StrictCharField(required=False, help_text=f"kind term: {', '.join(Term.values)}.")
    product_code = StrictCharField(required=False, help_text="The product to upgrade to (kind upgrade), on the catalog's upgrade path.")
    auto_renew = StrictBooleanField(required=False, help_text="kind auto_renew.")
    replace = StrictBooleanField(
        required=False, default=False, help_text="true replaces the open change of the same kind (else 409 shows both).",
    )
    accept_terms = StrictBooleanField(
        required=False, default=False,
        help_text="true accepts, for the whole price list, the terms of what the change leaves charged for (the "
        "service, or the upgrade's target) when not yet accepted, as the subscription page's review does; "
        "without it such a change is refused with the terms' reason.",
    )

    def validate_schedule_at(self, value):
        if not value:
            return None
        due_at = _utc(value)
        if due_at is None:
            raise serializers.ValidationError(str(SCHEDULE_AT_INVALID))
        return due_at


class ChangeScheduledSerializer(serializers.Serializer):
    change = SubscriptionChangeSerializer()
    job = ImportJobSerializer()
    notices = serializers.ListField(child=serializers.CharField(), help_text="e.g. the pro-rated credit of a cancellation now.")


class ChangeConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    open_change = SubscriptionChangeSerializer(help_text="The open change of the same kind.")
    requested = serializers.DictField(help_text="The change asked for: kind, when, applies_at, description.")


def _spec(data: dict) -> ChangeSpec | dict:
    """The request as a ChangeSpec, or the errors of a product code that names no service."""
    service = None
    if code := data.get("product_code"):
        service = Service.objects.select_related("vendor").filter(code=code).first()
        if service is None:
            return {"product_code": [str(PRODUCT_NOT_FOUND % {"code": code})]}
    return ChangeSpec(
        kind=data["kind"], when=data["when"], at=data.get("schedule_at"), quantity=data.get("quantity"),
        billing_frequency=data.get("billing_cycle", ""), term=data.get("term", ""), service=service,
        auto_renew=data.get("auto_renew"),
    )


def _requested(subscription, spec: ChangeSpec, *, now) -> dict:
    unsaved = SubscriptionChange(
        subscription=subscription, kind=spec.kind, when=spec.when, due_at=due_at_for(subscription, spec, now=now) or now,
        before=before_values(subscription), **spec.values(),
    )
    return {"kind": spec.kind, "when": spec.when, "applies_at": unsaved.due_at, "description": change_text(unsaved)}


@extend_schema(tags=["subscriptions"])
class SubscriptionChangeList(generics.ListAPIView):
    serializer_class = SubscriptionChangeSerializer
    pagination_class = NewestFirstCursor

    def get_queryset(self):
        subscription = subscription_for_user(self.request.user, account_id=self.kwargs["account_id"])
        return SubscriptionChange.objects.filter(subscription=subscription).select_related("subscription", "service", "import_row")

    @extend_schema(summary="The subscription's scheduled changes, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Schedule a change to the subscription",
        description="Quantity, billing cycle, term, upgrade, auto-renew or cancellation, at a chosen UTC time (now "
        "included) or at renewal, under the same rules and messages as the subscription page.",
        request=NewChangeSerializer, parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: ChangeScheduledSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad input or refused by the rules; nothing was written."),
            404: ErrorSerializer,
            409: OpenApiResponse(ChangeConflictSerializer, description="A change of the kind is open (replace: true replaces it), "
                                 "or the Idempotency-Key was reused with a different request."),
        },
    )
    def post(self, request, account_id):
        return self._schedule(request, account_id)

    @idempotent
    def _schedule(self, request, account_id):
        subscription = subscription_for_user(request.user, account_id=account_id)
        now = db_now()
        serializer = NewChangeSerializer(data=request.data, context={"now": now})
        serializer.is_valid(raise_exception=True)
        spec = _spec(serializer.validated_data)
        if isinstance(spec, dict):
            return validation_response(spec)
        try:
            scheduled = change_schedule(
                subscription_id=subscription.pk, user=request.user, spec=spec,
                replace_open=serializer.validated_data["replace"], now=now,
                accept_terms=serializer.validated_data["accept_terms"],
            )
        except PermissionDenied:
            raise Http404 from None
        except ChangeRefused as refused:
            return validation_response({NON_FIELD: refused.messages})
        except ChangeConflict as conflict:
            existing = conflict.existing
            body = error_body(ALREADY_OPEN % {"kind": existing.get_kind_display().lower(), "change": change_text(existing)})
            body["open_change"] = SubscriptionChangeSerializer(existing).data
            body["requested"] = _requested(subscription, spec, now=now)
            return Response(body, status=status.HTTP_409_CONFLICT)
        job = import_for_user(request.user, job_id=scheduled.job.pk)
        change = SubscriptionChange.objects.select_related("subscription", "service", "import_row").get(pk=scheduled.change.pk)
        return Response(
            {"change": SubscriptionChangeSerializer(change).data, "job": ImportJobSerializer(job).data, "notices": scheduled.notices},
            status=status.HTTP_201_CREATED,
        )


def _change_of(request, account_id, change_id) -> SubscriptionChange:
    subscription = subscription_for_user(request.user, account_id=account_id)
    change = SubscriptionChange.objects.filter(pk=change_id, subscription=subscription).first()
    if change is None:
        raise Http404
    return change


def _no_fields(request):
    if request.data:
        names = request.data if isinstance(request.data, Mapping) else [NON_FIELD]
        return validation_response({str(name): [str(UNKNOWN_FIELD)] for name in names})
    return None


@extend_schema(
    tags=["subscriptions"], summary="Cancel a scheduled change", request=None, parameters=[IDEMPOTENCY_PARAMETER],
    description="A pending change: its job is cancelled with it. A change the vendor holds for the renewal: "
    "cancelled, and a new job due now tells the vendor what remains.",
    responses={200: SubscriptionChangeSerializer, 404: ErrorSerializer,
               409: OpenApiResponse(ErrorSerializer, description="Already applied, failed, cancelled, or started.")},
)
class SubscriptionChangeCancel(APIView):
    @idempotent
    def post(self, request, account_id, change_id):
        change = _change_of(request, account_id, change_id)
        if (refused := _no_fields(request)) is not None:
            return refused
        try:
            change_cancel(change_id=change.pk, user=request.user)
        except PermissionDenied:
            raise Http404 from None
        except ChangeNotCancellable as exc:
            return Response(error_body(exc.message), status=status.HTTP_409_CONFLICT)
        change = SubscriptionChange.objects.select_related("subscription", "service", "import_row").get(pk=change.pk)
        return Response(SubscriptionChangeSerializer(change).data)


@extend_schema(
    tags=["subscriptions"], summary="Reschedule a pending change at a chosen time", request=RescheduleSerializer,
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={200: ImportJobWithWarningsSerializer, 400: ErrorSerializer, 404: ErrorSerializer,
               409: OpenApiResponse(ErrorSerializer, description="Not pending any more, or at renewal.")},
)
class SubscriptionChangeReschedule(APIView):
    @idempotent
    def post(self, request, account_id, change_id):
        change = _change_of(request, account_id, change_id)
        now = db_now()
        serializer = RescheduleSerializer(data=request.data, context={"now": now})
        serializer.is_valid(raise_exception=True)
        try:
            result = change_reschedule(change_id=change.pk, user=request.user, due_at=serializer.validated_data["schedule_at"], now=now)
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            return validation_response({"schedule_at": list(exc.messages)})
        except JobNotReschedulable as exc:
            return Response(error_body(exc.message), status=status.HTTP_409_CONFLICT)
        return Response(_with_warnings(request.user, change_job(change) or result.job, result.warnings))
