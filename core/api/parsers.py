"""JSON bodies, at most settings.API_MAX_BODY_BYTES (1 MB): larger ones are refused with 413
before they are read into memory, whatever Content-Length says."""

import io

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

BODY_TOO_LARGE = _("The request body is larger than %(limit)s bytes.")
MALFORMED_JSON = _("The request body is not valid JSON: %(error)s")


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def body_too_large() -> BodyTooLarge:
    return BodyTooLarge(BODY_TOO_LARGE % {"limit": settings.API_MAX_BODY_BYTES})


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise body_too_large()
        try:
            return super().parse(io.BytesIO(data), media_type, parser_context)
        except exceptions.ParseError as exc:
            # DRF says "JSON parse error - ..."; ours names what is wrong the way the pages do.
            raise exceptions.ParseError(MALFORMED_JSON % {"error": str(exc.detail).removeprefix("JSON parse error - ")}) from None
