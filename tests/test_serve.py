"""`make serve`'s stack for real: production settings, collectstatic, gunicorn, WhiteNoise.

Runs in the normal suite (a few seconds); every wait is bounded.
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")

pytestmark = [pytest.mark.serve, pytest.mark.once]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        **extra,
    )
    return env


def manage(env, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def get(url: str):
    """GET as the TLS-terminating proxy in front of `make serve` would forward it."""
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, dict(response.headers), response.read()


def test_gunicorn_serves_pages_and_static_files_and_stops_on_sigterm(tmp_path):
    env = production_env(tmp_path)
    for args in (("migrate", "--noinput"), ("collectstatic", "--noinput", "-v0")):
        done = manage(env, *args)
        assert done.returncode == 0, done.stderr
    port = free_port()
    server = subprocess.Popen(
        [str(GUNICORN), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "5"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, page_headers, body = get(f"http://127.0.0.1:{port}/login/")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        assert status == 200
        # Production sends the Content-Security-Policy (core/csp.py, issue 23).
        assert "script-src 'self'" in page_headers.get("Content-Security-Policy", ""), page_headers
        # The stylesheet link points at the hashed copy collectstatic wrote (the manifest storage).
        css = re.search(r'href="(/static/css/icp\.[0-9a-f]{12}\.css)"', body.decode())
        assert css, body.decode()[:1000]

        status, headers, content = get(f"http://127.0.0.1:{port}{css.group(1)}")

        assert status == 200
        assert content == (BASE_DIR / "static/css/icp.css").read_bytes()
        # WhiteNoise's far-future caching of a hashed file (Django itself serves no static files here).
        assert "immutable" in headers.get("Cache-Control", "")

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        server.stderr.close()


def test_production_without_allowed_hosts_refuses_to_start_with_one_line(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_ALLOWED_HOSTS"]

    done = manage(env, "check", timeout=60)

    assert done.returncode != 0
    assert done.stderr.splitlines() == ["Configuration error: DJANGO_ALLOWED_HOSTS must be set when DJANGO_ENV=production."]
