"""HTTP for the sandbox: ThreadingHTTPServer (one thread a connection, HTTP/1.1 keep-alive so a pooled
client reuses connections) in front of `partner_center`.

What every Partner Center call goes through, in order (Microsoft's documentation cited where followed):
1. Faults (`faults.py`): down = 503; latency and jitter; the injected shares of 429, 5xx and lost responses.
2. Authentication: the token endpoint is an Entra ID client-credentials grant,
   https://learn.microsoft.com/partner-center/developer/partner-center-authentication
   (`POST /{tenant}/oauth2/token` or `/{tenant}/oauth2/v2.0/token`, form grant_type=client_credentials,
   client_id, client_secret); every other call needs `Authorization: Bearer <token>`, else 401.
3. Headers: https://learn.microsoft.com/partner-center/developer/headers: `MS-RequestId` ("used to ensure
   idempotency: if there's a timeout, the retry call should include the same value"; a GUID, 400 without it)
   and `MS-CorrelationId` (generated when absent); both are echoed in the answer.
4. Throttling: https://learn.microsoft.com/partner-center/developer/api-throttling-guidance: past
   SANDBOX_RATE_LIMIT_PER_MINUTE (500) requests in a minute on one customer tenant's subscription, cart and order
   resources, 429 with Retry-After (the seconds left in the minute).
5. Idempotency: a write (POST, PATCH) with an MS-RequestId already answered on the same method and path within
   24 h gets that first answer again (status, headers, body; `MS-Sandbox-Replayed: true`) and does nothing.
   Reads are not replayed: polling an order with one request id must still see it complete. Answers of 5xx and
   429 are not remembered (the work was not done).
"""

import json
import logging
import math
import random
import re
import secrets
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .config import Config
from .faults import FaultError
from .partner_center import Answer, Call, PartnerCenter, PartnerCenterError, route
from .seed import SeedError, seed_apply, seed_read
from .store import Store

log = logging.getLogger("sandbox")

TOKEN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2(?:/v2\.0)?/token$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_BODY = 1024 * 1024
MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 60 * 60
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


def _error(status: int, code: int, description: str) -> Answer:
    return Answer(status, {"code": code, "description": description, "data": [], "source": "PartnerFD"})


class Sandbox:
    """The state one server shares between its threads."""

    def __init__(self, config: Config):
        self.config = config
        self.faults = config.faults
        self.store = Store(config.db_path)
        self.partner_center = PartnerCenter(self.store, config)
        # The seed's customers, from the start (a broken seed file stops the start: SeedError).
        self.seed()
        self._tokens: dict[str, float] = {}
        self._tokens_lock = threading.Lock()

    def seed(self) -> dict:
        """Apply the seed file (read again, so an edited file applies): its customers not held yet are added."""
        seed = seed_read(self.config.seed_path)
        added = seed_apply(self.store, seed, now=self.store.now())
        return {"seed": self.config.seed_path, "customers": len(seed["customers"]),
                "subscriptions": len(seed["subscriptions"]), **added}

    def token_issue(self) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        with self._tokens_lock:
            now = time.time()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.config.token_seconds
        return token, self.config.token_seconds

    def token_valid(self, token: str) -> bool:
        with self._tokens_lock:
            return self._tokens.get(token, 0) > time.time()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PartnerCenterSandbox/1.0"
    # TCP_NODELAY: an answer is written as soon as it is ready. With Nagle's algorithm on, a kept-alive
    # connection's answer waited for the client's delayed ACK: about 40 ms added to every call.
    disable_nagle_algorithm = True
    sandbox: Sandbox  # set on the subclass made by make_server

    def do_GET(self):
        self._handle()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def log_message(self, format, *args):
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ------------------------------------------------------------------------------
    def _send(self, answer: Answer, extra_headers: dict | None = None) -> None:
        body = b"" if answer.body is None else json.dumps(answer.body).encode()
        self._send_raw(answer.status, {**answer.headers, **(extra_headers or {})}, body)

    def _send_raw(self, status: int, headers: dict, body: bytes) -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        if self.command != "HEAD" and body:
            # Headers and body in one write (one segment for a small answer).
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()
        else:
            self.end_headers()

    def _lose_response(self) -> None:
        """The work is done; the answer never arrives: the connection is closed without a byte."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return None
        try:
            size = int(length or 0)
        except ValueError:
            return None
        if size < 0 or size > MAX_BODY:
            return None
        return self.rfile.read(size) if size else b""

    def _handle(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        body = self._read_body()
        if body is None:
            self.close_connection = True
            return self._send(_error(413, 413, "The body is missing a valid Content-Length or is over 1 MB."))
        try:
            if path.startswith("/_sandbox/"):
                return self._send(self._admin(path, body))
            self._partner_center(path, body)
        except Exception:  # a bug answers 500 and is logged, never a dropped connection
            log.exception("sandbox: %s %s failed", self.command, path)
            self.close_connection = True
            self._send(_error(500, 500, "Internal error in the sandbox."))

    # -- /_sandbox/: faults, ledger, reset, seed (never faulted) ---------------------------------
    def _admin(self, path: str, body: bytes) -> Answer:
        sandbox, method = self.sandbox, self.command
        if path == "/_sandbox/faults" and method == "GET":
            return Answer(200, sandbox.faults.snapshot())
        if path == "/_sandbox/faults" and method == "POST":
            try:
                values = json.loads(body or b"null")
            except ValueError:
                return _error(400, 600000, "The faults body is not valid JSON.")
            try:
                return Answer(200, sandbox.faults.update(values))
            except FaultError as error:
                return _error(400, 600001, str(error))
        if path == "/_sandbox/ledger" and method == "GET":
            return Answer(200, sandbox.store.ledger())
        if path == "/_sandbox/reset" and method == "POST":
            sandbox.store.reset()  # empties it, seed included (POST /_sandbox/seed puts the seed back)
            return Answer(200, {"reset": True})
        if path == "/_sandbox/seed" and method == "POST":
            try:
                return Answer(200, sandbox.seed())
            except SeedError as error:
                return _error(500, 500, str(error))
        if path == "/_sandbox/clock" and method == "GET":
            return Answer(200, sandbox.store.clock())
        if path == "/_sandbox/clock" and method == "POST":
            return self._clock(body)
        if path == "/_sandbox/health" and method == "GET":
            return Answer(200, {"status": "ok"})
        return _error(404, 404, f"No sandbox endpoint {method} {path}.")

    def _clock(self, body: bytes) -> Answer:
        """POST /_sandbox/clock: {"advance_seconds": N} moves the sandbox's time forward (N from 0 to 10 years), so a
        term's end, a renewal or a closed cancellation window is reached; {"reset": true} puts it back to the real
        time (for tests; what renewed meanwhile stays renewed)."""
        try:
            values = json.loads(body or b"null")
        except ValueError:
            return _error(400, 600000, "The clock body is not valid JSON.")
        if not isinstance(values, dict) or set(values) - {"advance_seconds", "reset"} or not values:
            return _error(400, 600001, 'The clock body is {"advance_seconds": N} or {"reset": true}.')
        store = self.sandbox.store
        if values.get("reset") is True:
            store.clock_reset()
        elif "reset" in values:
            return _error(400, 600001, 'reset must be true.')
        seconds = values.get("advance_seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            return _error(400, 600001, f"advance_seconds must be a number of seconds from 0 to {MAX_ADVANCE_SECONDS}.")
        return Answer(200, store.clock_advance(seconds) if seconds else store.clock())

    # -- Partner Center ------------------------------------------------------------------------
    def _partner_center(self, path: str, body: bytes) -> None:
        sandbox, faults, method = self.sandbox, self.sandbox.faults, self.command
        request_id = self.headers.get("MS-RequestId", "").strip()
        correlation_id = self.headers.get("MS-CorrelationId", "").strip() or str(uuid.uuid4())
        echo = {"MS-CorrelationId": correlation_id, **({"MS-RequestId": request_id} if request_id else {})}

        if faults.snapshot()["down"]:
            return self._send(_error(503, 503, "The service is unavailable (sandbox: down)."), {**echo, "Retry-After": 5})
        if delay := faults.delay_seconds():
            time.sleep(delay)

        token_match = TOKEN_PATH.match(path)
        if token_match and method == "POST":
            if injected := self._injected_fault(echo):
                return injected
            answer = self._token(body)
            if faults.hit("lost_response_rate"):
                return self._lose_response()
            return self._send(answer)

        authorization = self.headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not sandbox.token_valid(token.strip()):
            return self._send(_error(401, 401, "The access token is missing, invalid or expired."),
                              {**echo, "WWW-Authenticate": 'Bearer error="invalid_token"'})
        if not request_id:
            return self._send(_error(400, 400, "The MS-RequestId header is required."), echo)
        if not GUID.match(request_id):
            return self._send(_error(400, 400, "The MS-RequestId header must be a GUID."), echo)

        matched = route(method, path)
        if matched is None:
            return self._send(_error(404, 404, f"No resource {path}."), echo)
        name, params, limited = matched
        if name == "405":
            return self._send(_error(405, 405, f"{method} is not allowed on {path}."), {**echo, "Allow": params["allow"]})

        if limited:
            now = time.time()
            minute = int(now // 60)
            with sandbox.store.transaction() as store:
                count = store.count_request(params["customer"].lower(), minute)
            if count > sandbox.config.rate_limit_per_minute:
                retry_after = max(1, math.ceil((minute + 1) * 60 - now))
                return self._send(_error(429, 429, "Too many requests: the customer tenant's limit of "
                                         f"{sandbox.config.rate_limit_per_minute} requests a minute is reached."),
                                  {**echo, "Retry-After": retry_after})
        if injected := self._injected_fault(echo):
            return injected

        with sandbox.store.transaction() as store:
            # Partner Center's decisions follow the sandbox's clock (advanced by POST /_sandbox/clock); the
            # MS-RequestId replay window keeps the real time, as the store keeps it.
            call = Call(method, path, body, request_id, correlation_id, store.now(), params)
            replay = store.reply_find(request_id, method, path, since=time.time() - sandbox.config.idempotency_seconds) \
                if method in WRITES else None
            if replay is None:
                store.settle(call.now)
                try:
                    answer = getattr(sandbox.partner_center, name)(call)
                except PartnerCenterError as error:
                    answer = Answer(error.status, error.body())
                if method in WRITES:
                    payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                    store.reply_keep(request_id, method, path, answer.status, answer.headers, payload,
                                     keep_seconds=sandbox.config.idempotency_seconds)
        log.info("%s %s %s %s", method, path, replay[0] if replay else answer.status, request_id)
        if faults.hit("lost_response_rate"):
            return self._lose_response()
        if replay:
            status, headers, payload = replay
            return self._send_raw(status, {**headers, **echo, "MS-Sandbox-Replayed": "true"}, payload)
        return self._send(answer, echo)

    def _injected_fault(self, echo: dict):
        faults = self.sandbox.faults
        if faults.hit("rate_limit_rate"):
            self._send(_error(429, 429, "Too many requests (sandbox: injected)."), {**echo, "Retry-After": 1})
            return True
        if faults.hit("error_rate"):
            status = random.choice((500, 503))
            self._send(_error(status, status, "A transient error occurred (sandbox: injected)."), echo)
            return True
        return False

    def _token(self, body: bytes) -> Answer:
        config = self.sandbox.config
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type",
                                "error_description": "Only grant_type=client_credentials is supported."})
        if form.get("client_id") != config.client_id or not secrets.compare_digest(
            form.get("client_secret", "").encode(), config.client_secret.encode()
        ):
            return Answer(401, {"error": "invalid_client",
                                "error_description": "The client id or client secret is not valid."})
        token, seconds = self.sandbox.token_issue()
        return Answer(200, {"token_type": "Bearer", "expires_in": seconds, "ext_expires_in": seconds,
                            "access_token": token})


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a kept-alive connection never holds up the stop
    request_queue_size = 256  # a burst of workers connecting at once is queued, not refused (the default is 5)


def make_server(config: Config) -> tuple[ThreadingHTTPServer, Sandbox]:
    sandbox = Sandbox(config)
    handler = type("SandboxHandler", (Handler,), {"sandbox": sandbox})
    server = _Server((config.host, config.port), handler)
    return server, sandbox
