"""API: the companies a token may see (its user's subtree), with the company page's overview fields."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from core.api.pagination import AccountIdCursor

from accounts.models import Company
from accounts.selectors import companies_visible_to, company_for_user


class CompanySerializer(serializers.ModelSerializer):
    parent_account_id = serializers.IntegerField(source="parent.account_id", allow_null=True, read_only=True)
    parent_numeric_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = Company
        # The overview's sections: company details, account information, contract, contact, payment.
        fields = [
            "account_id", "name", "kind", "status", "parent_account_id",
            "domain", "numeric_id", "vat_id", "parent_numeric_id",
            "language", "sales_manager", "marketplace", "send_to_backend", "create_user_id_service",
            "contract_id", "customer_id", "contract_end_date",
            "address", "city", "country", "zip_code", "email", "contact_phone", "contact_person",
            "technical_contact", "technical_account_manager", "technical_contact_email",
            "billing_start_date", "is_billable", "currency", "bank_name", "bank_identifier_code",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema(tags=["companies"], summary="Companies of the token's subtree")
class CompanyList(generics.ListAPIView):
    serializer_class = CompanySerializer
    pagination_class = AccountIdCursor

    def get_queryset(self):
        return companies_visible_to(self.request.user).select_related("parent")


@extend_schema(tags=["companies"], summary="One company (404 outside the token's subtree)")
class CompanyDetail(generics.RetrieveAPIView):
    serializer_class = CompanySerializer

    def get_object(self):
        return company_for_user(self.request.user, account_id=self.kwargs["account_id"])
