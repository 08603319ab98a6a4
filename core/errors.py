"""Error answers that look like the portal (the 404/403/500 pages are the templates of the same
names, which Django's default handlers render when DEBUG is off).

Django has no handler for 405: a view refusing a method answers an empty HttpResponseNotAllowed,
a blank page in the browser. And an admin date filter with an impossible value
(?scheduled_for__year=99999) fails only when the list is counted, after the admin's own check for
bad filters, so it would be a 500 instead of the admin's "?e=1" answer.
"""

from django.contrib.admin.views.main import ERROR_FLAG
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string


class ErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not getattr(response, "streaming", False) and not response.content:
            response.content = render_to_string("405.html", {"allowed": response.get("Allow", "")}, request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response

    def process_exception(self, request, exception):
        match = getattr(request, "resolver_match", None)
        if (
            isinstance(exception, (ValueError, OverflowError))
            and match is not None
            and match.app_name == "admin"
            and match.url_name
            and match.url_name.endswith("_changelist")
            and ERROR_FLAG not in request.GET
        ):
            # Bounds of a date lookup out of Python's range (year 99999): the admin's answer to any
            # filter it cannot apply.
            return HttpResponseRedirect(request.path + "?" + ERROR_FLAG + "=1")
        return None
