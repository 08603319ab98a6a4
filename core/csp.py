"""Content-Security-Policy on every response (Django 5.2 has no CSP of its own).

The policy is settings.CONTENT_SECURITY_POLICY; CONTENT_SECURITY_POLICY_PATHS may give a path prefix
its own (the first prefix that matches wins). An empty policy sends no header. A view that set the
header itself keeps it. The pages keep every script and style in static files, so the policy needs
no 'unsafe-inline' (htmx's injected indicator style is off: templates/imports/my_imports.html).
"""

from django.conf import settings


def policy_for(path: str) -> str:
    for prefix, policy in getattr(settings, "CONTENT_SECURITY_POLICY_PATHS", {}).items():
        if path.startswith(prefix):
            return policy
    return settings.CONTENT_SECURITY_POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = policy_for(request.path_info)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
