"""JSON bodies, at most settings.API_MAX_BODY_BYTES (1 MB): larger ones are refused with 413
before they are read into memory, whatever Content-Length says; nesting too deep for json is a
400 like any other malformed body."""

import io

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

BODY_TOO_LARGE = _("The request body is larger than %(limit)s bytes.")
MALFORMED_JSON = _("The request body is not valid JSON: %(error)s")
JSON_TOO_DEEP = _("The request body is JSON nested too deeply to be read; no field of this API nests more than a few levels.")


# No request of this API nests deeper than a few levels; the idempotency hash and the error
# messages walk a body recursively, so a deep one is refused here, once.
MAX_DEPTH = 32


def _depth_over(value, limit: int) -> bool:
    """Whether lists and dicts nest deeper than `limit` in `value` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


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
            parsed = super().parse(io.BytesIO(data), media_type, parser_context)
            if _depth_over(parsed, MAX_DEPTH):
                raise RecursionError  # read, but deeper than anything after would walk safely
            return parsed
        except RecursionError:
            # [[[[... 100,000 deep fits in far less than the limit; json gives up at Python's
            # recursion limit, which is no ValueError, so DRF would let it through as a 500.
            raise exceptions.ParseError(JSON_TOO_DEEP) from None
        except exceptions.ParseError as exc:
            # DRF says "JSON parse error - ..."; ours names what is wrong the way the pages do.
            raise exceptions.ParseError(MALFORMED_JSON % {"error": str(exc.detail).removeprefix("JSON parse error - ")}) from None
