"""The Partner Center sandbox as a real process on a free port, and a small HTTP client for it
(http.client: the tests see status, headers, and a connection closed without an answer). Used by the
sandbox's own tests (tests/sandbox) and by the portal's tests that go through it (tests/vendor)."""

import http.client
import json
import os
import signal
import socket
import sys
import uuid
from urllib.parse import urlencode

from tests.processes import Started, wait_for

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Sandbox:
    """One sandbox process and what a client needs to talk to it."""

    def __init__(self, tmp_path, name: str, **env):
        self.port = free_port()
        self.process = Started(
            [sys.executable, "-m", "sandbox", "--port", str(self.port)],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")},
                "SANDBOX_DB": str(tmp_path / f"{name}.sqlite3"),
                "SANDBOX_CLIENT_ID": CLIENT_ID,
                "SANDBOX_CLIENT_SECRET": CLIENT_SECRET,
                "SANDBOX_LOG_LEVEL": "WARNING",
                **{k: str(v) for k, v in env.items()},
            },
            log=tmp_path / f"{name}.log",
        )
        wait_for(self._up, seconds=20, what=f"the sandbox on port {self.port} ({tmp_path / name}.log)")
        self._token = None

    def _up(self) -> bool:
        if self.process.process.poll() is not None:
            raise AssertionError(f"the sandbox exited: {self.process.log()}")
        try:
            return self.request("GET", "/_sandbox/health", auth=False, request_id=False).status == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body=None, *, auth=True, request_id=True, headers=None,
                form=None, timeout=10) -> Response:
        sent = {"MS-CorrelationId": str(uuid.uuid4())}
        if request_id is True:
            sent["MS-RequestId"] = str(uuid.uuid4())
        elif request_id:
            sent["MS-RequestId"] = request_id
        if auth is True:
            sent["Authorization"] = f"Bearer {self.token()}"
        elif auth:
            sent["Authorization"] = auth
        payload = None
        if form is not None:
            payload = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def token(self) -> str:
        if self._token is None:
            response = self.request("POST", "/sandbox/oauth2/v2.0/token", auth=False, request_id=False, form={
                "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "scope": "https://api.partnercenter.microsoft.com/.default",
            })
            assert response.status == 200, response.body
            self._token = response.json()["access_token"]
        return self._token

    def faults(self, **values) -> Response:
        return self.request("POST", "/_sandbox/faults", values, auth=False, request_id=False)

    def ledger(self) -> dict:
        return self.request("GET", "/_sandbox/ledger", auth=False, request_id=False).json()

    def customer(self, prefix: str | None = None) -> dict:
        domain = f"{prefix or 'c' + uuid.uuid4().hex[:12]}.onmicrosoft.com"
        response = self.request("POST", "/v1/customers", {
            "companyProfile": {"domain": domain},
            "billingProfile": {"companyName": "ERITECH PERU S.A.", "email": "admin@eritech.example", "culture": "es-PE",
                               "language": "es", "defaultAddress": {"country": "PE", "city": "Lima"}},
        })
        assert response.status == 201, response.body
        return response.json()

    def cart(self, customer_id: str, *, quantity=1, request_id=True) -> Response:
        return self.request("POST", f"/v1/customers/{customer_id}/carts", {"lineItems": [{
            "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0LCHC", "friendlyName": "Microsoft 365 Business Basic",
            "quantity": quantity, "billingCycle": "monthly", "termDuration": "P1Y",
        }]}, request_id=request_id)

    def stop(self):
        if self.process.process.poll() is None:
            self.process.signal(signal.SIGTERM)
        exited = self.process.exited_within(10)
        self.process.kill_everything()
        return exited
