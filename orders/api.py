"""API: what a company can order (services, from the price list and the wizard's fields) and the
subscriptions of the token's subtree."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.numbers import parse_whole
from accounts.selectors import companies_visible_to, company_for_user
from core.api.pagination import AccountIdCursor

from .models import Subscription
from .offers import service_offers
from .selectors import subscription_for_user


class BillingOptionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The value of billing_type when scheduling.")
    label = serializers.CharField()
    term = serializers.CharField()
    billing_frequency = serializers.CharField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=5)
    selling_price = serializers.DecimalField(max_digits=14, decimal_places=5)
    currency = serializers.CharField()


class ConfigurationFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    required = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=["text", "choice"])
    choices = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    initial = serializers.CharField(help_text="Used when the field is left out.")
    max_length = serializers.IntegerField(allow_null=True)
    help_text = serializers.CharField()


class ServiceOfferSerializer(serializers.Serializer):
    code = serializers.CharField(source="service.code", help_text="The product_code when scheduling.")
    name = serializers.CharField(source="service.name")
    description = serializers.CharField(source="service.description")
    vendor = serializers.CharField(source="service.vendor.name")
    category = serializers.CharField(source="service.category.name", allow_null=True, default=None)
    tags = serializers.SerializerMethodField()
    once_per_account = serializers.BooleanField(source="service.once_per_account")
    max_quantity = serializers.IntegerField(source="service.max_quantity")
    billing_types = BillingOptionSerializer(many=True)
    terms_required = serializers.BooleanField()
    terms_accepted = serializers.BooleanField(
        help_text="False: schedule with accept_terms: true to accept them for the whole price list, as the wizard's Accept."
    )
    vendor_fields = ConfigurationFieldSerializer(many=True, help_text="Extra configuration fields of the vendor.")

    def get_tags(self, offer) -> list[str]:
        return [tag.name for tag in offer.service.tags.all()]


@extend_schema(tags=["companies"], summary="Services the company's price list offers today", responses=ServiceOfferSerializer(many=True))
class CompanyServiceList(APIView):
    def get(self, request, account_id):
        company = company_for_user(request.user, account_id=account_id)
        offers = service_offers(company, day=timezone.now().date())
        return Response(ServiceOfferSerializer(offers, many=True).data)


class SubscriptionSerializer(serializers.ModelSerializer):
    company_account_id = serializers.IntegerField(source="company.account_id", read_only=True)
    company_name = serializers.CharField(source="company.name", read_only=True)
    product_code = serializers.CharField(source="service.code", read_only=True)
    product_name = serializers.CharField(source="service.name", read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "account_id", "name", "status", "company_account_id", "company_name", "product_code", "product_name",
            "quantity", "term", "billing_frequency", "unit_cost", "unit_price", "currency", "attributes", "created_at",
            # The vendor's ids and last status when the order went through its integration (issue 25);
            # empty strings for a subscription provisioned locally.
            "vendor_subscription_id", "vendor_order_id", "vendor_status",
            # The current term (issue 27; fixed keys): null for a service without a term. The cancellation
            # window is the 7 days (168 h) after the purchase or the last renewal; `synced_at` is when the
            # vendor was last asked (null for a local provisioning), `next_term_instructions` what it holds
            # for the renewal.
            "term_start", "term_end", "auto_renew", "cancellation_window_ends_at", "next_term_instructions", "synced_at",
        ]
        read_only_fields = fields


@extend_schema(
    tags=["subscriptions"], summary="Subscriptions of the token's subtree",
    parameters=[
        OpenApiParameter("company", int, description="Only this company's (its account id)."),
        OpenApiParameter("status", str, enum=Subscription.Status.values),
    ],
)
class SubscriptionList(generics.ListAPIView):
    serializer_class = SubscriptionSerializer
    pagination_class = AccountIdCursor

    def get_queryset(self):
        subscriptions = Subscription.objects.filter(company__in=companies_visible_to(self.request.user)).select_related(
            "company", "service"
        )
        params = self.request.query_params
        company = params.get("company", "")
        if company:
            subscriptions = subscriptions.filter(company__account_id=-1 if (number := parse_whole(company)) is None else number)
        if params.get("status") in Subscription.Status.values:
            subscriptions = subscriptions.filter(status=params["status"])
        return subscriptions


@extend_schema(tags=["subscriptions"], summary="One subscription by its account id")
class SubscriptionDetail(generics.RetrieveAPIView):
    serializer_class = SubscriptionSerializer

    def get_object(self):
        return subscription_for_user(self.request.user, account_id=self.kwargs["account_id"])
