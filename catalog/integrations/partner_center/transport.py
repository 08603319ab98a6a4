"""The connector's HTTP transport: httpx's interface (the client, its timeouts, its exceptions, tests'
MockTransport) over the standard library's http.client, with kept-alive connections.

Why: a burst places thousands of orders, two or three calls each, from a few worker processes whose CPU is
what limits the burst (make bench-midnight). httpx's own transport (httpcore and h11) cost about 0.6 ms of CPU
a call here; http.client does the same exchange for about 0.2 ms. What httpx's transport did that matters is
kept: a pool of kept-alive connections (at most `max_connections`, a wait for a free one bounded by the pool
timeout), a connection seen closed by the server is not reused, and every failure is raised as the httpx
exception the connector classifies (partner_center.client): nothing sent (ConnectError, ConnectTimeout,
PoolTimeout) against sent and no answer (ReadTimeout, WriteError, RemoteProtocolError).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading

import httpx


class StdlibTransport(httpx.BaseTransport):
    """Thread-safe: each request takes an idle connection to its host (or opens one) and gives it back."""

    def __init__(self, *, max_connections: int, ssl_context: ssl.SSLContext | None = None):
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._ssl_context = ssl_context
        self._closed = False

    # -- connections -------------------------------------------------------------------------------

    def _open(self, scheme: str, host: str, port: int, timeout: dict, request: httpx.Request) -> http.client.HTTPConnection:
        connect = timeout.get("connect")
        if scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            connection = http.client.HTTPSConnection(host, port, timeout=connect, context=context)
        elif scheme == "http":
            connection = http.client.HTTPConnection(host, port, timeout=connect)
        else:
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.", request=request)
        try:
            connection.connect()
        except (socket.timeout, TimeoutError) as exc:
            connection.close()
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, name not resolved, TLS handshake refused
            connection.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        # Nagle off: a request's headers and body leave at once (with it on, a kept-alive connection's
        # second write could wait for the server's delayed ACK).
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _take(self, key: tuple[str, str, int]) -> http.client.HTTPConnection | None:
        """An idle connection to `key` still open (one the server closed meanwhile reads as readable: EOF)."""
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                connection = idle.pop()
                sock = connection.sock
                if sock is not None and not select.select([sock], [], [], 0)[0]:
                    return connection
                connection.close()
        return None

    def _give_back(self, key: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.setdefault(key, []).append(connection)
                return
        connection.close()

    # -- one request -------------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        if not self._slots.acquire(timeout=timeout.get("pool") or 5.0):
            raise httpx.PoolTimeout("No connection to the vendor became free in time.", request=request)
        try:
            return self._exchange(request, timeout)
        finally:
            self._slots.release()

    def _exchange(self, request: httpx.Request, timeout: dict) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, url.host, port)
        connection = self._take(key) or self._open(scheme, url.host, port, timeout, request)
        body = request.read()
        try:
            connection.sock.settimeout(timeout.get("write"))
            connection.putrequest(request.method, url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            connection.endheaders(body or None)
        except (socket.timeout, TimeoutError) as exc:
            connection.close()
            raise httpx.WriteTimeout(str(exc) or "write timed out", request=request) from exc
        except OSError as exc:
            connection.close()
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc
        try:
            connection.sock.settimeout(timeout.get("read"))
            answer = connection.getresponse()
            content = answer.read()  # (empty for HEAD: http.client knows it has no body)
        except (socket.timeout, TimeoutError) as exc:
            connection.close()
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except (http.client.HTTPException, ConnectionError) as exc:  # closed without an answer, a garbled one
            connection.close()
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc
        except OSError as exc:
            connection.close()
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        if answer.will_close:
            connection.close()
        else:
            self._give_back(key, connection)
        return httpx.Response(
            answer.status, headers=answer.getheaders(), content=content, request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode("ascii", "replace")},
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in connections:
            connection.close()
