"""Every API error as {"detail": "...", "errors": {field: [messages]}}, with the pages' messages.

DRF's own exceptions (401, 403, 404, 405, 413, 415, 429, parse errors) and the services' Django
exceptions (ValidationError, PermissionDenied, Http404, the wizard's WizardStepError) all end
here. PermissionDenied from a service means "not in your subtree": 404, like the pages, so a
token learns nothing about other resellers' objects.
"""

import math

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.messages import TOKEN_MISSING


INVALID_INPUT = _("The request has errors; see errors for each field.")
NOT_FOUND = _("Not found, or not visible to this token.")
THROTTLED = _("Too many requests for this token. Try again in %(seconds)d seconds.")
NON_FIELD = "non_field_errors"


def error_body(detail, errors: dict | None = None) -> dict:
    return {"detail": str(detail), "errors": errors or {}}


def _messages(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [message for item in value for message in _messages(item)]
    if isinstance(value, dict):
        return [message for item in value.values() for message in _messages(item)]
    return [str(value)]


def field_errors(detail) -> dict[str, list[str]]:
    """DRF's validation detail (nested dicts and lists) → {field: [messages]}, nested names dotted."""
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for name, value in detail.items():
            if isinstance(value, dict):
                for inner, messages in field_errors(value).items():
                    errors[f"{name}.{inner}"] = messages
            else:
                errors[str(name)] = _messages(value)
        return errors
    return {NON_FIELD: _messages(detail)}


def validation_response(errors: dict[str, list[str]], *, detail=None) -> Response:
    """400 with the errors; the detail is the only message when there is one, else a summary."""
    if detail is None:
        messages = [message for field_messages in errors.values() for message in field_messages]
        detail = messages[0] if len(messages) == 1 else INVALID_INPUT
    return Response(error_body(detail, errors), status=status.HTTP_400_BAD_REQUEST)


def django_validation_errors(exc: DjangoValidationError, *, rename: dict[str, str] | None = None) -> dict[str, list[str]]:
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        return {
            rename.get(name, NON_FIELD if name == "__all__" else name): list(messages)
            for name, messages in exc.message_dict.items()
        }
    return {NON_FIELD: list(exc.messages)}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return validation_response(django_validation_errors(exc))
    if isinstance(exc, exceptions.NotAuthenticated):
        # Says how to get a token, not just "no credentials"; keeps the WWW-Authenticate DRF chose.
        auth_header = getattr(exc, "auth_header", None)
        exc = exceptions.NotAuthenticated(TOKEN_MISSING)
        exc.auth_header = auth_header
    if isinstance(exc, (Http404, PermissionDenied)):
        exc = exceptions.NotFound(NOT_FOUND)
    if isinstance(exc, exceptions.NotFound) and str(exc.detail) == str(exceptions.NotFound.default_detail):
        exc = exceptions.NotFound(NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 (logged), never a traceback in the body
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        body = validation_response(errors).data
    elif isinstance(exc, exceptions.Throttled):
        seconds = max(math.ceil(exc.wait or 1), 1)
        body = error_body(THROTTLED % {"seconds": seconds})
        # DRF rounds the wait down (and leaves the header out without one): a client retrying at
        # Retry-After must not be refused again.
        response["Retry-After"] = str(seconds)
    else:
        body = error_body(exc.detail if not isinstance(exc.detail, (list, dict)) else " ".join(_messages(exc.detail)))
    response.data = body
    return response
