"""Settings for the ICP portal, driven by the environment (django-environ).

Every variable is documented in `.env.example`. A `.env` file beside manage.py is read
when present; real environment variables win over it.
"""

import datetime as dt
import warnings
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from imports.engine.config import ENGINE_COMMANDS, as_settings, config_from_env

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# "production" turns on every deploy check; anything else is a developer machine.
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
# Off unless asked for, in development too: `make run` then shows the portal's own 404/403/405/500
# pages (Django's technical pages list every URL pattern). DJANGO_DEBUG=true for debugging.
DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _secret_key() -> str:
    key = env.str("DJANGO_SECRET_KEY", default="")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_ENV=production.")
    # Development: generate one key per checkout and keep it, so the web server and the
    # worker agree and sessions survive restarts. The file is git-ignored.
    key_file = BASE_DIR / ".secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _allowed_hosts() -> list[str]:
    hosts = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if hosts:
        return hosts
    if PRODUCTION:
        # An empty list would answer every request with 400: refuse to start instead.
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_ENV=production.")
    return ["127.0.0.1", "localhost", "testserver"]


ALLOWED_HOSTS = _allowed_hosts()
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Absolute address of the portal, used for links in emails (sent from a worker, which has no request).
# Unset, it follows PORT (the port `make run` serves on), so links in emails reach this server.
SITE_URL = (env.str("SITE_URL", default="") or f"http://127.0.0.1:{env.str('PORT', default='') or 8000}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    # Login protection (lockout after repeated failures) and staff impersonation.
    "axes",
    "hijack",
    # The REST API (/api/v1/) and its OpenAPI schema; the docs' assets come from the sidecar (static/, no CDN).
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "catalog",
    "orders",
    "imports",
    # The bottom layer every app may import (API machinery, claiming, the outbox); app label "icp".
    "core",
    # After accounts: adds the "impersonate" button to accounts' user admin.
    "hijack.contrib.admin",
]
# Demo data and benchmarks (seed_demo, bench_*): development and tests only, never in production.
if not PRODUCTION:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "core.csp.ContentSecurityPolicyMiddleware",
    # Serves STATIC_ROOT from the app server (gunicorn in `make serve`): no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Pushes the session's idle end back, at most once a minute (SESSION_COOKIE_AGE below).
    "accounts.access.session_idle.SessionIdleRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Marks request.user.is_hijacked; then ours remembers the staff member for the audit log.
    "hijack.middleware.HijackUserMiddleware",
    "accounts.impersonation.ImpersonatorMiddleware",
    # Users asked to change their password (RESET PASSWORD) must do so before anything else.
    "accounts.users.password_change.PasswordChangeRequiredMiddleware",
    # Portal pages for an empty 405 and admin filters with impossible values.
    "core.errors.ErrorPagesMiddleware",
    # Last: turns a lockout into the "too many attempts" page.
    "axes.middleware.AxesMiddleware",
]

# Axes first: it refuses a locked-out account or address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# SQLite by default. WAL lets the web server read while a worker writes; IMMEDIATE
# transactions take the write lock up front, so two writers queue on busy_timeout
# instead of failing with "database is locked" when a read lock is upgraded.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The session ends after this many minutes without a request (a request pushes the end back, at
# most once a minute: accounts.access.session_idle).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=60) * 60

# CREDENTIALS TO ALL USERS (company page) is refused for a company for this many minutes after it was
# last done for it: one click must not become a flood of set-password emails (accounts.companies.services).
COMPANY_CREDENTIALS_THROTTLE_MINUTES = env.int("COMPANY_CREDENTIALS_THROTTLE_MINUTES", default=15)

# --- Login protection (django-axes) on /login/ and /admin/login/ -------------------------
# 5 failures for one account, or 20 from one address, within 15 minutes: refused for 15 minutes.
# The two limits are applied by accounts.access.login_protection's handler (axes has one limit).
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
AXES_FAILURE_LIMIT = LOGIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "accounts.access.login_protection.LoginProtectionHandler"
# Both login forms post the email as "username" (axes would look for USERNAME_FIELD, "email").
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.access.login_protection.attempted_username"
AXES_LOCKOUT_CALLABLE = "accounts.access.login_protection.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every start
# A lock ends 15 minutes after it started: attempts during it must not push the end further.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_SENSITIVE_PARAMETERS = ["password", "new_password1", "new_password2"]
# The client address: REMOTE_ADDR, or behind `make serve`'s TLS proxy the address that proxy
# appended to X-Forwarded-For (LOGIN_PROXY_COUNT proxies in front; never the left-most value,
# which the client chooses). The header counts only when the request came from one of
# LOGIN_TRUSTED_PROXIES (addresses or networks, "*" for any): a client reaching gunicorn directly
# cannot pick its address. Default: gunicorn's --forwarded-allow-ips (FORWARDED_ALLOW_IPS, else
# 127.0.0.1 and ::1, the proxy on the same machine).
LOGIN_PROXY_COUNT = env.int("LOGIN_PROXY_COUNT", default=1 if PRODUCTION else 0)
LOGIN_TRUSTED_PROXIES = env.list(
    "LOGIN_TRUSTED_PROXIES", default=env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"])
)


def _check_trusted_proxies(entries: list[str]) -> None:
    import ipaddress

    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"LOGIN_TRUSTED_PROXIES: {entry!r} is neither an address nor a network (e.g. 10.0.0.0/8)."
            ) from None


_check_trusted_proxies(LOGIN_TRUSTED_PROXIES)
AXES_CLIENT_IP_CALLABLE = "accounts.access.login_protection.client_address"

# --- Staff impersonation (django-hijack) --------------------------------------------------
HIJACK_PERMISSION_CHECK = "accounts.impersonation.may_impersonate"
# The portal's own "Impersonated" badge (templates/base.html) replaces hijack's injected banner.
HIJACK_INSERT_BEFORE = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves hashed, compressed copies (collectstatic, then WhiteNoise, cached forever);
    # development and tests keep the plain storage so they need no collectstatic.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if not PRODUCTION:
    # DEBUG is off in development too, and runserver serves static files only with DEBUG on:
    # WhiteNoise serves them straight from the finders, no collectstatic needed.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
    # WhiteNoise warns when STATIC_ROOT does not exist; development serves static files from the
    # finders (runserver) and never needs collectstatic.
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# Mail: console by default; EMAIL_URL (e.g. smtp+tls://user:pass@host:587) switches to SMTP.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@marketplacepe.intcomexcloud.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- The import engine (django-q2 cluster, dispatcher, leases, email outbox) ----------------
# `manage.py imports_worker` runs a qcluster per lane (jobs, outbox: core.lanes) plus a dispatcher
# that claims due import jobs in batches and enqueues each batch as its own short task
# (imports.engine.dispatch). Every knob
# (Q_*, IMPORT_*, EMAIL_TIMEOUT), its default, its meaning and its invariants live with the
# engine, in imports/engine/config.py; `manage.py check` validates them (imports.engine.checks).
_engine = config_from_env(env)
vars().update(as_settings(_engine))
REDIS_URL = env.str("REDIS_URL", default="")
# The lane this process's cluster serves (core.lanes): `imports_worker` starts a cluster for each,
# setting it; a bare `manage.py qcluster` serves the jobs' lane.
IMPORT_WORKER_LANE = env.str("IMPORT_WORKER_LANE", default="jobs")
Q_CLUSTER = _engine.q_cluster(redis_url=REDIS_URL, label=_("Task queue"), lane=IMPORT_WORKER_LANE)
# The engine's own processes carry idle-in-transaction, lock and statement timeouts on PostgreSQL
# (imports.engine.config says why and how long): a frozen worker cannot hold locks others need.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and sys.argv[1:2] in [[c] for c in ENGINE_COMMANDS]:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = _engine.db_session_options()

# --- The REST API (/api/v1/, core/api/) ------------------------------------------------------
# JSON only, personal API tokens (Authorization: Bearer), the portal's messages in every error.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# Uploads (the IMPORT ACCOUNTS page's file, at most 5 MB): a body over UPLOAD_MAX_BODY_BYTES keeps
# its fields but not its files, read and dropped before any view (core.uploads), never spooled to
# disk; anything smaller stays in memory. Form fields other than files: Django's 2.5 MB, said here.
UPLOAD_MAX_BODY_BYTES = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BODY_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440
FILE_UPLOAD_HANDLERS = [
    "core.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Idempotency-Key: the first answer to a key is replayed for this long.
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.users.api_authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.TokenBurstThrottle", "core.api.throttling.TokenSustainedThrottle"],
    # Per token: a script may burst, not hammer. Requests without a valid token are refused (401)
    # before throttling, which needs to know the token.
    "DEFAULT_THROTTLE_RATES": {
        "token_burst": env.str("API_RATE_BURST", default="120/min"),
        "token_sustained": env.str("API_RATE_SUSTAINED", default="5000/hour"),
    },
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": LOGIN_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ICP portal API",
    "DESCRIPTION": (
        "Schedule the provisioning of subscriptions and follow the import jobs, as on the portal's pages. "
        "Authenticate with a personal API token (user page, SECURITY tab): `Authorization: Bearer <token>`. "
        "Every POST accepts an `Idempotency-Key` header. Errors are `{\"detail\": ..., \"errors\": {field: [messages]}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "validator" badge: it would send the schema to validator.swagger.io (and the CSP blocks its image).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" with different choices: each set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.models.Company.Status",  # companies and subscriptions
        "ImportStatusEnum": "imports.models.ImportJob.Status",
        "ImportRowStatusEnum": "imports.models.ImportRow.Status",
    },
}
# The API's throttle counters: shared by every web process through Redis when REDIS_URL is set;
# otherwise kept per process (each gunicorn worker counts on its own).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api_throttle": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env.str("REDIS_URL", default="")}
        if env.str("REDIS_URL", default="")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-throttle"}
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes logs every login at INFO; lockouts (WARNING) still show.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (core.csp), in development and tests too so that a violation shows up
# early: scripts and styles only from the portal's own static files (no inline ones), no plugins,
# no framing, forms post only here. CONTENT_SECURITY_POLICY_PATHS may give a path prefix its own.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    ),
)
CONTENT_SECURITY_POLICY_PATHS: dict[str, str] = {}

# Webhooks (company page, SECURITY tab): plain http:// to 127.0.0.1/localhost is accepted only with
# DEBUG or this set (tests); production endpoints must be https://. (How long each POST may take,
# WEBHOOK_TIMEOUT, is the engine's: imports/engine/config.py.)
WEBHOOKS_ALLOW_LOCAL_HTTP = env.bool("WEBHOOKS_ALLOW_LOCAL_HTTP", default=DEBUG)
# A webhook host must resolve only to globally routable addresses (no 10.x, 192.168.x, 169.254.x,
# loopback, ...), checked at save time and again before each POST. Internal receivers an operator
# trusts: their networks, comma-separated CIDRs (e.g. "10.20.0.0/16,fd12:3456::/48"). Default none.
WEBHOOKS_ALLOWED_PRIVATE_NETS = env.list("WEBHOOKS_ALLOWED_PRIVATE_NETS", default=[])

# --- Microsoft Partner Center (issue 25) ----------------------------------------------------
# Orders with Send to backend on go through Microsoft (the vendor checks at the pre-check and the due
# time, the cart and its checkout). Off: every order is provisioned locally, as before the connector
# (a machine with neither Microsoft nor the sandbox; the test suite, except the tests that start the
# sandbox, runs so).
MICROSOFT_ENABLED = env.bool("MICROSOFT_ENABLED", default=True)
# Microsoft Partner Center (catalog/integrations/partner_center/). Development points at the Partner
# Center sandbox that `make run` starts on 127.0.0.1:$SANDBOX_PORT (default 8001); production at Microsoft.
# The app's credentials come from an Entra ID app registration (client credentials); production has no
# default secret. `manage.py check` refuses, in production, an API or token URL that is not https:// or
# names a private, loopback or internal host (catalog.checks).
_SANDBOX_URL = f"http://127.0.0.1:{env.str('SANDBOX_PORT', default='') or 8001}"
# (An empty variable, as .env.example leaves them, means the default.)
MICROSOFT_API_URL = (
    env.str("MICROSOFT_API_URL", default="") or ("https://api.partnercenter.microsoft.com" if PRODUCTION else _SANDBOX_URL)
).rstrip("/")
# The partner's own Entra ID tenant (its id or domain), where the token is asked for.
MICROSOFT_PARTNER_TENANT = env.str("MICROSOFT_PARTNER_TENANT", default="") or "common"
MICROSOFT_TOKEN_URL = env.str("MICROSOFT_TOKEN_URL", default="") or (
    f"{'https://login.microsoftonline.com' if PRODUCTION else _SANDBOX_URL}/{MICROSOFT_PARTNER_TENANT}/oauth2/token"
)
# The resource the token is for (the v1 token endpoint's "resource"; a v2.0 URL gets "<resource>/.default").
MICROSOFT_TOKEN_RESOURCE = env.str("MICROSOFT_TOKEN_RESOURCE", default="") or "https://api.partnercenter.microsoft.com"
MICROSOFT_CLIENT_ID = env.str("MICROSOFT_CLIENT_ID", default="") or ("" if PRODUCTION else "icp-sandbox-client")
MICROSOFT_CLIENT_SECRET = env.str("MICROSOFT_CLIENT_SECRET", default="") or ("" if PRODUCTION else "icp-sandbox-secret")
# Seconds to open a connection / to wait for the answer once the request is sent (a wait past the read
# timeout is an unknown outcome: the request may have been done; the caller retries it with its MS-RequestId).
MICROSOFT_CONNECT_TIMEOUT = env.float("MICROSOFT_CONNECT_TIMEOUT", default=5.0)
MICROSOFT_READ_TIMEOUT = env.float("MICROSOFT_READ_TIMEOUT", default=30.0)
# Connections kept open per process (one pooled client per process): at least IMPORT_VENDOR_CONCURRENCY (50),
# the calls a sender keeps in flight.
MICROSOFT_MAX_CONNECTIONS = env.int("MICROSOFT_MAX_CONNECTIONS", default=64)
# A cached token is renewed this many seconds before it expires.
MICROSOFT_TOKEN_MARGIN_SECONDS = env.int("MICROSOFT_TOKEN_MARGIN_SECONDS", default=300)
# The most requests of one customer tenant we let reach the vendor in any 60 s window (Microsoft allows 500
# on the subscription, cart and order resources); catalog/integrations/budget.py explains the margin.
VENDOR_TENANT_REQUESTS_PER_MINUTE = env.int("VENDOR_TENANT_REQUESTS_PER_MINUTE", default=450)
# The vendor's circuit (catalog/integrations/circuit.py): this many consecutive failures of the vendor itself
# (5xx, no connection, no answer) mark it down; one probe order after this many seconds (doubling, at most 6
# times it) while the others are parked (for at most VENDOR_CIRCUIT_PARK_SECONDS at a time); when it answers,
# the parked orders come back spread over VENDOR_CIRCUIT_RELEASE_SECONDS.
VENDOR_CIRCUIT_FAILURES = env.int("VENDOR_CIRCUIT_FAILURES", default=10)
VENDOR_CIRCUIT_PROBE_SECONDS = env.float("VENDOR_CIRCUIT_PROBE_SECONDS", default=10.0)
VENDOR_CIRCUIT_PARK_SECONDS = env.float("VENDOR_CIRCUIT_PARK_SECONDS", default=300.0)
VENDOR_CIRCUIT_RELEASE_SECONDS = env.float("VENDOR_CIRCUIT_RELEASE_SECONDS", default=30.0)
