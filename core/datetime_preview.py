"""The UTC line under a date-time control, as the reseller types (static/js/datetimes.js asks it).

Computed by core.datetimes.parse_zoned, the same parse the forms run on submit, so what the line
says is what gets stored: no second conversion written in JavaScript to drift from this one.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.datetimes import STORED_AS, TEXT_MAX_LENGTH, parse_zoned, utc_text


@never_cache
@login_required
@require_safe
def datetime_preview(request):
    """?value=YYYY-MM-DD HH:MM&zone=Area/City → {"utc": "Stored as … UTC", "error": ""}.
    A value not (yet) in the format says nothing: the reseller is still typing."""
    text = request.GET.get("value", "")[: TEXT_MAX_LENGTH + 1].strip()
    zone = request.GET.get("zone", "")
    if not text:
        return JsonResponse({"utc": "", "error": ""})
    try:
        value = parse_zoned(text, zone)
    except ValidationError as error:
        message = "" if error.code == "invalid" else error.messages[0]
        return JsonResponse({"utc": "", "error": message})
    return JsonResponse({"utc": str(STORED_AS % {"utc": utc_text(value)}), "error": ""})
