"""`GET /api/v1/upcoming/`: the Upcoming view as an API list, with the page's filters as query
parameters (days, kind, company, per_page) and keyset pages like the imports list's
(`{"next", "previous", "results"}`; follow the links as they are). Thin: imports.upcoming.listing
parses, imports.upcoming.selectors reads."""

from django.utils.http import urlencode
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import validation_response
from core.clock import db_now

from imports.upcoming.listing import HORIZONS, KINDS, MAX_PAGE_SIZE, UpcomingQuery, upcoming_problems
from imports.upcoming.selectors import upcoming_page


class UpcomingItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(KINDS), help_text="provisioning, change, renewal, renewal_changes, window.")
    kind_label = serializers.CharField(help_text="The kind as the page says it, in the request's language.")
    at = serializers.DateTimeField(help_text="When it happens (UTC).")
    day = serializers.DateField(help_text="The UTC day the page groups it under.")
    company_account_id = serializers.IntegerField(source="company.account_id")
    company_name = serializers.CharField(source="company.name")
    subscription_account_id = serializers.IntegerField(source="subscription.account_id", allow_null=True, default=None)
    import_id = serializers.IntegerField(source="job.pk", allow_null=True, default=None, help_text="A new subscription's import job.")
    change_id = serializers.IntegerField(source="change.pk", allow_null=True, default=None)
    text = serializers.CharField(help_text='What happens: "Quantity 1 → 3 on 2026-12-06 10:30 UTC", "Renews at 12.50 USD".')
    renewal_price = serializers.CharField(
        source="price_text", help_text='A renewal: quantity × the unit price in force on the renewal day, "12.50 USD"; else empty.'
    )
    changes = serializers.ListField(child=serializers.CharField(), help_text="A renewal's changes, each as a sentence.")


@extend_schema(
    tags=["upcoming"],
    summary="What is scheduled next across the user's subtree (the Upcoming view)",
    parameters=[
        OpenApiParameter("days", int, enum=list(HORIZONS), description="The horizon: 7, 30 (default) or 90 days from now."),
        OpenApiParameter("kind", str, many=True, enum=list(KINDS), description="Repeat for several; none: every kind."),
        OpenApiParameter("company", int, description="A company's account id: its items and those of every company below it."),
        OpenApiParameter("per_page", int, description=f"1 to {MAX_PAGE_SIZE}; default 50."),
        OpenApiParameter("cursor", str, description="From the next and previous links."),
    ],
    responses={
        200: inline_serializer("UpcomingPage", {
            "next": serializers.URLField(allow_null=True), "previous": serializers.URLField(allow_null=True),
            "results": UpcomingItemSerializer(many=True),
        }),
        400: OpenApiResponse(description="A parameter value the list cannot use (named with its allowed values)."),
    },
)
class UpcomingList(APIView):
    def get(self, request):
        if problems := upcoming_problems(request.query_params):
            return validation_response(problems)
        page = upcoming_page(request.user, UpcomingQuery.parse(request.query_params), now=db_now())
        return Response({
            "next": self._link(request, page.next()),
            "previous": self._link(request, page.previous()),
            "results": UpcomingItemSerializer(page.items, many=True).data,
        })

    @staticmethod
    def _link(request, query) -> str | None:
        if query is None:
            return None
        return request.build_absolute_uri(request.path) + "?" + urlencode(query.params(), doseq=True)
