"""Idempotency-Key on POST: the same key with the same request returns the first answer (and
does nothing more) for 24 hours; the same key with a different request answers 409.

The view runs in one transaction with the record of its answer, so a request either did its
work and recorded it, or did neither. Only successful answers are recorded: a refused request
wrote nothing and may be sent again, corrected, with the same key. Two requests racing with one
key: the unique (user, key) lets one commit; the other rolls back and replays that answer.
"""

import datetime as dt
import functools
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.response import Response

from core.models import IdempotencyRecord

from core.api.errors import error_body

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"

KEY_INVALID = _("Idempotency-Key must be 1 to 255 visible ASCII characters.")
KEY_REUSED = _("This Idempotency-Key was already used with a different request; use a new key for a new request.")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Any unique string (e.g. a UUID). Repeating a request with the same key within 24 hours "
    "returns the first answer and creates nothing more; the same key with a different body answers 409.",
)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= KEY_MAX_LENGTH and key.isascii() and key.isprintable()


def _live(user, key: str, now: dt.datetime):
    since = now - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    return IdempotencyRecord.objects.filter(user=user, key=key, created_at__gte=since).first()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        return Response(error_body(KEY_REUSED), status=status.HTTP_409_CONFLICT)
    response = Response(record.response_body, status=record.status_code)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(handler):
    """Decorate an APIView's post(): honours the Idempotency-Key header."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    transaction.set_rollback(True)  # a refused request writes nothing
                return response
        if not _valid_key(key):
            return Response(error_body(KEY_INVALID, {HEADER: [str(KEY_INVALID)]}), status=status.HTTP_400_BAD_REQUEST)
        fingerprint = _fingerprint(request)  # parses the body: a malformed one is 400 here
        now = timezone.now()
        if record := _live(request.user, key, now):
            return _replay(record, fingerprint)
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    transaction.set_rollback(True)  # a refused request writes nothing
                    return response
                # Records past their replay time (this key's, and anyone's) give way: the table
                # stays as small as a day of POSTs.
                idempotency_records_purge(now=now)
                IdempotencyRecord.objects.create(
                    user=request.user, key=key, fingerprint=fingerprint, status_code=response.status_code,
                    response_body=json.loads(json.dumps(response.data, default=str)), created_at=now,
                )
                return response
        except IntegrityError:
            # Another request with this key committed first: its answer is this one's.
            record = _live(request.user, key, timezone.now())
            if record is None:
                raise
            return _replay(record, fingerprint)

    return wrapper


def idempotent_answer_amend(request, response) -> None:
    """Record `response` (changed after the view's transaction committed) as the answer of this request's
    Idempotency-Key, so a replay answers the same. For what a view learns only outside its transaction
    (e.g. the vendor's pre-check, a remote call no transaction may wait on); a crash before this keeps the
    first answer, which was true when it was committed."""
    key = request.headers.get(HEADER)
    if key is None or not _valid_key(key) or response.get(REPLAYED_HEADER):
        return
    IdempotencyRecord.objects.filter(user=request.user, key=key, fingerprint=_fingerprint(request)).update(
        response_body=json.loads(json.dumps(response.data, default=str))
    )


def idempotency_records_purge(*, now: dt.datetime | None = None) -> int:
    """Delete records past their replay time (they are ignored anyway; this keeps the table small)."""
    since = (now or timezone.now()) - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    return IdempotencyRecord.objects.filter(created_at__lt=since).delete()[0]
