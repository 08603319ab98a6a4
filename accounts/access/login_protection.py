"""Login protection on /login/ and /admin/login/, on top of django-axes.

Axes counts failed logins in the database and refuses a login while the count is over its limit.
It has one limit for every lockout parameter; the portal wants two: an account is locked after
LOGIN_FAILURES_PER_ACCOUNT failures (someone guessing one user's password), an address after
LOGIN_FAILURES_PER_ADDRESS (someone trying many accounts). The handler below folds both into the
single number axes compares with its limit. A lock lasts AXES_COOLOFF_TIME from the failure that
set it; the page says until when. A successful login clears the count (AXES_RESET_ON_SUCCESS).
"""

import datetime as dt
import functools
import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q, Sum
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LOCKED_OUT = _(
    "Too many failed login attempts. Logging in is blocked for %(minutes)s minutes: "
    "try again after %(retry_at)s (UTC)."
)
LOCKED_OUT_TEMPLATE = "registration/locked_out.html"


def attempted_username(request, credentials) -> str | None:
    """The account a login attempt names, as it is stored (emails are lower case), so
    "Admin@AbbieBox.com " and "admin@abbiebox.com" count as one account."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials and credentials.get(field) is not None:
        value = credentials.get(field)
    else:
        value = request.POST.get(field)
    if value is None:
        return None
    # NUL characters cannot be stored by PostgreSQL; long values by the username column (255).
    return str(value).replace("\x00", "").strip().lower()[:255]


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
    """LOGIN_TRUSTED_PROXIES as networks (an address is a network of one); None for "*" (any peer)."""
    if "*" in trusted:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def is_trusted_proxy(address: str | None) -> bool:
    """Whether a request from this address came through one of LOGIN_TRUSTED_PROXIES. An empty
    address is a UNIX socket connection, which only the machine itself can open (gunicorn trusts it too)."""
    if not address:
        return True
    networks = _networks(tuple(settings.LOGIN_TRUSTED_PROXIES))
    if networks is None:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str | None:
    """REMOTE_ADDR, or with LOGIN_PROXY_COUNT proxies in front, the address the outermost of them saw.

    X-Forwarded-For is read from the right, one entry per proxy, and only while the address it comes
    from is a trusted proxy (LOGIN_TRUSTED_PROXIES): a client that reaches gunicorn without the
    proxy, or the proxies without the outer one, gets its own address whatever header it sends. The
    entries left of the outermost proxy's are whatever the client sent and never count."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.LOGIN_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    chain = [*forwarded, remote]
    index = len(chain) - 1
    for _hop in range(proxies):
        if index == 0 or not is_trusted_proxy(chain[index]):
            break
        index -= 1
    address = chain[index]
    return address[:45] if address else address


def _recent_attempts(request):
    return AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))


def _match(request, credentials) -> Q:
    username = get_client_username(request, credentials)
    condition = Q(ip_address=request.axes_ip_address)
    if username:
        condition |= Q(username=username)
    return condition


class LoginProtectionHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        """Failures that count against this attempt, on axes' scale (locked at AXES_FAILURE_LIMIT):
        the account's own, or the limit itself once the address has reached its larger limit."""
        recent = _recent_attempts(request)
        username = get_client_username(request, credentials)
        by_account = 0
        if username:
            by_account = recent.filter(username=username).aggregate(n=Sum("failures_since_start"))["n"] or 0
        by_address = recent.filter(ip_address=request.axes_ip_address).aggregate(n=Sum("failures_since_start"))["n"] or 0
        if by_address >= settings.LOGIN_FAILURES_PER_ADDRESS:
            return max(by_account, settings.AXES_FAILURE_LIMIT)
        return by_account

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful login clears the account's failures only. Axes would clear the address's too,
        so one valid login would let someone guessing other accounts from that address start over."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _deleted = AccessAttempt.objects.filter(username=username).delete()
        return count


def retry_at(request, credentials=None) -> dt.datetime:
    """When the lock on this account or address ends: the cool-off after the latest failure that counts."""
    latest = _recent_attempts(request).filter(_match(request, credentials)).aggregate(at=Max("attempt_time"))["at"]
    return (latest or timezone.now()) + get_cool_off(request)


def lockout_response(request, original_response=None, credentials=None):
    """The page for a refused login (HTTP 429): what happened and when to try again."""
    minutes = int(get_cool_off(request).total_seconds() // 60)
    when = retry_at(request, credentials).astimezone(dt.timezone.utc)
    message = LOCKED_OUT % {"minutes": minutes, "retry_at": f"{when:%Y-%m-%d %H:%M}"}
    return render(request, LOCKED_OUT_TEMPLATE, {"message": message, "retry_at": when}, status=429)


def login_lock_of(username: str, *, now: dt.datetime | None = None) -> tuple[int, dt.datetime | None]:
    """For the user page's SECURITY tab: the account's failed logins within the lockout time, and
    until when its login is blocked (None when it is not)."""
    now = now or timezone.now()
    cool_off = get_cool_off()
    recent = AccessAttempt.objects.filter(username=username.lower(), attempt_time__gte=now - cool_off)
    summary = recent.aggregate(failures=Sum("failures_since_start"), latest=Max("attempt_time"))
    failures = summary["failures"] or 0
    if failures >= settings.AXES_FAILURE_LIMIT:
        return failures, summary["latest"] + cool_off
    return failures, None
