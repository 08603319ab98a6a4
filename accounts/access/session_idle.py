"""The idle end of a session: SESSION_COOKIE_AGE after the last request, pushed back at most once
a minute.

Django's SESSION_SAVE_EVERY_REQUEST pushes it back exactly, but re-signs and writes the session on
every request, a sixth of a My imports page's time beyond its own work (1.5 ms of ~30). Here a
request writes the session only when its last push is a minute old or more, so a session ends
between SESSION_COOKIE_AGE - 60 s and SESSION_COOKIE_AGE after the last request.
"""

import time

REFRESH_SECONDS = 60
REFRESHED_KEY = "_idle_refreshed_at"


class SessionIdleRefreshMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        # Only a session that exists (a visitor without one gets none from here); time.time, so
        # tests that freeze the clock move this one too.
        if session.session_key is not None:
            now = int(time.time())
            if now - session.get(REFRESHED_KEY, 0) >= REFRESH_SECONDS:
                session[REFRESHED_KEY] = now  # modified: SessionMiddleware saves it with a new expiry
        return self.get_response(request)
